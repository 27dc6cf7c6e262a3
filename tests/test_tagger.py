from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from services.conversion import write_tiny
from services.errors import BadImage, ModelUnavailable
from services.models.clip import ClipTagger, Tag, TagResult, to_rgb
from services.vocabulary import load_vocabulary


@pytest.fixture(scope="session")
def tagger(tiny_weights: Path) -> ClipTagger:
    return ClipTagger(tiny_weights / "clip", device="cpu")


@pytest.fixture(scope="session")
def images() -> list[Image.Image]:
    return [Image.fromarray(a) for a in (data.coffee(), data.chelsea(), data.astronaut())]


def _assert_sorted(tags: tuple[Tag, ...]) -> None:
    probabilities = [t.probability for t in tags]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 < p <= 1.0 for p in probabilities)


def test_lazy_load_is_idempotent(tiny_weights: Path) -> None:
    tagger = ClipTagger(tiny_weights / "clip")
    assert not tagger.loaded
    tagger.load()
    model = tagger._model
    tagger.load()
    assert tagger.loaded and tagger._model is model
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("domain", ["hotel", "product"])
def test_top_k_batch(tagger: ClipTagger, images: list[Image.Image], domain: str) -> None:
    results = tagger.tag(images, domain, top_k=5)
    assert len(results) == len(images)
    vocabulary = {(t.en, t.ru) for t in load_vocabulary(domain)}
    for result in results:
        assert isinstance(result, TagResult) and result.domain == domain
        assert len(result.tags) == 5
        assert all(isinstance(t, Tag) and (t.en, t.ru) in vocabulary for t in result.tags)
        assert all(isinstance(t.probability, float) for t in result.tags)
        _assert_sorted(result.tags)


def test_all_items_sum_to_one(tagger: ClipTagger, images: list[Image.Image]) -> None:
    size = sum(term.group == "item" for term in load_vocabulary("product"))
    for top_k in (size, 0):
        for result in tagger.tag(images, "product", top_k=top_k):
            assert len(result.tags) == size and {t.group for t in result.tags} == {"item"}
            assert math.isclose(sum(t.probability for t in result.tags), 1.0, abs_tol=1e-5)


def test_attributes_one_per_group(tagger: ClipTagger, images: list[Image.Image]) -> None:
    groups = {t.group for t in load_vocabulary("product")} - {"item"}
    assert groups == {"colour", "material", "style"}
    members = {t.en: t.group for t in load_vocabulary("product")}
    for result in tagger.tag(images, "product", attribute_min_probability=0.0):
        assert sorted(a.group for a in result.attributes) == sorted(groups)
        assert all(members[a.en] == a.group for a in result.attributes)
    for result in tagger.tag(images, "product", attribute_min_probability=1.0):
        assert result.attributes == ()
    # every attribute clears the bar within its own group (a softmax over that group)
    for result in tagger.tag(images, "product", attribute_min_probability=0.3):
        assert all(a.probability >= 0.3 for a in result.attributes)
    # the hotel vocabulary is items only
    assert all(
        r.attributes == () for r in tagger.tag(images, "hotel", attribute_min_probability=0)
    )


def test_batch_matches_single_images(tagger: ClipTagger, images: list[Image.Image]) -> None:
    batch = tagger.tag(images, "hotel", top_k=3)
    for photo, expected in zip(images, batch, strict=True):
        (single,) = tagger.tag([photo], "hotel", top_k=3)
        assert [t.en for t in single.tags] == [t.en for t in expected.tags]
        for a, b in zip(single.tags, expected.tags, strict=True):
            assert math.isclose(a.probability, b.probability, rel_tol=1e-4)


def test_deterministic_for_the_same_seed(
    tmp_path: Path, tagger: ClipTagger, images: list[Image.Image]
) -> None:
    write_tiny(tmp_path, ["clip"], seed=0)
    again = ClipTagger(tmp_path / "clip").tag(images, "hotel", top_k=4)
    assert again == tagger.tag(images, "hotel", top_k=4)
    write_tiny(tmp_path, ["clip"], seed=1)
    other = ClipTagger(tmp_path / "clip").tag(images, "hotel", top_k=4)
    assert other != again


def test_threshold_mode(tagger: ClipTagger, images: list[Image.Image]) -> None:
    (full,) = tagger.tag(images[:1], "hotel", top_k=0)
    threshold = full.tags[2].probability  # exactly three tags reach it (no ties in practice)
    (result,) = tagger.tag(images[:1], "hotel", top_k=0, min_probability=threshold)
    assert result.tags == full.tags[:3]
    (capped,) = tagger.tag(images[:1], "hotel", top_k=2, min_probability=threshold)
    assert capped.tags == full.tags[:2]
    (none,) = tagger.tag(images[:1], "hotel", min_probability=1.0)
    assert none.tags == ()
    (everything,) = tagger.tag(images[:1], "hotel", top_k=0, min_probability=0.0)
    assert everything.tags == full.tags


def test_bad_arguments(tagger: ClipTagger, images: list[Image.Image]) -> None:
    assert tagger.tag([], "hotel") == []
    with pytest.raises(ValueError, match="product, hotel"):
        tagger.tag(images, "cars")
    with pytest.raises(ValueError, match="top_k"):
        tagger.tag(images, "hotel", top_k=-1)
    with pytest.raises(ValueError, match="min_probability"):
        tagger.tag(images, "hotel", min_probability=1.5)
    with pytest.raises(BadImage):
        tagger.tag([np.zeros((4, 4, 3), dtype=np.uint8)], "hotel")  # type: ignore[list-item]


def test_any_image_mode(tagger: ClipTagger) -> None:
    rgb = Image.fromarray(data.coffee())
    wide = Image.fromarray(np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 20)
    images = [
        rgb.convert("RGBA"),
        rgb.convert("L"),
        rgb.convert("CMYK"),
        rgb.convert("P"),
        rgb.convert("LA"),
        rgb.convert("1"),
        Image.new("RGBA", (30, 20), (255, 0, 0, 0)),
        wide,
    ]
    results = tagger.tag(images, "product", top_k=3)
    assert [len(r.tags) for r in results] == [3] * len(images)
    assert to_rgb(images[6]).getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    assert to_rgb(wide).getextrema()[0][1] == 255  # 16-bit scaled, not clipped


def test_missing_folder_names_folder_and_command(tmp_path: Path) -> None:
    folder = tmp_path / "weights" / "clip"
    tagger = ClipTagger(folder)
    with pytest.raises(ModelUnavailable) as info:
        tagger.load()
    message = str(info.value)
    assert str(folder) in message and "vitrina weights" in message
    assert info.value.model == "clip" and info.value.folder == folder
    assert not tagger.loaded


def test_incomplete_or_corrupt_folder(tmp_path: Path, tiny_weights: Path) -> None:
    folder = tmp_path / "clip"
    shutil.copytree(tiny_weights / "clip", folder)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelUnavailable, match="unreadable"):
        ClipTagger(folder).load()
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailable, match="no weights file"):
        ClipTagger(folder).load()
    (folder / "config.json").unlink()
    with pytest.raises(ModelUnavailable, match=r"no config\.json"):
        ClipTagger(folder).load()
