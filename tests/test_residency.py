"""Model residency: load once, unload the least recently used under a memory budget, reload
with the same results; never unload a model in use. Tiny real models on the CPU."""

from __future__ import annotations

import logging
import pickle
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.settings import SettingsError, settings_from_mapping
from services.config import ServiceConfig
from services.models.blip import Captioner
from services.models.clip import ClipTagger
from services.models.isnet import IsnetSaliency
from services.models.marian import MarianTranslator
from services.models.openvino_session import openvino_installed
from services.models.residency import BudgetFull, ModelResidency, preloading
from services.models.resident import estimate_folder_bytes, weight_files
from services.models.sam import SamSegmenter
from services.weights import model_dir
from services.wiring import default_operations

SENTENCES = ["A white mug on a wooden table.", "Soft towels."]


@pytest.fixture
def image() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))


def three(weights: Path) -> tuple[ClipTagger, Captioner, MarianTranslator]:
    return (
        ClipTagger(model_dir(weights, "clip")),
        Captioner(model_dir(weights, "blip"), num_beams=1, max_new_tokens=5),
        MarianTranslator(model_dir(weights, "opus-mt-en-ru"), num_beams=1, max_new_tokens=8),
    )


def use(model: object, image: Image.Image) -> object:
    if isinstance(model, ClipTagger):
        return model.tag([image], "product")
    if isinstance(model, Captioner):
        return model.caption([image])
    assert isinstance(model, MarianTranslator)
    return model.translate(SENTENCES)


def sized(weights: Path) -> tuple[ModelResidency, list, int]:
    """Three models registered with no budget yet, each loaded once (so the residency knows
    its measured size) and unloaded again; returns a budget that fits any two of them."""
    residency = ModelResidency()
    models = [residency.register(m) for m in three(weights)]
    sizes = []
    for model in models:
        model.load()
        sizes.append(model.memory_bytes()["cpu"])
        assert model.unload() and not model.loaded
    return residency, models, sum(sizes) - min(sizes) // 2


def test_lru_unloads_the_least_recently_used(tiny_weights: Path, image: Image.Image) -> None:
    residency, (a, b, c), budget = sized(tiny_weights)
    residency.budgets = {"cpu": budget}
    use(a, image), use(b, image)
    assert a.loaded and b.loaded and residency.unloads == 0
    use(c, image)  # a is the least recently used: it goes
    assert (a.loaded, b.loaded, c.loaded) == (False, True, True)
    use(a, image)  # now b is
    assert (a.loaded, b.loaded, c.loaded) == (True, False, True)
    use(c, image)  # loaded already: nothing moves, c becomes the most recent
    use(b, image)  # a is the least recently used again
    assert (a.loaded, b.loaded, c.loaded) == (False, True, True)
    assert residency.used_bytes("cpu") <= budget
    assert [name for _, name, _ in residency.events] == ["clip", "blip", "clip"]
    assert all("budget" in why for _, _, why in residency.events)
    assert (a.loads, b.loads, c.loads) == (3, 3, 2)  # the sizing load counts too


def test_reload_gives_the_same_results(tiny_weights: Path, image: Image.Image) -> None:
    models = three(tiny_weights)
    before = [use(m, image) for m in models]
    for model in models:
        assert model.unload() and not model.loaded and model.memory_bytes() == {}
    after = [use(m, image) for m in models]
    assert after == before
    assert all(m.loaded and m.loads == 2 and m.unloads == 1 for m in models)


def test_a_model_in_use_is_never_unloaded(tiny_weights: Path, image: Image.Image) -> None:
    residency, (a, b, c), budget = sized(tiny_weights)
    residency.budgets = {"cpu": budget}
    use(a, image), use(b, image)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:  # a call on `a` that runs until released
        with a.using():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert inside.wait(10)
        assert not a.unload()  # busy: refused, whoever asks
        use(c, image)  # `a` is least recently used but busy: `b` goes instead
        assert (a.loaded, b.loaded, c.loaded) == (True, False, True)
    finally:
        release.set()
        worker.join()
    assert a.unload()


def test_a_quick_job_between_steps_of_a_running_call_does_not_evict_it(
    tiny_weights: Path, image: Image.Image, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker runs quick jobs between denoising steps, on the same thread: the model of
    the running call stays, even past the budget."""
    residency, (a, b, c), _ = sized(tiny_weights)
    residency.budgets = {"cpu": max(m.estimate_bytes() for m in (a, b, c))}  # fits one
    use(a, image)
    with a.using(), caplog.at_level(logging.WARNING, "vitrina.residency"):
        use(b, image)
        assert a.loaded and b.loaded and "goes over the" in caplog.text and "clip" in caplog.text
    use(c, image)  # both idle now: both go, the least recently used first
    assert (a.loaded, b.loaded, c.loaded) == (False, False, True)
    assert [name for _, name, _ in residency.events] == ["blip", "clip"]


def test_calls_running_while_others_load_never_lose_their_model(
    tiny_weights: Path, image: Image.Image
) -> None:
    """One thread tags again and again while another keeps loading the other two models
    under a budget that fits one: the tagger is unloaded only between its calls."""
    residency, (a, b, c), _ = sized(tiny_weights)
    residency.budgets = {"cpu": max(m.estimate_bytes() for m in (a, b, c))}
    expected = use(a, image)
    errors: list[BaseException] = []
    stop = threading.Event()

    def tag_forever() -> None:
        try:
            while not stop.is_set():
                assert use(a, image) == expected
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=tag_forever)
    worker.start()
    try:
        for _ in range(4):
            use(b, image), use(c, image)
    finally:
        stop.set()
        worker.join()
    assert errors == []
    assert residency.unloads > 0


def test_no_budget_never_unloads(tiny_weights: Path, image: Image.Image) -> None:
    residency = ModelResidency.from_gb(0, 0)
    models = [residency.register(m) for m in three(tiny_weights)]
    for _ in range(2):
        for model in models:
            use(model, image)
    assert all(m.loaded and m.loads == 1 for m in models) and residency.unloads == 0


def test_a_model_bigger_than_the_budget_still_loads(
    tiny_weights: Path, image: Image.Image, caplog: pytest.LogCaptureFixture
) -> None:
    residency = ModelResidency({"cpu": 1000})
    a, b, _ = (residency.register(m) for m in three(tiny_weights))
    use(a, image)
    with caplog.at_level(logging.INFO, "vitrina.residency"):
        use(b, image)
    assert b.loaded and not a.loaded
    assert "more than the whole budget" in caplog.text and "unloaded clip" in caplog.text


def test_preloading_fills_the_budget_but_never_unloads(tiny_weights: Path) -> None:
    residency, (a, b, c), budget = sized(tiny_weights)
    residency.budgets = {"cpu": budget}
    residency.preload(a.load)
    with preloading():
        b.load()
        with pytest.raises(BudgetFull, match="first use"):
            c.load()
    assert (a.loaded, b.loaded, c.loaded) == (True, True, False)
    c.load()  # a job's load does unload
    assert c.loaded and not a.loaded
    error = pickle.loads(pickle.dumps(BudgetFull("x")))
    assert isinstance(error, BudgetFull) and str(error) == "x"


def test_estimate_before_the_first_load(tiny_weights: Path, tmp_path: Path) -> None:
    clip = ClipTagger(model_dir(tiny_weights, "clip"))
    estimate = clip.estimate_bytes()
    clip.load()
    measured = clip.memory_bytes()["cpu"]
    assert abs(estimate - measured) <= 0.05 * measured
    assert clip.estimate_bytes() == measured  # from now on: what the load measured
    # fp16 on CUDA halves the floating-point weights (nothing is loaded to know it)
    on_gpu = ClipTagger(model_dir(tiny_weights, "clip"), device="cuda")
    assert on_gpu.memory_device == "cuda"
    assert 0.45 * estimate <= on_gpu.estimate_bytes() <= 0.55 * estimate
    # SAM: its checkpoint's size (fp32 everywhere); ISNet: the ONNX file's, as measured
    sam = SamSegmenter(model_dir(tiny_weights, "sam"))
    found = sam.checkpoint()
    assert found is not None and sam.estimate_bytes() == found[0].stat().st_size
    isnet = IsnetSaliency(model_dir(tiny_weights, "isnet"), runtime="onnxruntime")
    file_bytes = (isnet.model_dir / "model.onnx").stat().st_size
    assert isnet.estimate_bytes() == 15 * file_bytes  # what a session was measured to hold
    if openvino_installed():  # OpenVINO's bf16 session holds less
        openvino = IsnetSaliency(model_dir(tiny_weights, "isnet"), runtime="openvino")
        assert openvino.estimate_bytes() == 9 * file_bytes
    # a diffusers folder with both variants counts one; a safety checker is never loaded
    folder = tmp_path / "pipe"
    shutil.copytree(model_dir(tiny_weights, "pix2pix"), folder)
    single = estimate_folder_bytes(folder, 4)
    unet = folder / "unet"
    shutil.copy(
        unet / "diffusion_pytorch_model.safetensors",
        unet / "diffusion_pytorch_model.fp16.safetensors",
    )
    (folder / "safety_checker").mkdir()
    shutil.copy(unet / "diffusion_pytorch_model.safetensors", folder / "safety_checker/x.bin")
    assert estimate_folder_bytes(folder, 4) == single
    assert not any("safety_checker" in str(p) for p in weight_files(folder))
    assert estimate_folder_bytes(tmp_path / "absent", 4) == 0


def test_services_register_every_model_once_and_load_none(tiny_weights: Path) -> None:
    residency = ModelResidency()
    config = ServiceConfig(weights_dir=tiny_weights, translation_runtime="transformers")
    operations = default_operations(config, residency)
    names = sorted(m.name for m in residency.models)
    assert names == sorted(
        [
            *("clip", "blip", "opus-mt-en-ru", "opus-mt-ru-en", "isnet", "sam", "inpaint"),
            *("pix2pix", "ocr"),
        ]
    )  # the CLIP of /tag and /describe is one entry, so is the editor of three edit ops,
    # the text detector of check, clean and fix, and the cut and SD of background and check
    check, clean, fix = operations["check"], operations["clean"], operations["fix"]
    assert check.finder is clean.finder and fix.checker is check and fix.cleaner is clean
    assert check.cutter is clean.cutter is operations["background"].cutter
    assert check.tagger is operations["tag"].tagger
    assert clean.filler.painter is operations["background"].painter
    # on CTranslate2 (the default on CPU once converted) the translators hold no torch model
    # and stay outside the budget
    ct2 = ModelResidency()
    default_operations(ServiceConfig(weights_dir=tiny_weights), ct2)
    assert sorted(m.name for m in ct2.models) == [n for n in names if not n.startswith("opus")]
    assert operations["tag"].tagger is operations["describe"].tagger  # type: ignore[attr-defined]
    assert not any(m.loaded for m in residency.models)
    snapshot = residency.snapshot()
    assert all(info.bytes > 0 and not info.loaded and info.idle_s is None for info in snapshot)
    assert pickle.loads(pickle.dumps(snapshot)) == snapshot  # /stats may ask another process


def test_budget_settings() -> None:
    settings = settings_from_mapping({})
    assert settings.gpu_memory_budget_gb == 0 and settings.cpu_memory_budget_gb == 0
    settings = settings_from_mapping({"GPU_MEMORY_BUDGET_GB": "10", "CPU_MEMORY_BUDGET_GB": "2.5"})
    assert (settings.gpu_memory_budget_gb, settings.cpu_memory_budget_gb) == (10.0, 2.5)
    with pytest.raises(SettingsError, match="GPU_MEMORY_BUDGET_GB"):
        settings_from_mapping({"GPU_MEMORY_BUDGET_GB": "-1"})
    residency = ModelResidency.from_gb(10, 0)
    assert residency.budgets == {"cuda": 10 * 1024**3}
