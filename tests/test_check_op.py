"""The check, clean and fix operations on tiny weights (the tiny text detector is a
local-contrast filter: it finds drawn text; the tiny cut is noise, so these tests assert
what holds for any cut) and the real Tesseract when it is installed. The grading of the
generated set through the REAL detector and reader is tests/test_check_realweights.py."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.check_rendering import render_check
from services.config import ServiceConfig
from services.errors import ServiceError
from services.jobs import JobRequest
from services.marketplace.facts import read_facts
from services.marketplace.grading import CLEAN, GRADES
from services.marketplace.summary import CheckSummary
from services.models.clip import ClipTagger
from services.models.inpaint import BackgroundPainter
from services.models.ocr_detector import TextDetector
from services.models.ocr_reader import TextReader
from services.models.residency import ModelResidency
from services.operations import LANE_DIFFUSION, LANE_QUICK, Operation, RunContext
from services.operations.check import CheckOperation
from services.operations.clean import CleanOperation
from services.operations.cutout import ObjectCutter
from services.operations.text_regions import TextFinder
from services.search.result_texts import texts_of
from services.wiring import marketplace_operations
from tests.marketplace_photos import DRAW, font

CONTEXT = RunContext(report=lambda fraction, step, total: None, is_cancelled=lambda: False)


@pytest.fixture(scope="module")
def cutter(tiny_weights: Path) -> ObjectCutter:
    return ObjectCutter(tiny_weights)


@pytest.fixture(scope="module")
def ops(tiny_weights: Path, cutter: ObjectCutter) -> dict[str, Operation]:
    """check, clean, fix as wired, with tiny CLIP and no SD painter (clean fills by Telea)."""
    config = ServiceConfig(weights_dir=tiny_weights)
    tagger = ClipTagger(tiny_weights / "clip")
    return marketplace_operations(config, ModelResidency.from_gb(0, 0), cutter, tagger, None)


@pytest.fixture(scope="module")
def painted(tiny_weights: Path, cutter: ObjectCutter) -> dict[str, Operation]:
    """The same with the tiny SD inpainting model: clean and fix paint the text away."""
    config = ServiceConfig(weights_dir=tiny_weights, background_steps=2)
    painter = BackgroundPainter(tiny_weights / "inpaint")
    return marketplace_operations(config, ModelResidency.from_gb(0, 0), cutter, None, painter)


def save(image: Image.Image, path: Path, fmt: str = "JPEG") -> Path:
    image.save(path, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def run(op: Operation, path: Path, **params: object):
    outcome = op.run([JobRequest(op.name, 1, path, params)], CONTEXT)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def flat_product(size: tuple[int, int] = (600, 800)) -> Image.Image:
    """A plain red product on white: nothing a text detector could take for text."""
    image = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(image).rounded_rectangle(
        (w // 5, h // 8, w * 4 // 5, h * 7 // 8), radius=w // 10, fill=(200, 30, 30)
    )
    return image


def caption_photo() -> Image.Image:
    """A product with a caption beside it that the tiny detector finds (and Tesseract reads)."""
    image = flat_product()
    ImageDraw.Draw(image).text((40, 40), "ХИТ ПРОДАЖ", font=font(26), fill=(30, 30, 30))
    return image


# ---- check


def test_a_600x400_photo_fails_wildberries_size_with_both_numbers(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    path = save(flat_product((600, 400)), tmp_path / "small.jpg")
    summary = run(ops["check"], path, profile="wb")
    assert isinstance(summary, CheckSummary) and summary.profile == "wb"
    size = next(r for r in summary.failures if r.rule == "min_size")
    assert (size.measured, size.limit, size.level) == ("600×400", "900×1200", "required")
    assert summary.failures[0].level == "required"  # required ones first
    reply = render_check(summary, "ru")
    assert "Размер 600×400 — меньше 900×1200 для Wildberries (обязательно)" in reply
    english = render_check(summary, "en")
    assert "Size 600×400 is below 900×1200 for Wildberries (required)" in english
    assert "Aspect 3:2: Wildberries wants 3:4 (required)" in english
    assert "recommended" in english  # the optional recommended size says so


def test_a_transparent_png_fails_yandex_market(ops: dict[str, Operation], tmp_path: Path) -> None:
    rgba = flat_product().convert("RGBA")
    pixels = np.asarray(rgba).copy()
    pixels[(pixels[..., :3] == 255).all(axis=2), 3] = 0  # the white around it transparent
    path = save(Image.fromarray(pixels, "RGBA"), tmp_path / "cut.png", "PNG")
    summary = run(ops["check"], path, profile="ям")  # an alias
    assert summary.profile == "ym"
    failed = {r.rule: r for r in summary.failures}
    assert failed["transparency"].level == "required"
    assert failed["transparency"].measured.endswith("%") and failed["transparency"].limit == "0 %"
    assert "Прозрачный фон" in render_check(summary, "ru")
    # the same file passes Wildberries' transparency rule (PNG with alpha is accepted)
    assert "transparency" not in {r.rule for r in run(ops["check"], path).failures}


def test_no_text_is_never_an_infographic_and_the_reply_names_why(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    summary = run(ops["check"], save(flat_product(), tmp_path / "plain.jpg"))
    assert summary.texts == () and summary.grade in CLEAN
    assert summary.rule in ("no_text", "plain_light_background")
    assert summary.reasons and all(r.feature for r in summary.reasons)
    reply = render_check(summary, "ru")
    assert "Почему:" in reply and "Чистое фото" in reply
    assert summary.clip  # tiny CLIP is installed: its probabilities were a signal


def test_the_summary_crosses_the_pipe_and_the_results_table(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    summary = run(ops["check"], save(caption_photo(), tmp_path / "caption.jpg"), profile="ozon")
    assert summary.grade in GRADES and summary.texts  # the tiny detector found the caption
    assert pickle.loads(pickle.dumps(summary)) == summary
    payload = json.loads(json.dumps(summary.to_payload(), ensure_ascii=False))
    assert CheckSummary.from_payload(payload) == summary
    assert set(summary.seconds) >= {"detect", "read", "cut", "score"}
    assert all(text.place in ("top", "bottom", "over_product") for text in summary.texts)
    # what /find indexes of a stored check: the words read on the photo
    stored = [t.text for t in summary.texts if t.text and t.text.strip()]
    assert texts_of("check", payload) == [text.strip() for text in stored]


def test_without_tesseract_the_check_grades_from_the_regions_and_says_so(
    tiny_weights: Path, cutter: ObjectCutter, tmp_path: Path
) -> None:
    finder = TextFinder(TextDetector(tiny_weights / "ocr"), TextReader(command="no-tesseract-x"))
    check = CheckOperation(finder, cutter)  # and no CLIP either
    summary = run(check, save(caption_photo(), tmp_path / "caption.jpg"))
    assert summary.texts and all(text.text is None for text in summary.texts)
    assert not summary.read and "no-tesseract-x" in (summary.unread or "")
    assert summary.grade in GRADES and not summary.clip
    reply = render_check(summary, "en")
    assert "could not be read" in reply and "Graded without CLIP" in reply
    assert "a label (not read)" in reply


def test_an_unknown_profile_is_a_clear_error(ops: dict[str, Operation], tmp_path: Path) -> None:
    path = save(flat_product(), tmp_path / "plain.jpg")
    with pytest.raises(ServiceError, match="unknown marketplace 'amazon'"):
        run(ops["check"], path, profile="amazon")
    assert ops["check"].cache_identity({"profile": "amazon"}) is None


# ---- what the scheduler asks


def test_cache_identities_and_lanes(
    ops: dict[str, Operation], painted: dict[str, Operation]
) -> None:
    check = ops["check"].cache_identity({"profile": "wb"})
    assert check == ops["check"].cache_identity({"profile": "вб"})  # an alias is the same job
    assert check["profile"] == "wb" and check["clip"] is True
    assert {"ocr", "isnet", "sam", "clip"} <= set(check["models"])
    assert len(check["profiles"]) == len(check["grading"]) == 24  # the data files' digests
    assert ops["check"].cache_identity({"profile": "ozon"}) != check
    # Telea is deterministic; SD only with a seed
    assert ops["clean"].cache_identity({})["fill"] == "telea"
    assert "isnet" not in ops["clean"].cache_identity({"all": True})["models"]
    assert painted["clean"].cache_identity({}) is None
    assert painted["clean"].cache_identity({"seed": 4})["models"][-1] == "inpaint"
    assert painted["fix"].cache_identity({"profile": "wb"}) is None
    assert painted["fix"].cache_identity({"profile": "wb", "seed": 4})["clean"]["seed"] == 4
    request = JobRequest("clean", 1, Path("x.jpg"), {})
    assert ops["clean"].lane(request) == LANE_QUICK
    assert painted["clean"].lane(request) == LANE_DIFFUSION
    fix = JobRequest("fix", 1, Path("x.jpg"), {"profile": "wb"})
    assert ops["fix"].lane(fix) == LANE_QUICK and painted["fix"].lane(fix) == LANE_DIFFUSION
    assert ops["check"].missing_weights() == [] and ops["clean"].missing_weights_for({}) == []


# ---- clean


@pytest.mark.parametrize("which", ["telea", "sd"])
def test_clean_changes_only_the_masked_pixels_and_the_text_goes(
    which: str, ops: dict[str, Operation], painted: dict[str, Operation], tmp_path: Path
) -> None:
    clean: CleanOperation = (ops if which == "telea" else painted)["clean"]  # type: ignore[assignment]
    photo = DRAW["good_infographic"](0)
    path = save(photo.image, tmp_path / "info.png", "PNG")  # lossless: exact comparison
    original = np.asarray(Image.open(path).convert("RGB"))
    cleaned = clean.clean(Image.fromarray(original), CONTEXT, seed=3)
    after = np.asarray(cleaned.image)
    assert cleaned.method == which and cleaned.mask.any()
    assert np.array_equal(after[~cleaned.mask], original[~cleaned.mask])  # bit for bit
    assert np.abs(after[cleaned.mask].astype(int) - original[cleaned.mask]).mean() > 10
    # through run(): the cleaned file, a before/after for the chat, the facts
    result = run(clean, path, seed=3)
    assert np.array_equal(np.asarray(result.image), after)
    assert result.preview is not None and result.preview.width > result.preview.height
    assert result.facts["regions"] >= len(photo.boxes) and result.facts["fill"] == which
    # /clean all takes what lies on the product too (the tiny cut is noise: it may call a
    # caption the product's print): every drawn line is masked, its text region changed
    whole = clean.clean(Image.fromarray(original), CONTEXT, whole=True, seed=3)
    assert (whole.mask | cleaned.mask).sum() == whole.mask.sum()
    assert np.array_equal(np.asarray(whole.image)[~whole.mask], original[~whole.mask])
    for box in photo.boxes:
        x0, y0, x1, y1 = box.bbox
        assert whole.mask[y0:y1, x0:x1].mean() > 0.3, box.text
        region = np.asarray(whole.image)[y0:y1, x0:x1].astype(int)
        assert np.abs(region - original[y0:y1, x0:x1]).mean() > 10, box.text


def test_clean_without_text_leaves_the_photo_as_it_is(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    path = save(flat_product(), tmp_path / "plain.png", "PNG")
    result = run(ops["clean"], path)
    assert result.facts["regions"] == 0 and result.facts["fill"] == "none"
    assert np.array_equal(np.asarray(result.image), np.asarray(Image.open(path).convert("RGB")))


# ---- fix


def test_fix_for_wildberries_is_a_compliant_jpeg_of_the_photos_pixels(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    # a cut-out product (its alpha is the cutter's hint; the tiny cut is noise: where it
    # finds nothing the whole photo goes on the card, which the caption says)
    rgba = np.asarray(flat_product((640, 480)).convert("RGBA")).copy()
    rgba[(rgba[..., :3] == 255).all(axis=2), 3] = 0
    path = save(Image.fromarray(rgba, "RGBA"), tmp_path / "product.png", "PNG")
    result = run(ops["fix"], path, profile="wb")
    assert result.document and result.extension == "jpg" and result.data[:2] == b"\xff\xd8"
    card = Image.open(io.BytesIO(result.data))
    assert card.format == "JPEG" and card.mode == "RGB" and card.size == (1200, 1600)
    assert card.width * 4 == card.height * 3 and card.width >= 900 and card.height >= 1200
    facts = read_facts(result.data)
    assert facts.jpeg_quality >= 90 and facts.colour_space == "sRGB"
    pixels = np.asarray(card).astype(float)
    for corner in (pixels[:40, :40], pixels[:40, -40:], pixels[-40:, :40], pixels[-40:, -40:]):
        assert corner.min() > 240  # near white
    # every pixel is the photo's red, white, or a blend of the two at the cut's soft edge:
    # nothing recoloured, no shadow (whatever the tiny cut took)
    red, white = np.array([200, 30, 30.0]), np.full(3, 255.0)
    share = np.clip(((white - pixels) @ (white - red)) / ((white - red) @ (white - red)), 0, 1)
    off = np.linalg.norm(pixels - (white + share[..., None] * (red - white)), axis=2)
    assert np.percentile(off, 99.5) < 12  # (Lanczos rings a little at a sharp edge)
    assert (share > 0.97).mean() > 0.01  # and the product's own red is there
    recheck = CheckSummary.from_payload(result.facts["check"])
    assert recheck.size == (1200, 1600) and recheck.format == "JPEG"
    passed = {r.rule for r in recheck.rules if r.passed}
    assert {"min_size", "recommended_size", "aspect", "formats", "jpeg_quality"} <= passed
