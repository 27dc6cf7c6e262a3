"""Mask rules on synthetic arrays (services/imaging/masks.py, automasks.py): exact, no model."""

from __future__ import annotations

import numpy as np
import pytest

from services.imaging import automasks as A
from services.imaging import masks as M

H, W = 90, 120


def disc(cy: float = 45, cx: float = 60, r: float = 22, shape: tuple[int, int] = (H, W)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def soft(mask: np.ndarray, inside: float = 0.97, outside: float = 0.02) -> np.ndarray:
    """A saliency-like map: sure inside and outside, a soft band over the edge."""
    from scipy import ndimage

    inner = ndimage.distance_transform_edt(mask)
    outer = ndimage.distance_transform_edt(~mask)
    signed = np.where(mask, inner, -outer)  # >0 inside
    ramp = np.clip((signed + 2.0) / 4.0, 0.0, 1.0)
    return (outside + (inside - outside) * ramp).astype(np.float32)


OBJECT = disc()
SALIENCY = soft(OBJECT)


def candidate_set() -> dict[str, np.ndarray]:
    """The usual suspects SAM offers for a product on a table."""
    speck = np.zeros((H, W), bool)
    speck[5:8, 100:103] = True
    half = OBJECT.copy()
    half[:, 60:] = False
    other = np.zeros((H, W), bool)
    other[60:85, 2:30] = True  # another thing, off the product
    return {
        "background": ~OBJECT,  # the largest mask, touching every border
        "speck": speck,
        "object": disc(r=21.5),  # SAM's crisp edge, a hair inside saliency's soft one
        "half": half,  # the object split in two
        "elsewhere": other,  # a mask that disagrees with saliency
    }


# --- cleaning -------------------------------------------------------------------------------


def test_clean_alpha_removes_specks_and_fills_small_holes_only() -> None:
    alpha = OBJECT.astype(np.float32)
    alpha[3:5, 3:5] = 1.0  # a speck far away
    alpha[44:47, 59:62] = 0.0  # a small hole (9 px)
    ring = disc(r=12, cx=60) & ~disc(r=6, cx=60)
    big = np.zeros((H, W), np.float32)
    big[ring] = 1.0  # a ring: its 113 px hole is a real opening (like a mug's handle)
    cleaned = M.clean_alpha(alpha)
    assert cleaned[3:5, 3:5].max() == 0.0
    assert cleaned[44:47, 59:62].min() == 1.0
    np.testing.assert_array_equal(cleaned[OBJECT], 1.0)
    np.testing.assert_array_equal(cleaned[~OBJECT], 0.0)
    ring_clean = M.clean_alpha(big)
    assert ring_clean[45, 60] == 0.0 and ring_clean[ring].min() == 1.0
    assert cleaned.dtype == np.float32


def test_clean_alpha_keeps_the_soft_edge_of_kept_parts() -> None:
    cleaned = M.clean_alpha(SALIENCY)
    band = (SALIENCY > 0.05) & (SALIENCY < 0.95)
    np.testing.assert_allclose(cleaned[band], SALIENCY[band])  # not feathered, not cut
    assert cleaned[0, 0] == 0.0  # the faint floor (0.02) outside is not kept
    assert M.clean_alpha(np.zeros((4, 4), np.float32)).max() == 0.0


# --- holes: open where the model is sure they are background (issue 31, goal 5) ------------

BIG = (200, 300)


def wheel() -> tuple[np.ndarray, list[np.ndarray]]:
    """A wheel: a disc with eight windows between its spokes, each ~1 % of the wheel (small
    enough that size alone would fill them)."""
    yy, xx = np.mgrid[: BIG[0], : BIG[1]]
    radius = np.hypot(yy - 100, xx - 150)
    angle = np.degrees(np.arctan2(yy - 100, xx - 150)) % 45
    shape = radius <= 80
    windows = []
    for k in range(8):
        sector = (np.degrees(np.arctan2(yy - 100, xx - 150)) % 360) // 45 == k
        window = sector & (radius > 45) & (radius < 55) & (angle > 12) & (angle < 33)
        windows.append(window)
        shape &= ~window
    return shape, windows


def mug() -> tuple[np.ndarray, list[np.ndarray]]:
    """A big mug whose small handle's inside is ~0.9 % of the mug."""
    shape = np.zeros(BIG, bool)
    shape[30:180, 60:200] = True  # the body
    shape[70:130, 200:225] = True  # the handle
    inside = np.zeros(BIG, bool)
    inside[90:110, 200:210] = True
    return shape & ~inside, [inside]


def chair_back() -> tuple[np.ndarray, list[np.ndarray]]:
    """A chair: seat, legs, and a back of slats whose gaps are ~0.7 % of the chair each."""
    shape = np.zeros(BIG, bool)
    shape[5:110, 60:240] = True  # the back
    shape[110:140, 70:230] = True  # the seat
    shape[140:195, 75:90] = True  # the legs
    shape[140:195, 210:225] = True
    gaps = []
    for x in range(80, 220, 25):
        gap = np.zeros(BIG, bool)
        gap[25:55, x : x + 6] = True
        gaps.append(gap)
        shape &= ~gap
    return shape, gaps


@pytest.mark.parametrize("make", [wheel, mug, chair_back], ids=["wheel", "mug", "chair"])
def test_holes_the_model_is_sure_are_background_stay_open(make) -> None:
    shape, holes = make()
    saliency = soft(shape)
    area = shape.sum()
    for hole in holes:
        assert M.HOLE_SPECK_SHARE * area < hole.sum() < M.HOLE_SHARE * area  # size alone fills
    before = M.clean_alpha(saliency)  # without the saliency's verdict: every hole filled
    after = M.clean_alpha(saliency, saliency=saliency)
    for hole in holes:
        assert before[hole].min() == 1.0
        assert after[hole].max() < 0.5 and np.median(after[hole]) < 0.1  # open
        soft_edge = hole & (saliency > 0.05)
        np.testing.assert_allclose(after[soft_edge], saliency[soft_edge])  # not feathered
    np.testing.assert_array_equal(after[shape], before[shape])  # the object itself unchanged
    fused = M.fuse(shape, saliency)  # SAM's crisp mask of the same object
    assert not fused.fallback
    for hole in holes:
        assert np.median(fused.alpha[hole]) < 0.1


@pytest.mark.parametrize("make", [wheel, mug, chair_back], ids=["wheel", "mug", "chair"])
def test_holes_where_the_model_hesitates_are_filled(make) -> None:
    shape, holes = make()
    saliency = soft(shape)
    rng = np.random.default_rng(1)
    for hole in holes:  # the model unsure there: 0.3-0.45, below the 0.5 cut
        saliency[hole] = rng.uniform(0.3, 0.45, int(hole.sum()))
    after = M.clean_alpha(saliency, saliency=saliency)
    for hole in holes:
        assert after[hole].min() == 1.0


def test_a_speck_of_a_hole_is_filled_even_where_the_model_says_background() -> None:
    shape, _ = mug()
    saliency = soft(shape)
    speck = np.zeros(BIG, bool)
    speck[100:102, 120:122] = True  # 4 px, far below HOLE_SPECK_SHARE of the mug
    assert speck.sum() <= M.HOLE_SPECK_SHARE * shape.sum()
    saliency[speck] = 0.0
    after = M.clean_alpha(saliency, saliency=saliency)
    assert after[speck].min() == 1.0


def test_fill_holes_is_pure_and_keeps_big_openings_open_either_way() -> None:
    ring = disc(r=30) & ~disc(r=12)  # a finger ring: its hole is 16 % of it
    saliency = soft(ring)
    before = saliency.copy()
    for judged in (None, saliency):
        filled = M.fill_holes(ring, judged)
        assert not filled[45, 60] and filled.sum() == ring.sum()
    np.testing.assert_array_equal(saliency, before)  # the inputs are not touched
    uncertain = np.where(disc(r=12), 0.4, saliency).astype(np.float32)
    assert not M.fill_holes(ring, uncertain)[45, 60]  # too big to fill, however unsure


def test_a_part_judges_its_holes_by_the_whole_map() -> None:
    """A part's own map zeroes its holes; fuse(holes_saliency=) lets the whole map judge."""
    shape, windows = wheel()
    saliency = soft(shape)
    for window in windows:
        saliency[window] = 0.4  # unsure
    part = np.where(shape, saliency, 0.0).astype(np.float32)
    zeroed = M.fuse(shape, part)
    judged = M.fuse(shape, part, holes_saliency=saliency)
    for window in windows:
        assert zeroed.alpha[window].max() < 0.5 and judged.alpha[window].min() == 1.0


# --- prompts --------------------------------------------------------------------------------


def test_prompts_box_and_deepest_points() -> None:
    prompts = M.prompts_from_saliency(SALIENCY, margin=0.0)
    assert prompts is not None
    x0, y0, x1, y1 = prompts.box
    assert (x0, y0, x1, y1) == (38, 23, 82, 67)  # the disc's bounding box
    assert prompts.labels[0] == 1
    np.testing.assert_allclose(prompts.points[0], (60, 45))  # its centre, the deepest point
    assert M.prompts_from_saliency(np.zeros((H, W), np.float32)) is None


def test_prompts_put_a_negative_point_in_real_background_inside_the_box() -> None:
    u_shape = np.zeros((H, W), bool)
    u_shape[10:80, 20:100] = True
    u_shape[10:60, 40:80] = False  # a deep notch from the top
    prompts = M.prompts_from_saliency(soft(u_shape))
    assert prompts is not None
    negatives = prompts.points[prompts.labels == 0]
    positives = prompts.points[prompts.labels == 1]
    assert len(negatives) == 1
    x, y = negatives[0]
    assert 40 <= x < 80 and 10 <= y < 60  # inside the notch
    assert all(u_shape[int(py), int(px)] for px, py in positives)


def test_prompts_one_positive_per_big_component_speck_ignored() -> None:
    two = disc(cx=30, r=15) | disc(cx=90, r=12)
    two[2:4, 2:4] = True
    prompts = M.prompts_from_saliency(soft(two))
    assert prompts is not None
    positives = prompts.points[prompts.labels == 1]
    assert sorted(int(x) for x, _ in positives) == [30, 90]


# --- choosing SAM's mask with saliency ------------------------------------------------------


def test_choice_picks_the_object_over_background_speck_half_and_elsewhere() -> None:
    candidates = candidate_set()
    names = list(candidates)
    ranked = M.rank_by_agreement(list(candidates.values()), SALIENCY)
    assert names[ranked[0][0]] == "object"
    assert ranked[0][1] > 0.9
    assert names[ranked[1][0]] == "half"  # part of the object beats everything else
    assert {names[i] for i, _ in ranked[2:]} == {"background", "speck", "elsewhere"}


def test_fuse_takes_sams_edge_where_they_agree() -> None:
    sam = disc(r=21.5)
    fused = M.fuse(sam, SALIENCY)
    assert not fused.fallback and fused.agreement > 0.9
    np.testing.assert_array_equal(fused.alpha, sam.astype(np.float32))  # crisp, SAM's edge


def test_fuse_lets_sure_saliency_overrule_sam() -> None:
    sam = OBJECT.copy()
    sam[40:50, 85:110] = True  # SAM leaks onto the table, where saliency is sure it is not
    sam[40:50, 40:50] = False  # and misses a part saliency is sure about
    fused = M.fuse(sam, SALIENCY)
    assert not fused.fallback
    assert fused.alpha[40:50, 90:110].max() == 0.0  # the leak is gone (and no speck left)
    np.testing.assert_array_equal(fused.alpha[40:50, 42:50], 1.0)  # the gap is filled
    assert fused.alpha[45, 60] == 1.0


def test_a_part_sam_missed_comes_back_with_saliencys_soft_edge() -> None:
    big, small = disc(cx=45, r=22), disc(cx=100, r=10)
    saliency = np.maximum(soft(big), soft(small))
    fused = M.fuse(big, saliency)  # SAM took the big object only
    assert not fused.fallback
    small_band = (saliency > M.SURE_LOW) & (saliency < M.SURE_HIGH) & disc(cx=100, r=14)
    np.testing.assert_allclose(
        fused.alpha[small_band], saliency[small_band]
    )  # soft, not cut at 0.9
    assert fused.alpha[45, 100] == 1.0 and fused.alpha[45, 45] == 1.0
    np.testing.assert_array_equal(fused.alpha[disc(cx=45, r=26)], big[disc(cx=45, r=26)])


def test_a_sam_mask_that_disagrees_everywhere_falls_back_to_saliency(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(0)
    noise = rng.random((H, W)) > 0.5  # what random SAM weights produce
    for sam in (noise, candidate_set()["elsewhere"], candidate_set()["background"]):
        fused = M.fuse(sam, SALIENCY)
        assert fused.fallback and fused.agreement < M.MIN_AGREEMENT
        np.testing.assert_array_equal(fused.alpha, M.clean_alpha(SALIENCY))


# --- without saliency: SAM's automatic masks ------------------------------------------------


def auto(mask: np.ndarray, iou: float = 0.95, stability: float = 0.97) -> A.AutoMask:
    return A.AutoMask(mask, iou, stability)


def test_auto_ranking_puts_the_object_first_and_drops_background_and_specks() -> None:
    c = candidate_set()
    items = [
        auto(c["background"], 0.99, 0.99),
        auto(c["speck"]),
        auto(c["half"]),
        auto(c["elsewhere"]),
        auto(c["object"]),
    ]
    order, rule = A.rank_auto_masks(items)
    assert rule == "scored"
    assert order[0] == 4  # the object
    assert 0 not in order and 1 not in order  # background (4 sides) and speck are out
    assert set(order) <= {2, 3, 4}


def test_auto_ranking_prefers_reliable_masks() -> None:
    c = candidate_set()
    shaky = auto(c["object"], iou=0.3, stability=0.5)
    items = [shaky, auto(c["elsewhere"])]
    order, _ = A.rank_auto_masks(items)
    assert order == [1]  # only reliable masks compete while one exists
    order, _ = A.rank_auto_masks([shaky, auto(c["elsewhere"], iou=0.2, stability=0.4)])
    assert order[0] == 0  # none is reliable: all compete, the central object wins


def test_auto_ranking_border_contact_and_centrality() -> None:
    shelf = np.zeros((H, W), bool)
    shelf[70:, :] = True  # touches three sides
    corner = np.zeros((H, W), bool)
    corner[:30, :30] = True  # touches two sides, off centre
    order, _ = A.rank_auto_masks([auto(shelf), auto(corner), auto(OBJECT)])
    assert order == [2, 1]


def test_largest_is_background_rule_comes_last() -> None:
    shelf = np.zeros((H, W), bool)
    shelf[70:, :] = True
    items = [auto(~OBJECT & ~shelf), auto(shelf)]  # every mask is background-like
    order, rule = A.rank_auto_masks(items)
    assert (order, rule) == ([-1], "largest-is-background")
    np.testing.assert_array_equal(A.complement_of_largest(items), OBJECT | shelf)
    assert A.rank_auto_masks([]) == ([], "none")


# --- candidates for "Wrong object?" ---------------------------------------------------------


def test_distinct_skips_repeats_and_empty_masks() -> None:
    c = candidate_set()
    masks = [c["object"], OBJECT, np.zeros((H, W), bool), c["half"], c["elsewhere"]]
    assert M.distinct(masks) == [0, 3, 4]
    assert M.distinct(masks, [10, 11, 12, 13, 14]) == [10, 13, 14]


def test_saliency_components_largest_first() -> None:
    two = soft(disc(cx=30, r=10) | disc(cx=90, r=16))
    parts = M.saliency_components(two)
    assert len(parts) == 2
    assert parts[0][45, 90] and not parts[0][45, 30]
    assert parts[1][45, 30]
    assert M.saliency_components(SALIENCY) == []


def test_border_helpers() -> None:
    assert A.border_sides(~OBJECT) == 4 and A.border_sides(OBJECT) == 0
    assert A.border_contact(~OBJECT) == 1.0 and A.border_contact(OBJECT) == 0.0
    assert M.bbox(np.zeros((3, 3), bool)) is None
    assert M.iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
