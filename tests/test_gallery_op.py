"""/gallery end to end on tiny weights (the cut and the detector are noise and a
local-contrast filter: these tests assert what holds for any cut) and the real Tesseract
where it is installed: five slides at the profile's size as JPEG bytes, a title alone
gives hero and scene with a note, banned words refused by name, an empty cut refused, a
text too long refused with its limit. The grades through the REAL models are
tests/test_gallery_realweights.py."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from services.config import ServiceConfig
from services.errors import GalleryRefused
from services.gallery.style import missing_fonts
from services.jobs import JobRequest
from services.models.residency import ModelResidency
from services.operations import Operation, RunContext
from services.operations.cutout import Cutout, ObjectCutter
from services.operations.gallery import GALLERY_VERSION, GalleryOperation, gallery_params
from services.results.gallery import SLIDE_KINDS, GalleryResult
from services.wiring import marketplace_operations

pytestmark = pytest.mark.skipif(
    bool(missing_fonts()), reason=f"style fonts absent (Debian: {' '.join(missing_fonts())})"
)
TITLE = "Керамическая кружка ручной работы"
BENEFITS = ["Держит тепло до двух часов", "Можно мыть в посудомоечной машине", "Натуральная глина"]


class EmptyCutter:
    """A cutter that finds nothing (a photo with no product in it)."""

    identity = ["empty"]

    def missing_weights(self) -> list[str]:
        return []

    def warm_up(self) -> None:
        pass

    def cut(self, image: Image.Image, **_: Any) -> Cutout:
        alpha = np.zeros((image.height, image.width), np.float32)
        return Cutout(alpha, 0, 1, "empty", 0.0)


def _op(weights: Path, cutter: Any) -> Operation:
    config = ServiceConfig(weights_dir=weights)
    return marketplace_operations(config, ModelResidency.from_gb(0, 0), cutter)["gallery"]


@pytest.fixture(scope="module")
def op(tiny_weights: Path) -> Operation:
    return _op(tiny_weights, ObjectCutter(tiny_weights))


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gallery") / "coffee.jpg"
    Image.fromarray(skdata.coffee()).save(path, quality=95)
    return path


def run(op: Operation, path: Path, progress: list[float] | None = None, **params: Any) -> Any:
    seen = progress if progress is not None else []
    context = RunContext(report=lambda f, s, t: seen.append(f), is_cancelled=lambda: False)
    return op.run([JobRequest(op.name, 1, path, params)], context)[0]


@pytest.fixture(scope="module")
def gallery(op: Operation, photo: Path) -> tuple[GalleryResult, list[float]]:
    progress: list[float] = []
    result = run(op, photo, progress, profile="wb", title=TITLE, benefits=BENEFITS)
    assert isinstance(result, GalleryResult), result
    return result, progress


def test_five_slides_at_the_profiles_size_as_jpeg(gallery: tuple[GalleryResult, list]) -> None:
    result, progress = gallery
    assert [s.kind for s in result.slides] == list(SLIDE_KINDS)
    assert (result.profile, result.title, result.benefits) == ("wb", TITLE, tuple(BENEFITS))
    for slide in result.slides:
        assert slide.data[:2] == b"\xff\xd8"
        with Image.open(io.BytesIO(slide.data)) as opened:
            assert (opened.format, opened.size) == ("JPEG", (1200, 1600))
        assert slide.image.size == (1200, 1600)
        assert 0 <= slide.redraws <= 2
        assert slide.passed or slide.reasons  # a failure is never silent
    main = result.slides[0]
    assert main.lines == () and main.accuracy is None  # the main photo carries no text
    for slide in result.slides[1:]:
        assert slide.lines and slide.text_boxes
    assert result.facts["font"] in ("inter", "roboto", "open_sans")
    assert result.facts["brand"].startswith("#") and result.notes == ()
    assert progress and max(progress) == pytest.approx(1.0)
    assert progress == sorted(progress)


def test_a_title_alone_gives_hero_and_scene(op: Operation, photo: Path) -> None:
    result = run(op, photo, profile="ym", title=TITLE, benefits=[], style=1, brand="#1f4e8c")
    assert [s.kind for s in result.slides] == ["hero", "scene"]
    assert result.notes == ("title_only",) and result.style == 1
    assert result.slides[0].image.size == (1200, 1200)  # Yandex Market's card
    assert result.facts["brand"] == "#1f4e8c" and result.facts["font"] == "roboto"


def test_banned_words_are_refused_by_name(op: Operation, photo: Path) -> None:
    refused = run(op, photo, title="Хит продаж: кружка", benefits=["Скидка 50%", "Глина"])
    assert isinstance(refused, GalleryRefused) and refused.reason == "banned"
    assert "Хит продаж" in refused.words and any("Скидка" in w for w in refused.words)


def test_no_title_is_refused(op: Operation, photo: Path) -> None:
    refused = run(op, photo, title="  ", benefits=BENEFITS)
    assert isinstance(refused, GalleryRefused) and refused.reason == "no_text"


def test_an_empty_cut_is_no_product(tiny_weights: Path, photo: Path) -> None:
    refused = run(_op(tiny_weights, EmptyCutter()), photo, title=TITLE, benefits=BENEFITS)
    assert isinstance(refused, GalleryRefused) and refused.reason == "no_product"


def test_a_text_too_long_is_refused_with_its_limit(op: Operation, photo: Path) -> None:
    long = "Очень подробное описание преимущества " * 8
    refused = run(op, photo, title=TITLE, benefits=[long, *BENEFITS])
    assert isinstance(refused, GalleryRefused) and refused.reason == "too_long"
    assert refused.line == long.strip() and 0 < refused.limit < len(long)


def test_the_cache_identity_names_params_version_and_models(op: Operation) -> None:
    assert isinstance(op, GalleryOperation)
    one = op.cache_identity({"profile": "wb", "title": TITLE, "benefits": BENEFITS})
    other = op.cache_identity({"profile": "wb", "title": TITLE, "benefits": BENEFITS, "style": 1})
    assert one is not None and other is not None and one != other
    assert one["version"] == GALLERY_VERSION and {"ocr", "isnet", "sam"} <= set(one["models"])
    assert op.missing_weights() == [] and op.max_batch == 1


def test_a_failing_slide_is_redrawn_twice_then_returned_with_its_reasons(
    op: Operation, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is made to grade every slide a bad infographic: each is redrawn with
    bigger text on plates, at most twice, and comes back failed, saying why."""
    assert isinstance(op, GalleryOperation)
    inspect = op.checker.inspect
    seen: list[int] = []

    def bad(*args: Any, **kwargs: Any) -> Any:
        seen.append(1)
        return dataclasses.replace(inspect(*args, **kwargs), grade="bad_infographic")

    monkeypatch.setattr(op.checker, "inspect", bad)
    result = run(op, photo, title=TITLE, benefits=[])
    assert [s.kind for s in result.slides] == ["hero", "scene"] and len(seen) == 6
    for slide in result.slides:
        assert slide.redraws == 2 and not slide.passed
        assert slide.reasons[0] == "grade:bad_infographic"


def test_the_gallery_shares_the_checks_models(tiny_weights: Path) -> None:
    """Wired beside check: the same detector, reader and cut (one copy in memory)."""
    config = ServiceConfig(weights_dir=tiny_weights)
    ops = marketplace_operations(config, ModelResidency.from_gb(0, 0), ObjectCutter(tiny_weights))
    assert ops["gallery"].checker is ops["check"]  # type: ignore[attr-defined]


def test_params_are_normalised_for_the_cache_key() -> None:
    found = gallery_params(
        {"title": " Кружка  ", "benefits": ["a", " ", "b"] * 3, "style": "x", "share": "0.5"}
    )
    assert found["title"] == "Кружка" and found["benefits"] == ["a", "b", "a", "b", "a"]
    assert found["style"] == 0 and found["share"] == 0.5 and found["font"] is None
    odd = gallery_params({"title": "t", "share": 7, "font": "roboto", "brand": "#AABBCC"})
    assert (odd["share"], odd["font"], odd["brand"]) == (None, "roboto", "#aabbcc")
