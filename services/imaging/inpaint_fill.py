"""Filling a mask from its surroundings with OpenCV's inpainting (Telea): /clean's fill
when the SD inpainting weights are absent.

Only the mask's neighbourhood is worked on, and a large neighbourhood at a bounded size
(the fill is smooth anyway), but the result is pasted back at full size inside the mask
only: every pixel outside the mask is the original's, bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The neighbourhood is filled at most at this longer side, then scaled back up.
WORK_SIDE = 1536
#: Telea's radius: this share of the mask's thickness, within these bounds (px).
RADIUS_SHARE = 0.1
RADIUS_RANGE = (3, 8)


def _thickness(mask: np.ndarray) -> float:
    """Twice the largest distance from a masked pixel to the unmasked ones."""
    if not mask.any():
        return 0.0
    return 2.0 * float(cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3).max())


def telea_radius(mask: np.ndarray) -> int:
    """The inpainting radius for `mask`: a share of its thickest stroke, so thin glyph
    masks get a tight fill and wide plates a softer one."""
    return int(np.clip(round(RADIUS_SHARE * _thickness(mask)), *RADIUS_RANGE))


def _bounds(mask: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (
        max(0, int(cols[0]) - margin),
        max(0, int(rows[0]) - margin),
        min(width, int(cols[-1]) + 1 + margin),
        min(height, int(rows[-1]) + 1 + margin),
    )


def inpaint(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    radius: int | None = None,
    work_side: int = WORK_SIDE,
) -> np.ndarray:
    """`image` (H×W×3 uint8) with the pixels where `mask` is True filled from around them;
    the others are the input's exactly. A copy; the input is not changed."""
    rgb = np.asarray(image)
    mask = np.asarray(mask, bool)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array H×W×3, got {rgb.dtype} {rgb.shape}")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match the image {rgb.shape[:2]}")
    out = rgb.copy()
    if not mask.any():
        return out
    height, width = mask.shape
    # Telea reads only pixels within `radius` of the mask: a crop with a wider margin fills
    # exactly as the whole picture would (the extra margin feeds the downscaled path).
    margin = max(RADIUS_RANGE[1] * 3, round(0.02 * max(height, width)))
    x0, y0, x1, y1 = _bounds(mask, margin)
    crop, crop_mask = rgb[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    scale = min(1.0, work_side / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        # any masked pixel under a small one masks it, so no sliver of text survives
        coverage = cv2.resize(crop_mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        small_mask = (coverage > 0).astype(np.uint8)
        small_mask = cv2.dilate(small_mask, np.ones((3, 3), np.uint8))
        r = radius if radius is not None else telea_radius(small_mask.astype(bool))
        filled_small = cv2.inpaint(small, small_mask, r, cv2.INPAINT_TELEA)
        filled = cv2.resize(filled_small, crop.shape[1::-1], interpolation=cv2.INTER_CUBIC)
    else:
        r = radius if radius is not None else telea_radius(crop_mask)
        filled = cv2.inpaint(
            np.ascontiguousarray(crop), crop_mask.astype(np.uint8), r, cv2.INPAINT_TELEA
        )
    window = out[y0:y1, x0:x1]
    window[crop_mask] = filled[crop_mask]
    return out
