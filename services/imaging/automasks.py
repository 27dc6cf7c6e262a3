"""Without saliency: which of SAM's automatic masks is the product (pure numpy).

SamAutomaticMaskGenerator proposes masks all over the photo, with SAM's own predicted IoU
and stability for each. The product is a reliable, central, compact mask off the image's
border; the background is the one that touches three or more sides or fills the frame. The
seeds' rule, "the largest mask is the background", is kept as the last resort.
Unit-tested in tests/test_masks.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.imaging.masks import bbox, distinct, remove_specks


@dataclass(frozen=True)
class AutoMask:
    """One mask of SamAutomaticMaskGenerator with the two quality figures SAM predicts."""

    mask: np.ndarray  # bool H×W
    predicted_iou: float
    stability: float


#: A quality figure below these marks a mask as unreliable (used unless none passes).
MIN_PREDICTED_IOU, MIN_STABILITY = 0.7, 0.8
#: Object masks are neither specks nor the whole frame.
MIN_AREA_SHARE, MAX_AREA_SHARE = 0.005, 0.85


def border_sides(mask: np.ndarray) -> int:
    """How many of the four image sides the mask touches."""
    return (
        int(mask[0].any()) + int(mask[-1].any()) + int(mask[:, 0].any()) + int(mask[:, -1].any())
    )


def border_contact(mask: np.ndarray) -> float:
    """Share of the image's border pixels the mask covers."""
    edge = np.concatenate([mask[0], mask[-1], mask[1:-1, 0], mask[1:-1, -1]])
    return float(edge.mean()) if edge.size else 0.0


def object_score(item: AutoMask) -> float:
    """Higher = more like the product: SAM's confidence, central, compact, off the border."""
    mask = item.mask
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean() / max(h - 1, 1), xs.mean() / max(w - 1, 1)
    centrality = 1.0 - min(1.0, float(np.hypot(cx - 0.5, cy - 0.5)) / 0.7071)
    x0, y0, x1, y1 = bbox(mask)  # type: ignore[misc]
    compactness = float(mask.sum()) / ((x1 - x0 + 1) * (y1 - y0 + 1))
    share = float(mask.mean())
    size = min(1.0, share / 0.05)  # small objects are less likely the product
    return (
        1.0 * item.predicted_iou
        + 1.0 * item.stability
        + 1.5 * centrality
        + 0.5 * compactness
        + 0.5 * size
        - 2.0 * border_contact(mask)
    )


def rank_auto_masks(items: Sequence[AutoMask]) -> tuple[list[int], str]:
    """Candidate indices best first, and the rule that decided.

    1. reliable masks only (SAM's predicted IoU and stability), unless none is;
    2. the background out: masks touching 3+ sides or covering most of the frame;
    3. specks out;
    4. the rest by ``object_score``;
    5. last, the seeds' rule when nothing is left: the largest mask is the background, so
       the object is everything else (returned as index -1: see ``complement_of_largest``).
    """
    if not items:
        return [], "none"
    indices = list(range(len(items)))
    reliable = [
        i
        for i in indices
        if items[i].predicted_iou >= MIN_PREDICTED_IOU and items[i].stability >= MIN_STABILITY
    ]
    pool = reliable or indices
    objects = [
        i
        for i in pool
        if border_sides(items[i].mask) < 3
        and MIN_AREA_SHARE <= float(items[i].mask.mean()) <= MAX_AREA_SHARE
    ]
    if not objects:
        return [-1], "largest-is-background"
    ranked = sorted(objects, key=lambda i: -object_score(items[i]))
    return distinct([items[i].mask for i in ranked], ranked), "scored"


def complement_of_largest(items: Sequence[AutoMask]) -> np.ndarray:
    """The seeds' rule: the largest mask is the background; the object is the rest."""
    largest = max(items, key=lambda item: int(item.mask.sum())).mask
    return remove_specks(~largest.astype(bool))
