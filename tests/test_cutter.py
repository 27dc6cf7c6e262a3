"""ObjectCutter through the production loaders, with the tiny random ISNet and SAM."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from services.errors import JobCancelled, ModelUnavailable
from services.models.isnet import IsnetSaliency
from services.models.openvino_session import native_bf16
from services.models.sam import SamSegmenter
from services.operations.cutout import Cutout, ObjectCutter


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    image = Image.fromarray(skdata.coffee())
    image.thumbnail((160, 160))
    return image  # 160×107


@pytest.fixture(scope="module")
def cutter(tiny_weights: Path) -> ObjectCutter:
    return ObjectCutter(tiny_weights, "cpu")


def only(tiny_weights: Path, tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copytree(tiny_weights / name, tmp_path / name)
    return tmp_path


def check_alpha(cut: Cutout, size: tuple[int, int]) -> None:
    assert cut.alpha.dtype == np.float32 and cut.alpha.shape == (size[1], size[0])
    assert cut.alpha.min() >= 0.0 and cut.alpha.max() <= 1.0
    assert cut.foreground_share == pytest.approx(float(cut.alpha.mean()))
    assert 0 <= cut.candidate < cut.candidates


def test_cut_with_isnet_and_sam(cutter: ObjectCutter, coffee: Image.Image) -> None:
    assert cutter.missing_weights() == []
    cut = cutter.cut(coffee, cache_key="coffee-1")
    check_alpha(cut, coffee.size)
    assert cut.candidate == 0 and cut.candidates >= 1
    # random SAM weights mostly disagree with the (random) saliency: either path is legal
    assert cut.source in {"isnet+sam", "isnet:fallback"}
    assert {"saliency", "sam_embed", "sam_predict", "choose"} <= set(cut.timings)
    assert cutter.sam.architecture.startswith("config:")  # the tiny architecture was read


def test_candidates_cycle_and_the_embedding_is_computed_once(
    tiny_weights: Path, coffee: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    cutter = ObjectCutter(tiny_weights)
    saliency_calls = []
    predict = cutter.isnet.predict
    monkeypatch.setattr(
        cutter.isnet, "predict", lambda *a, **k: saliency_calls.append(1) or predict(*a, **k)
    )
    first = cutter.cut(coffee, cache_key="photo")
    again = cutter.cut(coffee, candidate=1, cache_key="photo")
    assert cutter.sam.embeddings_computed == 1 and len(saliency_calls) == 1
    assert again.timings == {}  # nothing recomputed
    n = first.candidates
    assert again.candidate == 1 % n and again.candidates == n
    wrapped = cutter.cut(coffee, candidate=n, cache_key="photo")
    np.testing.assert_array_equal(wrapped.alpha, first.alpha)  # modulo the count
    if n > 1:
        assert not np.array_equal(again.alpha >= 0.5, first.alpha >= 0.5)
    cutter.cut(coffee, cache_key="other photo")
    assert cutter.sam.embeddings_computed == 2
    cutter.cut(coffee)  # no key: nothing cached, computed again
    assert cutter.sam.embeddings_computed == 3


def test_the_sam_embedding_cache_reuses_per_key(tiny_weights: Path) -> None:
    sam = SamSegmenter(tiny_weights / "sam")
    pixels = np.asarray(Image.new("RGB", (64, 48), (200, 30, 30)))
    one = sam.embed(pixels, "k")
    assert sam.embed(pixels, "k") is one and sam.embeddings_computed == 1
    result = sam.predict(one, box=np.array([5, 5, 40, 30], np.float32))
    assert result.masks.shape == (3, 48, 64) and result.masks.dtype == bool
    assert result.scores.shape == (3,)


def test_saliency_alone_without_sam(
    tiny_weights: Path, tmp_path: Path, coffee: Image.Image
) -> None:
    cutter = ObjectCutter(only(tiny_weights, tmp_path, "isnet"))
    assert cutter.missing_weights() == []
    cut = cutter.cut(coffee)
    check_alpha(cut, coffee.size)
    assert cut.source == "isnet" and "sam_embed" not in cut.timings


def test_sam_automatic_masks_without_isnet(
    tiny_weights: Path, tmp_path: Path, coffee: Image.Image
) -> None:
    cutter = ObjectCutter(only(tiny_weights, tmp_path, "sam"))
    assert cutter.missing_weights() == []
    cut = cutter.cut(coffee, cache_key="c")
    check_alpha(cut, coffee.size)
    assert cut.source.startswith("sam-auto") and "saliency" not in cut.timings


def test_neither_model_is_unavailable(tmp_path: Path, coffee: Image.Image) -> None:
    cutter = ObjectCutter(tmp_path)
    assert cutter.missing_weights() == ["isnet", "sam"]
    with pytest.raises(ModelUnavailable, match="vitrina weights download"):
        cutter.cut(coffee)


def test_transparent_png_alpha_is_a_strong_hint(cutter: ObjectCutter) -> None:
    rgba = Image.new("RGBA", (120, 90), (0, 0, 0, 0))
    rgba.paste((200, 40, 40, 255), (40, 25, 80, 65))
    cut = cutter.cut(rgba, cache_key="png")
    check_alpha(cut, rgba.size)
    assert cut.source.endswith(":alpha-hint")
    assert cut.alpha[:20].max() == 0.0 and cut.alpha[:, :30].max() == 0.0  # transparent = out


def test_big_images_are_cut_at_a_working_size_and_returned_full_size(
    cutter: ObjectCutter,
) -> None:
    big = Image.new("RGB", (2100, 700), (240, 240, 240))
    cut = cutter.cut(big, cache_key="wide")
    check_alpha(cut, big.size)


def test_cancel_between_stages(cutter: ObjectCutter, coffee: Image.Image) -> None:
    with pytest.raises(JobCancelled):
        cutter.cut(coffee, cancelled=lambda: True)


def test_isnet_reads_names_and_size_from_the_session(tiny_weights: Path) -> None:
    isnet = IsnetSaliency(tiny_weights / "isnet")
    result = isnet.predict(Image.new("RGB", (50, 30), (10, 200, 10)))
    assert result.probability.shape == (30, 50) and result.probability.dtype == np.float32
    assert isnet._input == "input" and isnet._output == "output" and isnet._size == (1024, 1024)
    # ISNET_RUNTIME=auto: OpenVINO in bf16 where the CPU computes it natively
    expected = "OpenVINO CPU bfloat16" if native_bf16() else "CPUExecutionProvider"
    assert isnet.providers == [expected]
    onnx = IsnetSaliency(tiny_weights / "isnet", runtime="onnxruntime")
    onnx.load()
    assert onnx.providers == ["CPUExecutionProvider"]


def test_unreadable_model_files_are_reported(tiny_weights: Path, tmp_path: Path) -> None:
    folder = only(tiny_weights, tmp_path, "isnet", "sam")
    (folder / "isnet" / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelUnavailable, match="unreadable"):
        IsnetSaliency(folder / "isnet").load()
    (folder / "sam" / "sam_vit_b_01ec64.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable, match="unreadable"):
        SamSegmenter(folder / "sam").load()
    with pytest.raises(ValueError, match="vit_x"):
        SamSegmenter(folder / "sam", variant="vit_x")


def test_sam_checkpoint_follows_the_device_and_the_setting(tmp_path: Path) -> None:
    for name in ("sam_vit_h_4b8939.pth", "sam_vit_b_01ec64.pth"):
        (tmp_path / name).write_bytes(b"x")
    assert SamSegmenter(tmp_path, "cpu").checkpoint() == (
        tmp_path / "sam_vit_b_01ec64.pth",
        "vit_b",
    )
    assert SamSegmenter(tmp_path, "cuda").checkpoint() == (
        tmp_path / "sam_vit_h_4b8939.pth",
        "vit_h",
    )
    assert SamSegmenter(tmp_path, "cpu", "vit_h").checkpoint()[1] == "vit_h"  # type: ignore[index]
    assert SamSegmenter(tmp_path, "cpu", "vit_l").checkpoint() is None  # forced, absent
    (tmp_path / "sam_vit_b_01ec64.pth").unlink()
    assert SamSegmenter(tmp_path, "cpu").checkpoint()[1] == "vit_h"  # type: ignore[index]


def test_sam_model_setting_is_parsed_and_checked() -> None:
    from bot.settings import SettingsError, settings_from_mapping

    assert settings_from_mapping({}).sam_model is None
    assert settings_from_mapping({"SAM_MODEL": " VIT_H "}).sam_model == "vit_h"
    with pytest.raises(SettingsError, match="SAM_MODEL"):
        settings_from_mapping({"SAM_MODEL": "vit_x"})


def test_transparent_png_without_isnet_prompts_sam_with_its_alpha(
    tiny_weights: Path, tmp_path: Path
) -> None:
    cutter = ObjectCutter(only(tiny_weights, tmp_path, "sam"))
    rgba = Image.new("RGBA", (120, 90), (0, 0, 0, 0))
    rgba.paste((200, 40, 40, 255), (40, 25, 80, 65))
    cut = cutter.cut(rgba)
    check_alpha(cut, rgba.size)
    assert cut.source in {"alpha+sam", "alpha:fallback"}


def test_tiny_isnet_and_sam_layout(tiny_weights: Path) -> None:
    import json

    isnet, sam = tiny_weights / "isnet", tiny_weights / "sam"
    assert {p.name for p in isnet.iterdir()} == {"model.onnx", "vitrina.json"}
    assert {p.name for p in sam.iterdir()} == {
        "sam_vit_b_01ec64.pth",
        "sam_config.json",
        "vitrina.json",
    }
    config = json.loads((sam / "sam_config.json").read_text())
    assert config["checkpoint"] == "sam_vit_b_01ec64.pth" and config["image_size"] == 256
    for folder in (isnet, sam):
        assert json.loads((folder / "vitrina.json").read_text())["tiny"] is True
        assert sum(p.stat().st_size for p in folder.iterdir()) < 2 * 1024 * 1024
