"""CPU runtimes (issue 9, P7): CTranslate2 opus-mt and the ONNX CLIP image tower, converted
from the tiny models by `vitrina weights tiny`/`convert`, against the torch models they came
from; the settings pick them; a folder that fails its check is never used."""

from __future__ import annotations

import io
import json
import logging
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import main as cli
from bot.settings import SettingsError, settings_from_mapping
from services import runtimes
from services.config import ServiceConfig
from services.conversion import ConversionError, convert
from services.jobs import JobRequest
from services.models.clip import ClipTagger
from services.models.clip_onnx import OnnxImageEncoder
from services.models.marian import MarianTranslator
from services.models.marian_ct2 import Ct2MarianTranslator
from services.scheduler import ModelServices
from services.weights.converted import RECORD, converted_problem, read_record, verify_converted
from services.wiring import default_operations, default_translators
from tests.emulator import BotAPIEmulator
from tests.test_e2e import _action, contains, keyboard_for

SENTENCES = {
    "opus-mt-en-ru": [
        "A red bag.",
        "The soft bed is ready for you.",
        "Buy now!",
        "Size 42.",
        "A cosy room with a balcony and a sea view, quiet and bright.",
    ],
    "opus-mt-ru-en": [
        "Красная сумка.",
        "Мягкая кровать готова для вас.",
        "Купите сейчас!",
        "Уютный номер с балконом и видом на море, тихий и светлый.",
    ],
}


@pytest.fixture(scope="module")
def images(photos: dict[str, bytes]) -> list[Image.Image]:
    return [Image.open(io.BytesIO(data)).convert("RGB") for data in photos.values()]


@pytest.fixture
def weights_copy(tiny_weights: Path, tmp_path: Path) -> Path:
    """The tiny models and their converted folders, in a folder a test may damage."""
    dest = tmp_path / "weights"
    for name in ("clip", "clip-onnx", "opus-mt-en-ru", "opus-mt-en-ru-ct2"):
        shutil.copytree(tiny_weights / name, dest / name)
    return dest


def test_tiny_set_holds_checked_conversions(tiny_weights: Path) -> None:
    for folder in ("opus-mt-en-ru-ct2", "opus-mt-ru-en-ct2", "clip-onnx"):
        record = read_record(tiny_weights / folder)
        assert record is not None and record["passed"] is True, folder
        assert record["source"]["identity"]["tiny"] is True
        assert record["files"] and all(len(d) == 64 for d in record["files"].values())
    marian = read_record(tiny_weights / "opus-mt-en-ru-ct2")
    assert marian["check"]["greedy"]["identical"] == marian["check"]["probes"] == 4
    assert marian["check"]["beam"]["identical"] == 4
    clip = read_record(tiny_weights / "clip-onnx")
    assert clip["check"]["min_cosine"] >= 0.999 and clip["check"]["max_abs_diff"] < 1e-4
    assert verify_converted(tiny_weights) == []


@pytest.mark.parametrize("name", ["opus-mt-en-ru", "opus-mt-ru-en"])
def test_ctranslate2_translations_equal_transformers(tiny_weights: Path, name: str) -> None:
    # 24 new tokens at most: the cap (where transformers forces the end token) is reached
    short = {"max_new_tokens": 24}
    torch_path = MarianTranslator(tiny_weights / name, **short)
    ct2 = Ct2MarianTranslator(
        tiny_weights / f"{name}-ct2", MarianTranslator(tiny_weights / name, **short)
    )
    sentences = SENTENCES[name]
    expected = torch_path.translate(sentences)
    assert ct2.translate(sentences) == expected
    assert ct2.active_runtime == "ctranslate2" and not ct2.fallback.loaded  # torch never loaded
    assert [ct2.translate([s])[0] for s in sentences] == expected  # batched = one by one
    assert all(expected)


def test_onnx_image_embeddings_match_torch(tiny_weights: Path, images) -> None:
    torch_tagger = ClipTagger(tiny_weights / "clip")
    encoder = OnnxImageEncoder(tiny_weights / "clip-onnx", tiny_weights / "clip")
    onnx_tagger = ClipTagger(tiny_weights / "clip", image_encoder=encoder)
    torch_tagger.load()
    onnx_tagger.load()
    a = torch_tagger._image_embeddings(images)
    b = onnx_tagger._image_embeddings(images)
    assert encoder.usable and encoder.active_runtime == "onnx"
    assert ((a * b).sum(-1) >= 0.999).all() and (a - b).abs().max() < 1e-4
    for domain in ("product", "hotel"):
        ours = onnx_tagger.tag(images, domain, top_k=0)
        theirs = torch_tagger.tag(images, domain, top_k=0)
        assert [[t.en for t in r.tags] for r in ours] == [[t.en for t in r.tags] for r in theirs]
        for mine, other in zip(ours, theirs, strict=True):
            assert [t.probability for t in mine.tags] == pytest.approx(
                [t.probability for t in other.tags], abs=1e-4
            )


def test_settings_pick_the_runtime(tiny_weights: Path, tmp_path: Path) -> None:
    def picked(**fields: str) -> tuple[type, OnnxImageEncoder | None]:
        config = ServiceConfig(tiny_weights, **fields)
        translator = default_translators(config).en_ru.model.__self__  # bound translate
        return type(translator), default_operations(config)["tag"].tagger.image_encoder

    kind, encoder = picked()  # auto on the CPU, checked folders present
    assert kind is Ct2MarianTranslator and isinstance(encoder, OnnxImageEncoder)
    kind, encoder = picked(translation_runtime="transformers", clip_runtime="torch")
    assert kind is MarianTranslator and encoder is None
    kind, encoder = picked(device="cuda")  # auto on CUDA: torch (fp16 there)
    assert kind is MarianTranslator and encoder is None
    empty = tmp_path / "bare"
    shutil.copytree(tiny_weights / "clip", empty / "clip")
    assert runtimes.clip_image_encoder(empty) is None  # auto without a converted folder
    assert runtimes.clip_image_encoder(empty, runtime="onnx") is not None  # asked: tried
    values = {"TRANSLATION_RUNTIME": "CTranslate2", "CLIP_RUNTIME": "onnx"}
    settings = settings_from_mapping(values)
    assert (settings.translation_runtime, settings.clip_runtime) == ("ctranslate2", "onnx")
    assert settings_from_mapping({}).translation_runtime == "auto"
    for key, bad in (("TRANSLATION_RUNTIME", "onnx"), ("CLIP_RUNTIME", "ctranslate2")):
        with pytest.raises(SettingsError, match=key):
            settings_from_mapping({key: bad})


async def test_service_layer_answers_the_same_on_both_runtimes(
    tiny_weights: Path, tmp_path: Path, photos: dict[str, bytes]
) -> None:
    files = []
    for name, data in photos.items():
        files.append(tmp_path / f"{name}.img")
        files[-1].write_bytes(data)
    answers = {}
    for clip, translation in (("torch", "transformers"), ("onnx", "ctranslate2")):
        config = ServiceConfig(
            tiny_weights, worker="thread", clip_runtime=clip, translation_runtime=translation
        )
        async with ModelServices(config) as services:
            handles = [
                services.submit(JobRequest("tag", i, f, {"domain": "hotel"}))
                for i, f in enumerate(files)
            ]
            tags = [await h.result() for h in handles]
            describe = await services.submit(JobRequest("describe", 9, files[0])).result()
        answers[clip] = (
            [[(t.en, round(t.probability, 4)) for t in r.tags] for r in tags],
            describe.title,
            describe.benefits,
        )
        pickle.loads(pickle.dumps(tags))  # results cross the worker boundary
    assert answers["onnx"] == answers["torch"]


async def test_bot_tags_on_the_converted_runtime(
    start_bot, emulator: BotAPIEmulator, photos: dict[str, bytes], tiny_weights: Path
) -> None:
    app = await start_bot(CLIP_RUNTIME="onnx")
    encoder = app.services.operations["tag"].tagger.image_encoder
    assert isinstance(encoder, OnnxImageEncoder)
    user = emulator.user(31, "en")
    keyboard = await keyboard_for(emulator, user.send_photo(photos["coffee"]))
    before = len(emulator.bot_messages)
    await emulator.wait_for_callback_answer(user.press_button(keyboard, _action(keyboard, "tag")))
    tags = (await emulator.wait_for_message(contains("Tags", "•"), after=before))["text"]
    assert encoder.active_runtime == "onnx" and encoder.usable
    expected = ClipTagger(tiny_weights / "clip").tag(
        [Image.open(io.BytesIO(photos["coffee"]))], "product"
    )[0]
    assert all(tag.en in tags for tag in expected.tags)


@pytest.mark.parametrize("damage", ["corrupt", "no-record", "failed", "source-changed"])
def test_an_unverified_folder_falls_back_to_torch(
    weights_copy: Path, damage: str, caplog: pytest.LogCaptureFixture, images
) -> None:
    ct2, onnx = weights_copy / "opus-mt-en-ru-ct2", weights_copy / "clip-onnx"
    if damage == "corrupt":
        for path in (ct2 / "model.bin", onnx / "image_encoder.onnx"):
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))
    elif damage == "no-record":
        (ct2 / RECORD).unlink()
        (onnx / RECORD).unlink()
    elif damage == "failed":
        for folder in (ct2, onnx):
            record = json.loads((folder / RECORD).read_text())
            record["passed"] = False
            (folder / RECORD).write_text(json.dumps(record))
    else:  # the source folder now holds another revision than the one converted
        for name in ("opus-mt-en-ru", "clip"):
            marker = json.loads((weights_copy / name / "vitrina.json").read_text())
            marker["revision"] = "another"
            (weights_copy / name / "vitrina.json").write_text(json.dumps(marker))
    source = weights_copy / "opus-mt-en-ru"
    short = {"max_new_tokens": 16}  # the fallback is torch: keep its noise short
    translator = Ct2MarianTranslator(ct2, MarianTranslator(source, **short))
    with caplog.at_level(logging.WARNING, logger="vitrina.runtimes"):
        got = translator.translate(SENTENCES["opus-mt-en-ru"][:2])
        encoder = runtimes.clip_image_encoder(weights_copy, runtime="onnx")
        assert encoder is not None and encoder.encode(np.zeros((1, 3, 32, 32))) is None
    assert got == MarianTranslator(source, **short).translate(SENTENCES["opus-mt-en-ru"][:2])
    assert translator.active_runtime == "transformers" and encoder.active_runtime == "torch"
    assert "not using CTranslate2" in caplog.text and "not using ONNX Runtime" in caplog.text
    assert converted_problem(ct2, source) is not None
    tagger = ClipTagger(weights_copy / "clip", image_encoder=encoder)
    assert tagger.tag(images[:1], "product")  # still tags, on torch
    assert cli(["weights", "verify", "opus-mt-en-ru", "clip", "--dir", str(weights_copy)]) == 1


def test_convert_cli(weights_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(weights_copy / "opus-mt-en-ru-ct2")
    shutil.rmtree(weights_copy / "clip-onnx")
    assert cli(["weights", "convert", "opus-mt-en-ru", "clip", "--dir", str(weights_copy)]) == 0
    err = capsys.readouterr().err
    assert "opus-mt-en-ru-ct2 (ctranslate2" in err and "clip-onnx (onnx" in err
    assert "checked: greedy 4/4, beam 4 4/4" in err and "min cosine" in err
    assert read_record(weights_copy / "clip-onnx")["passed"] is True
    assert cli(["weights", "verify", "opus-mt-en-ru", "clip", "--dir", str(weights_copy)]) == 0
    assert cli(["weights", "convert", "sam", "--dir", str(weights_copy)]) == 2
    assert "cannot convert sam" in capsys.readouterr().err
    with pytest.raises(ConversionError, match="opus-mt-ru-en"):  # its folder is absent
        convert(weights_copy, ["opus-mt-ru-en"])
    assert [c.name for c in convert(weights_copy)] == ["opus-mt-en-ru", "clip"]  # present ones


def test_download_converts_what_the_settings_want(weights_copy: Path) -> None:
    from bot.cli.weights import convert_wanted

    ct2, onnx = weights_copy / "opus-mt-en-ru-ct2", weights_copy / "clip-onnx"
    shutil.rmtree(ct2)
    shutil.rmtree(onnx)
    names = ["opus-mt-en-ru", "clip", "sam"]
    off = settings_from_mapping({"TRANSLATION_RUNTIME": "transformers", "CLIP_RUNTIME": "torch"})
    assert convert_wanted(weights_copy, names, off) == 0
    assert convert_wanted(weights_copy, names, settings_from_mapping({"DEVICE": "cuda"})) == 0
    assert not ct2.exists() and not onnx.exists()  # torch wanted, or auto on a GPU
    only = settings_from_mapping({"DEVICE": "cuda", "TRANSLATION_RUNTIME": "ctranslate2"})
    assert convert_wanted(weights_copy, names, only) == 0
    assert read_record(ct2)["passed"] is True and not onnx.exists()
