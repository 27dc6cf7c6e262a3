"""DB (differentiable binarisation) post-processing: a text-probability map -> text boxes.

The steps and defaults of PaddleOCR's ``DBPostProcess`` (score_mode "fast", no dilation):
binarise the map, take each connected contour's minimum-area rotated rectangle, keep it when
the mean probability inside is high enough, grow it by the "unclip" offset (the network is
trained on shrunk text kernels) and scale it to the original image. Pure numpy/OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: PaddleOCR's defaults (tools/infer/utility.py): det_db_thresh 0.3, det_db_unclip_ratio 1.5,
#: max_candidates 1000, min_size 3. Box score: PaddleOCR's tools use 0.6, RapidOCR's config
#: (the package that ships this detector) 0.5; 0.5 keeps faint overlay text.
BINARY_THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
UNCLIP_RATIO = 1.5
MAX_CANDIDATES = 1000
MIN_SIZE = 3.0

Point = tuple[float, float]


@dataclass(frozen=True)
class TextRegion:
    """One text line: its rotated box (4 points clockwise from top-left, original image
    pixels), the mean text probability inside the unexpanded box, and the box's bounding
    rectangle (x0, y0, x1, y1; x1/y1 exclusive, inside the image)."""

    box: tuple[Point, Point, Point, Point]
    score: float
    bbox: tuple[int, int, int, int]

    @property
    def area(self) -> int:
        x0, y0, x1, y1 = self.bbox
        return (x1 - x0) * (y1 - y0)


def order_points(points: np.ndarray) -> np.ndarray:
    """4×2 points as top-left, top-right, bottom-right, bottom-left (PaddleOCR's order)."""
    by_x = points[np.argsort(points[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def unclip_rect(rect: tuple, ratio: float) -> tuple:
    """Grow a min-area rectangle ``((cx, cy), (w, h), angle)`` by PaddleOCR's unclip offset
    ``area * ratio / perimeter`` on every side. PaddleOCR offsets the polygon with pyclipper
    (round joins) and takes the min-area rectangle again: for a rectangle that is exactly
    this one."""
    (cx, cy), (w, h), angle = rect
    distance = w * h * ratio / (2.0 * (w + h)) if w + h > 0 else 0.0
    return (cx, cy), (w + 2 * distance, h + 2 * distance), angle


def box_score(probability: np.ndarray, box: np.ndarray) -> float:
    """Mean probability inside the polygon ``box`` (PaddleOCR's ``box_score_fast``)."""
    height, width = probability.shape
    x0 = int(np.clip(np.floor(box[:, 0].min()), 0, width - 1))
    x1 = int(np.clip(np.ceil(box[:, 0].max()), 0, width - 1))
    y0 = int(np.clip(np.floor(box[:, 1].min()), 0, height - 1))
    y1 = int(np.clip(np.ceil(box[:, 1].max()), 0, height - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (box - np.array([x0, y0], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2), 1)
    return float(cv2.mean(probability[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def db_regions(
    probability: np.ndarray,
    size: tuple[int, int],
    *,
    threshold: float = BINARY_THRESHOLD,
    box_threshold: float = BOX_THRESHOLD,
    unclip_ratio: float = UNCLIP_RATIO,
    min_size: float = MIN_SIZE,
    max_candidates: int = MAX_CANDIDATES,
) -> list[TextRegion]:
    """Text regions of a probability map (H×W in 0..1, at the network's resolution), in the
    coordinates of an original image of ``size`` (W, H), in reading order."""
    probability = np.asarray(probability, dtype=np.float32)
    map_h, map_w = probability.shape
    width, height = size
    scale = np.array([width / map_w, height / map_h], dtype=np.float32)
    bitmap = (probability > threshold).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    regions = []
    for contour in contours[:max_candidates]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < min_size:
            continue
        kernel = order_points(cv2.boxPoints(rect))
        score = box_score(probability, kernel)
        if score < box_threshold:
            continue
        grown = unclip_rect(rect, unclip_ratio)
        if min(grown[1]) < min_size + 2:
            continue
        box = order_points(cv2.boxPoints(grown)) * scale
        box[:, 0] = np.clip(box[:, 0], 0, width)
        box[:, 1] = np.clip(box[:, 1], 0, height)
        regions.append(_region(box, score, width, height))
    return reading_order(regions)


def _region(box: np.ndarray, score: float, width: int, height: int) -> TextRegion:
    x0, y0 = (int(np.floor(v)) for v in box.min(axis=0))
    x1, y1 = (int(np.ceil(v)) for v in box.max(axis=0))
    points = tuple((float(x), float(y)) for x, y in box)
    bbox = (max(0, x0), max(0, y0), min(width, x1), min(height, y1))
    return TextRegion(points, score, bbox)  # type: ignore[arg-type]


def reading_order(regions: list[TextRegion]) -> list[TextRegion]:
    """Top to bottom; boxes whose tops are within half a line height of the line's first box
    form one line, read left to right."""
    lines: list[list[TextRegion]] = []
    for region in sorted(regions, key=lambda r: (r.bbox[1], r.bbox[0])):
        if lines:
            first = lines[-1][0]
            line_height = first.bbox[3] - first.bbox[1]
            if region.bbox[1] - first.bbox[1] < line_height / 2:
                lines[-1].append(region)
                continue
        lines.append([region])
    return [region for line in lines for region in sorted(line, key=lambda r: r.bbox[0])]
