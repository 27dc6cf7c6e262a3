"""Text regions and reading: DB post-processing on synthetic maps, the tiny detector through
the production class, Tesseract on drawn words (skipped without it), and what happens
without Tesseract. The real detector runs in tests/test_ocr_realweights.py."""

from __future__ import annotations

import logging
import pickle
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.errors import ModelUnavailable
from services.models import ocr_reader
from services.models.ocr_boxes import TextRegion, db_regions, reading_order, unclip_rect
from services.models.ocr_detector import (
    MODEL_FILE,
    TextDetection,
    TextDetector,
    network_size,
    preprocess,
)
from services.models.ocr_page import (
    PageLine,
    PageWord,
    build_page,
    merge_readings,
    parse_tsv,
    to_photo,
)
from services.models.ocr_reader import RecognisedText, TesseractUnavailable, TextReader
from services.weights import model_dir, read_marker, tiny_models
from tests.ocr_photos import BOLD, coffee_card, fonts_missing

needs_fonts = pytest.mark.skipif(fonts_missing() is not None, reason=fonts_missing() or "")
_READER = TextReader()
needs_tesseract = pytest.mark.skipif(
    not _READER.available, reason=f"{_READER.unavailable_reason()} (make test installs it)"
)


def region(x0: float, y0: float, x1: float, y1: float) -> TextRegion:
    box = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return TextRegion(box, 1.0, (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))))


# ---- pre- and post-processing


def test_network_size_keeps_aspect_and_rounds_to_32() -> None:
    assert network_size(1000, 750) == (960, 704)  # 960 × 720 -> 22.5 rows of 32 -> 22
    assert network_size(4000, 3000) == (960, 704)  # PaddleOCR rounds the same way
    assert network_size(4032, 3024) == (960, 704)
    assert network_size(100, 50) == (96, 64)  # never scaled up
    assert network_size(20, 10) == (32, 32)
    assert network_size(3000, 4000, limit=1280) == (960, 1280)


def test_preprocess_is_bgr_in_minus_one_to_one() -> None:
    rgb = np.zeros((40, 70, 3), np.uint8)
    rgb[..., 0] = 255  # red
    x = preprocess(rgb, (64, 32))
    assert x.shape == (1, 3, 32, 64) and x.dtype == np.float32
    assert np.allclose(x[0, 2], 1.0) and np.allclose(x[0, 0], -1.0)  # R last, B first


def test_unclip_grows_a_rectangle_by_area_ratio_over_perimeter() -> None:
    (cx, cy), (w, h), angle = unclip_rect(((50.0, 20.0), (100.0, 20.0), 0.0), 1.5)
    distance = 100 * 20 * 1.5 / (2 * 120)  # 12.5
    assert (cx, cy, angle) == (50.0, 20.0, 0.0)
    assert (w, h) == pytest.approx((100 + 2 * distance, 20 + 2 * distance))


def test_db_regions_find_rectangles_unclipped_and_scaled_back() -> None:
    """Network map 960×704 for a 1000×750 photo: boxes come back in the photo's pixels."""
    prob = np.zeros((704, 960), np.float32)
    prob[100:140, 200:600] = 0.9  # a line: 400 × 40 kernel
    prob[400:430, 50:150] = 0.8
    prob[600:640, 700:900] = 0.4  # above the 0.3 binarisation, below the 0.5 box score
    prob[10:12, 10:12] = 0.9  # smaller than min_size
    regions = db_regions(prob, (1000, 750))
    assert len(regions) == 2
    first, second = regions  # reading order: top first
    # the contour runs through pixel centres: a 399 × 39 rectangle, grown by its offset
    distance = 399 * 39 * 1.5 / (2 * (399 + 39))
    sx, sy = 1000 / 960, 750 / 704
    x0, y0, x1, y1 = first.bbox
    assert x0 == pytest.approx((200 - distance) * sx, abs=1.5)
    assert x1 == pytest.approx((599 + distance) * sx, abs=1.5)
    assert y0 == pytest.approx((100 - distance) * sy, abs=1.5)
    assert y1 == pytest.approx((139 + distance) * sy, abs=1.5)
    assert first.score == pytest.approx(0.9, abs=0.01)
    tl, tr, br, bl = first.box
    assert tl[0] < tr[0] and tl[1] < bl[1] and br[0] > bl[0]  # clockwise from top-left
    assert second.bbox[0] < 50 * sx and second.bbox[2] > 149 * sx


def test_db_regions_follow_a_rotated_line_and_stay_inside_the_image() -> None:
    prob = np.zeros((256, 256), np.float32)
    rect = ((128.0, 128.0), (160.0, 24.0), 30.0)
    cv2.fillPoly(prob, [cv2.boxPoints(rect).astype(np.int32)], 1.0)
    prob[0:20, 200:256] = 1.0  # touches the border: clipped, not outside
    regions = db_regions(prob, (256, 256))
    rotated = max(regions, key=lambda r: r.area)
    tl, tr, _, _ = rotated.box
    angle = np.degrees(np.arctan2(tr[1] - tl[1], tr[0] - tl[0]))
    assert abs(angle) == pytest.approx(30.0, abs=2.0)
    for found in regions:
        assert all(0 <= x <= 256 and 0 <= y <= 256 for x, y in found.box)
        assert 0 <= found.bbox[0] < found.bbox[2] <= 256 and 0 <= found.bbox[1] < found.bbox[3]


def test_reading_order_is_lines_top_down_then_left_to_right() -> None:
    right_high, left_low = region(300, 100, 400, 130), region(10, 106, 120, 136)
    below = region(0, 200, 100, 230)
    assert reading_order([below, right_high, left_low]) == [left_low, right_high, below]


# ---- the detector class on tiny weights


def test_tiny_detector_through_the_production_class(tiny_weights: Path) -> None:
    folder = model_dir(tiny_weights, "ocr")
    assert (folder / MODEL_FILE).is_file() and (read_marker(folder) or {}).get("tiny")
    assert "ocr" in tiny_models(tiny_weights)
    detector = TextDetector(folder, threads=1)
    assert detector.available and not detector.loaded and detector.memory_bytes() == {}
    image = Image.new("RGB", (333, 210), "white")  # not a multiple of 32
    ImageDraw.Draw(image).rectangle((40, 60, 290, 120), fill="black")
    result = detector.detect(image)
    assert isinstance(result, TextDetection) and result.seconds > 0
    assert result.probability.shape == (210, 333) and result.probability.dtype == np.float32
    assert result.probability.min() >= 0.0 and result.probability.max() <= 1.0
    for found in result.regions:
        assert isinstance(found, TextRegion) and len(found.box) == 4
        assert (
            0 <= found.bbox[0] < found.bbox[2] <= 333 and 0 <= found.bbox[1] < found.bbox[3] <= 210
        )
    assert detector._session.get_session_options().intra_op_num_threads == 1
    assert detector.memory_bytes()["cpu"] > 0
    assert detector.unload() and not detector.loaded


def test_detector_without_weights_names_the_folder(tmp_path: Path) -> None:
    detector = TextDetector(tmp_path / "ocr")
    assert not detector.available
    with pytest.raises(ModelUnavailable, match="ocr") as info:
        detector.detect(Image.new("RGB", (64, 64)))
    assert str(tmp_path / "ocr") in str(info.value)


# ---- reading: the page and its answer


def test_parse_tsv_and_map_back_to_the_photo() -> None:
    shift = np.array([[0.5, 0, 100], [0, 0.5, 40], [0, 0, 1]], float)  # page -> photo
    lines = [PageLine(3, shift, 24, 96), PageLine(5, shift, 120, 180)]
    columns = "level page_num block_num par_num line_num word_num left top width height conf"
    header = "\t".join([*columns.split(), "text"])
    tsv = "\n".join(
        [
            header,
            "4\t1\t1\t1\t1\t0\t24\t30\t200\t40\t-1\t",
            "5\t1\t1\t1\t1\t1\t24\t30\t100\t40\t91.5\tСКИДКА",
            "5\t1\t1\t1\t2\t1\t30\t130\t60\t40\t88\tNEW",
            "5\t1\t1\t1\t2\t2\t100\t130\t60\t40\t-1\t ",
        ]
    )
    first, second = parse_tsv(tsv, lines, reading=1)
    assert (first.line, first.text, first.reading) == (0, "СКИДКА", 1)
    assert first.confidence == pytest.approx(0.915)
    assert second.line == 1
    assert to_photo(first.box, lines[0], (1000, 1000)) == (112, 55, 162, 75)
    assert to_photo(first.box, lines[0], (150, 60)) == (112, 55, 150, 60)  # clipped


def test_merge_keeps_the_more_confident_reading_of_each_spot() -> None:
    words = [
        PageWord(0, (10, 0, 60, 30), 0.96, "ХИТ", 1),
        PageWord(0, (10, 0, 60, 30), 0.40, "XUT", 0),
        PageWord(0, (80, 0, 200, 30), 0.92, "МЕМ/", 1),
        PageWord(0, (80, 0, 198, 30), 0.96, "NEW", 0),
        PageWord(0, (220, 0, 300, 30), 0.10, "shop", 0),  # one reading splits, the other not
        PageWord(0, (305, 0, 340, 30), 0.10, "rug", 0),
        PageWord(0, (218, 0, 342, 30), 0.30, "shopru", 1),
        PageWord(1, (10, 40, 60, 70), 0.90, "50%", 0),
        PageWord(1, (10, 40, 60, 70), 0.90, "50%", 1),
    ]
    kept = merge_readings(words)
    assert [(w.text, w.line) for w in kept] == [
        ("ХИТ", 0),
        ("NEW", 0),
        ("shopru", 0),
        ("50%", 1),
    ]
    assert kept[-1].reading == 0  # a tie: the first language


@needs_tesseract
@needs_fonts
def test_tesseract_reads_drawn_words_in_both_scripts() -> None:
    from PIL import ImageFont

    image = Image.new("RGB", (900, 260), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(BOLD), 56)
    drawn = []
    for xy, text, fill in [((40, 30), "СКИДКА", "black"), ((500, 30), "NEW", "black")]:
        drawn.append(draw.textbbox(xy, text, font=font))
        draw.text(xy, text, font=font, fill=fill)
    draw.rectangle((30, 140, 620, 230), fill=(200, 20, 30))
    draw.text((50, 150), "ПРОДАЖА 50%", font=font, fill="white")  # light on dark
    drawn.append(draw.textbbox((50, 150), "ПРОДАЖА 50%", font=font))
    regions = [region(x0 - 8, y0 - 8, x1 + 8, y1 + 8) for x0, y0, x1, y1 in drawn]
    words = _READER.read(image, regions)
    assert [w.text for w in words] == ["СКИДКА", "NEW", "ПРОДАЖА", "50%"]
    assert [w.region for w in words] == [0, 1, 2, 2]
    assert all(isinstance(w, RecognisedText) and w.confidence > 0.7 for w in words)
    assert words[0].bbox == pytest.approx(drawn[0], abs=6)  # mapped back to the photo
    assert words[3].bbox[2] == pytest.approx(drawn[2][2], abs=6)
    assert _READER.read(image, []) == []
    assert _READER.version.startswith("tesseract")


@needs_tesseract
def test_at_most_max_regions_are_read_the_biggest(monkeypatch: pytest.MonkeyPatch) -> None:
    placed: list[list[int]] = []

    def page(rgb: np.ndarray, regions: list[tuple[int, TextRegion]]) -> tuple:
        placed.append([index for index, _ in regions])
        return build_page(rgb, regions)

    monkeypatch.setattr(ocr_reader, "build_page", page)
    monkeypatch.setattr(ocr_reader, "_run_all", lambda commands, png, timeout: [b""] * 2)
    reader = TextReader(max_regions=2)
    small, big, mid = region(0, 0, 10, 10), region(0, 20, 200, 60), region(0, 70, 100, 90)
    assert reader.read(Image.new("RGB", (300, 100), "white"), [small, big, mid]) == []
    assert placed == [[1, 2]]  # the two biggest, in the order given


# ---- without Tesseract


def test_missing_tesseract_only_makes_reading_unavailable(
    tiny_weights: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ocr_reader.shutil, "which", lambda name: None)
    monkeypatch.setattr(ocr_reader, "_logged", set())
    caplog.set_level(logging.WARNING, logger="vitrina.ocr")
    reader = TextReader()
    assert not reader.available and not reader.available  # checked once
    reason = reader.unavailable_reason() or ""
    assert "tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng" in reason
    assert not TextReader().available  # another instance: still one log line
    assert len([r for r in caplog.records if r.name == "vitrina.ocr"]) == 1
    image = Image.new("RGB", (128, 96), "white")
    detection = TextDetector(model_dir(tiny_weights, "ocr")).detect(image)  # still works
    with pytest.raises(TesseractUnavailable) as info:
        reader.read(image, detection.regions)
    assert isinstance(info.value, ModelUnavailable)
    assert "tesseract-ocr-rus" in str(info.value)
    again = pickle.loads(pickle.dumps(info.value))  # crosses the worker's pipe
    assert type(again) is TesseractUnavailable and str(again) == str(info.value)


def test_missing_traineddata_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "tesseract"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        '  --version) echo "tesseract 5.3.0";;\n'
        '  --list-langs) printf "List of available languages (2):\\neng\\nosd\\n";;\n'
        "esac\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(ocr_reader, "_logged", set())
    reader = TextReader(command=str(fake))
    reason = reader.unavailable_reason() or ""
    assert "no rus traineddata" in reason and "tesseract-ocr-rus" in reason
    assert reader.version == "tesseract 5.3.0"
    assert TextReader(command=str(fake), languages=("eng",)).available


@needs_fonts
def test_drawn_photos_hold_their_lines() -> None:
    photo = coffee_card()
    assert photo.image.size == (1200, 800)
    assert photo.words[:3] == ["ХИТ", "ПРОДАЖ", "NEW"]
    assert all(0 <= line.bbox[0] < line.bbox[2] <= 1200 for line in photo.lines)
