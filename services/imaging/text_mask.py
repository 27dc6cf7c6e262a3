"""The /clean mask: where text, badges and stickers are, from a detector's boxes and/or its
probability map. Each region grows by a share of its own height (glyph edges, shadows,
antialiasing); a box on a plate or sticker of even colour grows to the whole plate. The
product is left out unless the user asked for everything. Pure numpy/OpenCV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

#: Regions grow by this share of their height (at least MIN_GROW px).
GROW_SHARE = 0.2
MIN_GROW = 2
#: A plate grows by this share of its text's height (its edge is sharper than glyphs').
PLATE_GROW_SHARE = 0.05
#: A ring around the box whose colours spread less than this (RGB std) is a plate.
PLATE_STD = 10.0
#: Pixels within this RGB distance of the plate's colour belong to it.
PLATE_TOLERANCE = 24.0
#: A plate larger than this many times its box or this share of the frame, or reaching
#: three sides of the frame, is the background itself, not a plate.
PLATE_MAX_AREA = 30.0
PLATE_MAX_SHARE = 0.4
#: A region with at least this share of its core on the product is the product's own.
OVER_PRODUCT = 0.5

Box = Sequence[float] | np.ndarray  # (x0, y0, x1, y1) or a 4×2 quad


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _grow_px(height: float, share: float) -> int:
    return max(MIN_GROW, int(round(share * height)))


def _region(box: Box, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The box as a bool mask of `shape` and its clipped bbox."""
    height, width = shape
    points = np.asarray(box, dtype=np.float64)
    mask = np.zeros(shape, np.uint8)
    if points.shape == (4, 2):
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
    elif points.shape == (4,):
        x0, y0, x1, y1 = points
    else:
        raise ValueError(f"a box is (x0, y0, x1, y1) or 4 points, not shape {points.shape}")
    bbox = (
        max(0, int(np.floor(x0))),
        max(0, int(np.floor(y0))),
        min(width, int(np.ceil(x1))),
        min(height, int(np.ceil(y1))),
    )
    if points.shape == (4,):
        mask[bbox[1] : bbox[3], bbox[0] : bbox[2]] = 1
    return mask.astype(bool), bbox


def _text_height(box: Box, bbox: tuple[int, int, int, int]) -> float:
    """A line's height: the quad's shorter side, or the bbox's height."""
    points = np.asarray(box, dtype=np.float64)
    if points.shape == (4, 2):
        sides = np.linalg.norm(points - np.roll(points, -1, axis=0), axis=1)
        return float(min(sides[0] + sides[2], sides[1] + sides[3]) / 2)
    return float(bbox[3] - bbox[1])


@dataclass(frozen=True)
class Region:
    """One text region in a window of the picture: the box (or detector blob) with its
    plate (`core`) and the same grown for glyph edges (`grown`); both bool, window-sized."""

    window: tuple[int, int, int, int]  # x0, y0, x1, y1
    core: np.ndarray
    grown: np.ndarray


def plate_around(
    image: np.ndarray,
    bbox: tuple[int, int, int, int],
    *,
    tolerance: float = PLATE_TOLERANCE,
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The plate or sticker of even colour behind the text in `bbox`: (window, bool mask
    of the window), or None when the box sits on anything else (a photo, the plain
    background)."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = bbox
    box_h, box_w = y1 - y0, x1 - x0
    if box_h < 2 or box_w < 2:
        return None
    ring_in, ring_out = 1, max(3, round(0.2 * box_h))
    for reach in (1.0, 3.0):
        pad = int(round(reach * max(box_h, box_w)))
        wx0, wy0 = max(0, x0 - pad), max(0, y0 - pad)
        wx1, wy1 = min(width, x1 + pad), min(height, y1 + pad)
        window = image[wy0:wy1, wx0:wx1].astype(np.float32)
        inner = np.zeros(window.shape[:2], np.uint8)
        inner[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] = 1
        ring = cv2.dilate(inner, _disk(ring_out)).astype(bool)
        ring &= ~cv2.dilate(inner, _disk(ring_in)).astype(bool)
        if not ring.any():
            return None
        colours = window[ring]
        if colours.std(axis=0).max() > PLATE_STD:
            return None  # the text sits on a photo or a gradient: no plate
        plate = np.median(colours, axis=0)
        near = np.linalg.norm(window - plate, axis=2) <= tolerance
        labels, _ = ndimage.label(near | inner.astype(bool))
        found = labels == labels[y0 - wy0 + box_h // 2, x0 - wx0 + box_w // 2]
        found = ndimage.binary_fill_holes(found)
        leaks = (
            (found[0].any() and wy0 > 0)
            or (found[-1].any() and wy1 < height)
            or (found[:, 0].any() and wx0 > 0)
            or (found[:, -1].any() and wx1 < width)
        )
        if leaks:
            continue  # the region runs past the window: look wider once
        sides = (
            (found[0].any() and wy0 == 0)
            + (found[-1].any() and wy1 == height)
            + (found[:, 0].any() and wx0 == 0)
            + (found[:, -1].any() and wx1 == width)
        )
        area = int(found.sum())
        too_big = area > PLATE_MAX_AREA * box_h * box_w or area > PLATE_MAX_SHARE * height * width
        if too_big or sides >= 3:
            return None  # the plain background, not a plate
        return (wx0, wy0, wx1, wy1), found
    return None


def _grown_region(
    shape: tuple[int, int], core: np.ndarray, origin: tuple[int, int], radius: int
) -> Region:
    """`core` (at `origin` in the picture) in a window wide enough to grow it by `radius`."""
    height, width = shape
    ox, oy = origin
    ch, cw = core.shape
    x0, y0 = max(0, ox - radius - 1), max(0, oy - radius - 1)
    x1, y1 = min(width, ox + cw + radius + 1), min(height, oy + ch + radius + 1)
    placed = np.zeros((y1 - y0, x1 - x0), bool)
    placed[oy - y0 : oy - y0 + ch, ox - x0 : ox - x0 + cw] = core
    grown = cv2.dilate(placed.astype(np.uint8), _disk(radius)).astype(bool)
    return Region((x0, y0, x1, y1), placed, grown)


def box_regions(
    shape: tuple[int, int],
    boxes: Sequence[Box],
    image: np.ndarray | None = None,
    *,
    grow: float = GROW_SHARE,
    plates: bool = True,
) -> list[Region]:
    """A region per box (bbox or quad), grown by `grow` × its height; with `image`, a box
    on an even plate takes the whole plate (grown by PLATE_GROW_SHARE × the text's height,
    at least MIN_GROW px, for its antialiased edge)."""
    regions = []
    for box in boxes:
        mask, bbox = _region(box, shape)
        x0, y0, x1, y1 = bbox
        if x1 <= x0 or y1 <= y0:
            continue
        radius = _grow_px(_text_height(box, bbox), grow)
        core, origin = mask[y0:y1, x0:x1], (x0, y0)
        found = plate_around(image, bbox) if plates and image is not None else None
        if found is not None:
            (px0, py0, px1, py1), plate = found
            core = plate.copy()
            core[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0] |= mask[y0:y1, x0:x1]
            # the plate's own edge is sharp: a thin margin takes its antialiasing
            origin, radius = (px0, py0), _grow_px(_text_height(box, bbox), PLATE_GROW_SHARE)
        regions.append(_grown_region(shape, core, origin, radius))
    return regions


def probability_regions(
    probability: np.ndarray, *, threshold: float = 0.3, grow: float = GROW_SHARE
) -> list[Region]:
    """The detector's probability map (float, the image's size) thresholded: a region per
    connected blob, grown by `grow` × its height."""
    binary = (np.asarray(probability) >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    regions = []
    for label in range(1, count):
        x, y, w, h = (int(v) for v in stats[label, :4])
        core = labels[y : y + h, x : x + w] == label
        regions.append(_grown_region(binary.shape, core, (x, y), _grow_px(h, grow)))
    return regions


def clean_mask(
    image: np.ndarray,
    boxes: Sequence[Box] = (),
    probability: np.ndarray | None = None,
    object_mask: np.ndarray | None = None,
    *,
    everything: bool = False,
    plates: bool = True,
) -> np.ndarray:
    """What /clean removes (bool H×W): the text regions with their plates.

    With `object_mask` and not `everything` (/clean all), the product stays: a region
    mostly on the product (its print, a label on the pack) is kept whole; a region beside
    it loses only the pixels its growth would take from the product; a sticker that
    really crosses the product's edge goes whole (half a sticker is worse than a
    retouched edge)."""
    shape = image.shape[:2]
    regions = box_regions(shape, boxes, image, plates=plates)
    if probability is not None:
        if probability.shape != shape:
            raise ValueError(f"probability map {probability.shape} is not the image's {shape}")
        regions += probability_regions(probability)
    product = None
    if object_mask is not None and not everything:
        if object_mask.shape != shape:
            raise ValueError(f"object mask {object_mask.shape} is not the image's {shape}")
        product = np.asarray(object_mask, bool)
    mask = np.zeros(shape, bool)
    for region in regions:
        x0, y0, x1, y1 = region.window
        take = region.grown
        if product is not None:
            under = product[y0:y1, x0:x1]
            if (region.core & under).sum() >= OVER_PRODUCT * region.core.sum():
                continue
            if not (region.core & under).any():
                take = take & ~under
        mask[y0:y1, x0:x1] |= take
    return mask
