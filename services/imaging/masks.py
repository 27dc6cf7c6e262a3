"""Which object, and its mask: pure numpy/scipy rules on saliency maps and SAM masks.

Saliency (ISNet) knows *which* object is the product but has soft edges; SAM has crisp edges
but no idea what matters. These functions turn a saliency map into SAM prompts, pick the SAM
mask that agrees with it, fuse the two, clean the result, and rank the alternatives offered
by "Wrong object?". Without saliency, SAM's automatic masks are scored on their own
(services/imaging/automasks.py). No model here: every rule is unit-tested on synthetic
arrays (tests/test_masks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Binary threshold for soft alphas / saliency maps.
THRESHOLD = 0.5
#: A component smaller than this share of the largest one is a speck.
SPECK_SHARE = 0.02
#: A hole smaller than this share of the object's area may be filled (larger ones always
#: stay open: a mug's handle, the gap between an arm and the body).
HOLE_SHARE = 0.01
#: A hole of at most this share of the object's area is a speck: filled whatever the saliency
#: says (a pin-prick in the core is noise, not a window onto the background). 0.0005 of the
#: object is ~54 px on scikit-image's motorcycle (500x741, object 109 000 px): every spoke gap
#: there is larger (98-667 px), every sub-speck hole is an uncertain sliver next to a spoke.
HOLE_SPECK_SHARE = 0.0005
#: Below this IoU with saliency, SAM's mask is not the same object: keep saliency.
MIN_AGREEMENT = 0.5
#: Where saliency is this sure (<= LOW or >= HIGH), it overrules SAM.
SURE_LOW, SURE_HIGH = 0.1, 0.9
#: A hole (bigger than a speck) whose MEDIAN saliency is at most this stays open: at least half
#: of it the model is sure is background (the same bound as SURE_LOW). Measured on the
#: motorcycle's wheels (real ISNet): the gaps between the spokes have medians 0.002-0.07; the
#: holes where ISNet hesitates (slivers along the rim and the spokes) have medians 0.13-0.46
#: and are filled as before.
HOLE_OPEN_SALIENCY = SURE_LOW
#: Two candidates with a higher IoU than this are the same candidate.
DISTINCT_IOU = 0.85


@dataclass(frozen=True)
class Prompts:
    """SAM prompts in (x, y) pixel coordinates of the mask's grid."""

    box: np.ndarray  # float32 [4]: x0, y0, x1, y1
    points: np.ndarray  # float32 [N, 2]
    labels: np.ndarray  # int32 [N]: 1 = object, 0 = background


@dataclass(frozen=True)
class Fused:
    alpha: np.ndarray  # float32 H×W, cleaned
    agreement: float  # IoU of SAM's mask with the saliency mask
    fallback: bool  # SAM disagreed: this is the saliency alone


# --- basics -----------------------------------------------------------------------------------


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected labels and the area of each label (index 0 = label 1)."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return labels, areas


def remove_specks(mask: np.ndarray, share: float = SPECK_SHARE, min_px: int = 0) -> np.ndarray:
    """Drop components smaller than ``share`` of the largest one (and below ``min_px``)."""
    labels, areas = components(mask)
    if areas.size == 0:
        return mask.astype(bool)
    keep = areas >= max(share * areas.max(), min_px)
    return np.concatenate([[False], keep])[labels]


def fill_holes(
    mask: np.ndarray,
    saliency: np.ndarray | None = None,
    *,
    share: float = HOLE_SHARE,
    speck_share: float = HOLE_SPECK_SHARE,
    open_saliency: float = HOLE_OPEN_SALIENCY,
) -> np.ndarray:
    """``mask`` with its small enclosed background regions (holes) filled.

    A hole of ``share`` of the object's area or more always stays open (a mug's handle, the
    gap between an arm and the body). Without ``saliency`` every smaller hole is filled. With
    it (the soft map, 0..1, same shape), a smaller hole is filled only when it is a speck (at
    most ``speck_share`` of the object) or when the model is unsure there (median saliency
    above ``open_saliency``: less than half of the hole is surely background); where the
    model is confident it is background (the gaps between a wheel's spokes, the inside of a
    ring) the hole stays open. Pure: the inputs are not changed.
    """
    mask = mask.astype(bool)
    holes = ndimage.binary_fill_holes(mask) & ~mask
    if not holes.any():
        return mask
    labels, areas = components(holes)
    area = max(int(mask.sum()), 1)
    fill = areas < share * area
    if saliency is not None and fill.any():
        # median <= open_saliency, counted: ndimage.median sorts (it tripled clean_alpha)
        sure = np.bincount(labels[holes & (saliency <= open_saliency)], minlength=areas.size + 1)
        model_says_background = 2 * sure[1:] >= areas
        fill &= (areas <= speck_share * area) | ~model_says_background
    return mask | np.concatenate([[False], fill])[labels]


def clean_alpha(
    alpha: np.ndarray,
    *,
    speck_share: float = SPECK_SHARE,
    saliency: np.ndarray | None = None,
) -> np.ndarray:
    """Specks removed and small holes filled, soft edges kept (not feathered).

    The core (alpha >= 0.5) decides: a soft fringe survives only where it touches a kept core
    component; small holes in the core become 1 (with ``saliency``, only those that
    ``fill_holes`` fills: specks and holes where the model is unsure, not those it is sure
    are background).
    """
    alpha = np.clip(alpha.astype(np.float32), 0.0, 1.0)
    core = alpha >= THRESHOLD
    if not core.any():
        return np.zeros_like(alpha)
    kept = remove_specks(core, speck_share)
    support_labels, _ = components(alpha > 0.02)
    keep_support = np.unique(support_labels[kept])
    keep_support = keep_support[keep_support > 0]
    support = np.isin(support_labels, keep_support)
    out = np.where(support, alpha, 0.0).astype(np.float32)
    # a removed speck's core inside a kept fringe must go too
    out[core & ~kept] = 0.0
    filled = fill_holes(kept, saliency)
    out[filled & ~kept] = 1.0
    return out


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inclusive of the True pixels, or None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


# --- saliency -> SAM prompts ------------------------------------------------------------------


def prompts_from_saliency(
    saliency: np.ndarray, *, max_positive: int = 2, margin: float = 0.02
) -> Prompts | None:
    """Box around the salient object plus its deepest interior points (positive) and the
    deepest background point inside the box (negative, when there is real background there).
    None when nothing is salient."""
    mask = remove_specks(saliency >= THRESHOLD)
    box = bbox(mask)
    if box is None:
        return None
    h, w = mask.shape
    pad = margin * max(h, w)
    x0, y0, x1, y1 = box
    box_arr = np.array(
        [max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, w - 1), min(y1 + pad, h - 1)],
        dtype=np.float32,
    )
    points: list[tuple[float, float]] = []
    labels: list[int] = []
    comp_labels, areas = components(mask)
    order = np.argsort(-areas, kind="stable")
    for index in order[:max_positive]:
        if points and areas[index] < 0.2 * areas[order[0]]:
            break
        comp = comp_labels == index + 1
        points.append(_deepest(comp))
        labels.append(1)
    inside = np.zeros_like(mask)
    ix0, iy0, ix1, iy1 = (int(round(v)) for v in box_arr)
    inside[iy0 : iy1 + 1, ix0 : ix1 + 1] = True
    background = inside & ~ndimage.binary_dilation(mask, iterations=2)
    if background.any():
        depth = ndimage.distance_transform_edt(np.pad(background, 1))[1:-1, 1:-1]
        # only a background region wide enough to be real (not a thin edge gap)
        if depth.max() >= 0.04 * min(ix1 - ix0 + 1, iy1 - iy0 + 1):
            points.append(_deepest(background, depth))
            labels.append(0)
    return Prompts(
        box=box_arr,
        points=np.array(points, dtype=np.float32).reshape(-1, 2),
        labels=np.array(labels, dtype=np.int32),
    )


def _deepest(mask: np.ndarray, depth: np.ndarray | None = None) -> tuple[float, float]:
    """(x, y) of the point farthest from the mask's edge."""
    if depth is None:
        depth = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(np.where(mask, depth, -1))), mask.shape)
    return float(x), float(y)


# --- SAM candidates against saliency ----------------------------------------------------------


def rank_by_agreement(
    masks: Sequence[np.ndarray], saliency: np.ndarray
) -> list[tuple[int, float]]:
    """(index, IoU with the saliency mask) of each candidate, best first (stable on ties)."""
    target = saliency >= THRESHOLD
    scores = [(i, iou(m.astype(bool), target)) for i, m in enumerate(masks)]
    return sorted(scores, key=lambda s: -s[1])


def fuse(
    sam_mask: np.ndarray, saliency: np.ndarray, *, holes_saliency: np.ndarray | None = None
) -> Fused:
    """SAM's crisp edge where it agrees with saliency; where saliency is sure (<= SURE_LOW or
    >= SURE_HIGH) and SAM says otherwise, saliency's verdict. A SAM mask that is another
    object (IoU < MIN_AGREEMENT) is ignored: the result is the saliency alone, flagged
    ``fallback``. Holes stay open where ``holes_saliency`` (default: ``saliency``) is sure
    they are background (``fill_holes``); pass the whole map when ``saliency`` is one part
    of it, whose holes are zeroed."""
    sam = sam_mask.astype(bool)
    saliency = np.clip(saliency.astype(np.float32), 0.0, 1.0)
    holes_saliency = saliency if holes_saliency is None else holes_saliency
    agreement = iou(sam, saliency >= THRESHOLD)
    if agreement < MIN_AGREEMENT:
        return Fused(clean_alpha(saliency, saliency=holes_saliency), agreement, True)
    alpha = sam.astype(np.float32)
    # Where SAM leaked onto sure background, or missed a surely salient part, saliency decides
    # there and over its soft band around (a few px): that edge is saliency's, not a hard cut.
    verdict = np.where(saliency >= SURE_HIGH, 1.0, np.where(saliency <= SURE_LOW, 0.0, saliency))
    band = max(4.0, 0.01 * max(sam.shape))
    for wrong, side in (
        (sam & (saliency <= SURE_LOW), sam),
        (~sam & (saliency >= SURE_HIGH), ~sam),
    ):
        if wrong.any():
            zone = (ndimage.distance_transform_edt(~wrong) <= band) & side
            alpha[zone] = verdict[zone]
    return Fused(clean_alpha(alpha, saliency=holes_saliency), agreement, False)


# --- candidates for "Wrong object?" -----------------------------------------------------------


def distinct(masks: Sequence[np.ndarray], ids: Sequence[int] | None = None) -> list[int]:
    """Ids (default: positions) of the masks, in order, skipping empty ones and any that
    repeats an earlier kept mask (IoU > DISTINCT_IOU)."""
    ids = list(range(len(masks))) if ids is None else list(ids)
    kept: list[int] = []
    kept_masks: list[np.ndarray] = []
    for ident, mask in zip(ids, masks, strict=True):
        mask = mask.astype(bool)
        if not mask.any() or any(iou(mask, other) > DISTINCT_IOU for other in kept_masks):
            continue
        kept.append(ident)
        kept_masks.append(mask)
    return kept


def saliency_components(saliency: np.ndarray, *, max_count: int = 4) -> list[np.ndarray]:
    """Alternatives from saliency alone: each big component on its own, largest (by summed
    saliency) first. Empty when there is only one object."""
    mask = remove_specks(saliency >= THRESHOLD, 0.05)
    labels, areas = components(mask)
    if areas.size < 2:
        return []
    weight = ndimage.sum_labels(saliency, labels, index=np.arange(1, areas.size + 1))
    order = np.argsort(-np.asarray(weight), kind="stable")[:max_count]
    return [labels == i + 1 for i in order]
