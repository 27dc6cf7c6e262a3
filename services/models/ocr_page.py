"""The page Tesseract reads, and its answer mapped back to the photo. Pure numpy/OpenCV.

Every detected line is straightened (a perspective warp of its rotated box), scaled to one
line height, made dark-on-light and stacked on one white page: one ``tesseract`` run per
language reads them all. Words come back in page pixels; ``merge_readings`` keeps, where
the languages' readings of the same spot differ, the more confident one (one language's
model reads Latin "NEW" as Cyrillic "МЕМ/" with 92 %, the other as "NEW" with 96 %), and
``to_photo`` maps the page pixels back through each line's warp.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from services.models.ocr_boxes import TextRegion

#: a line's box is scaled to this height (Tesseract reads x-heights of 20-30 px best)
LINE_HEIGHT = 48
PAD = 0.15  # of the box height, added around each line before the warp
MARGIN = 24  # white around each line on the page, in pixels


@dataclass(frozen=True)
class PageLine:
    region: int  # index of the region it shows
    matrix: np.ndarray  # 3×3: page pixels -> photo pixels
    top: int
    bottom: int


@dataclass(frozen=True)
class PageWord:
    line: int  # index into the page's lines
    box: tuple[int, int, int, int]  # left, top, right, bottom on the page
    confidence: float  # 0..1
    text: str
    reading: int  # which language's run found it


def build_page(
    rgb: np.ndarray, regions: list[tuple[int, TextRegion]]
) -> tuple[np.ndarray, list[PageLine]]:
    """One white grey page with each line straightened, dark on light, one under another."""
    crops, lines, top = [], [], MARGIN
    for index, region in regions:
        crop, to_photo = straighten(rgb, region)
        height = crop.shape[0]
        shift = np.array([[1, 0, -MARGIN], [0, 1, -top], [0, 0, 1]], dtype=np.float64)
        lines.append(PageLine(index, to_photo @ shift, top, top + height))
        crops.append((crop, top))
        top += height + MARGIN
    width = max((c.shape[1] for c, _ in crops), default=0) + 2 * MARGIN
    page = np.full((top, width), 255, dtype=np.uint8)
    for crop, row in crops:
        page[row : row + crop.shape[0], MARGIN : MARGIN + crop.shape[1]] = crop
    return page, lines


def straighten(rgb: np.ndarray, region: TextRegion) -> tuple[np.ndarray, np.ndarray]:
    """The region's line as a grey dark-on-light crop ``LINE_HEIGHT`` (plus padding) high,
    and the 3×3 matrix from crop pixels to photo pixels."""
    tl, tr, br, bl = (np.array(p, dtype=np.float64) for p in region.box)
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl), 1.0)
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr), 1.0)
    if height >= 1.5 * width:  # a vertical line: read it turned a quarter clockwise
        tl, tr, br, bl = bl, tl, tr, br
        width, height = height, width
    across = (tr - tl) / max(np.linalg.norm(tr - tl), 1e-6)
    down = (bl - tl) / max(np.linalg.norm(bl - tl), 1e-6)
    pad = PAD * height
    source = np.array(
        [
            tl - pad * across - pad * down,
            tr + pad * across - pad * down,
            br + pad * across + pad * down,
            bl - pad * across + pad * down,
        ],
        dtype=np.float32,
    )
    scale = LINE_HEIGHT / height
    out_w = max(1, round((width + 2 * pad) * scale))
    out_h = max(1, round((height + 2 * pad) * scale))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    crop = cv2.warpPerspective(
        rgb, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return dark_on_light(crop), np.linalg.inv(matrix.astype(np.float64))


def dark_on_light(crop: np.ndarray) -> np.ndarray:
    """The grey version of a colour crop where text and background differ most (yellow on
    red is nearly flat in plain luminance), inverted when the background is the dark side."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    best, best_gap, dark_background = grey, -1.0, False
    for channel in (grey, crop[:, :, 0], crop[:, :, 1], crop[:, :, 2]):
        channel = np.ascontiguousarray(channel)
        threshold, _ = cv2.threshold(channel, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        light = channel > threshold
        if light.all() or not light.any():
            continue
        gap = float(channel[light].mean() - channel[~light].mean())
        if gap > best_gap:  # the majority class is the background
            best, best_gap, dark_background = channel, gap, light.mean() < 0.5
    return np.ascontiguousarray(255 - best if dark_background else best)


def parse_tsv(tsv: str, lines: list[PageLine], reading: int = 0) -> list[PageWord]:
    """Tesseract's TSV output (level 5 rows are words) -> the words of each page line."""
    words = []
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        left, top, width, height = (int(v) for v in fields[6:10])
        confidence = float(fields[10])
        middle = top + height / 2
        line = next(
            (
                i
                for i, ln in enumerate(lines)
                if ln.top - MARGIN / 2 <= middle < ln.bottom + MARGIN / 2
            ),
            None,
        )
        if line is None or confidence < 0:
            continue
        box = (left, top, left + width, top + height)
        words.append(PageWord(line, box, confidence / 100.0, fields[11].strip(), reading))
    return words


def merge_readings(words: list[PageWord]) -> list[PageWord]:
    """Per line, the words of all readings grouped where they overlap; in each group the
    reading with the higher mean confidence wins (ties: the earlier reading)."""
    kept: list[PageWord] = []
    for line in sorted({w.line for w in words}):
        ordered = sorted((w for w in words if w.line == line), key=lambda w: w.box[0])
        groups: list[list[PageWord]] = []
        right = 0
        for word in ordered:
            if groups and word.box[0] < right - 2:  # overlaps the group (beyond a pixel or two)
                groups[-1].append(word)
                right = max(right, word.box[2])
            else:
                groups.append([word])
                right = word.box[2]
        for group in groups:
            by_reading: dict[int, list[PageWord]] = {}
            for word in group:
                by_reading.setdefault(word.reading, []).append(word)
            best = max(
                sorted(by_reading),
                key=lambda r: sum(w.confidence for w in by_reading[r]) / len(by_reading[r]),
            )
            kept += by_reading[best]
    return kept


def to_photo(
    box: tuple[int, int, int, int], line: PageLine, size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A page box as the bounding box (x0, y0, x1, y1) of its place in the photo (W, H)."""
    left, top, right, bottom = box
    corners = np.array([[[left, top], [right, top], [right, bottom], [left, bottom]]], float)
    points = cv2.perspectiveTransform(corners, line.matrix)[0]
    x0, y0 = (int(v) for v in np.floor(points.min(axis=0)))
    x1, y1 = (int(v) for v in np.ceil(points.max(axis=0)))
    return max(0, x0), max(0, y0), min(size[0], x1), min(size[1], y1)
