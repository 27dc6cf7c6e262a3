"""Holes stay open where the REAL ISNet is sure they are background (issue 31, goal 5).

scikit-image's motorcycle: the gaps between its spokes, judged against the stereo disparity
that ships with the photo (tests/motorcycle_truth.py), before (every hole under HOLE_SHARE
filled: ``clean_alpha`` without the saliency) and after (the cut as ``ObjectCutter`` makes
it). The generated marketplace photos (tests/marketplace_photos.py, drawn masks as truth):
the IoU stays >= 0.95. Marked ``realweights`` (`make quality`); run with -s for the figures.
"""

from __future__ import annotations

import pytest
from PIL import Image
from skimage import data as skdata

from services.imaging import masks as M
from services.operations.cutout import ObjectCutter
from tests.marketplace_photos import draw_clean_bad_background, draw_clean_good_background
from tests.motorcycle_truth import scores, wheel_truth
from tests.test_cutout_realweights import WEIGHTS, _skip_reason

pytestmark = [
    pytest.mark.realweights,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]

#: the issue's floor for the cut's IoU with the truth
FLOOR = 0.95


@pytest.fixture(scope="module")
def isnet_cutter() -> ObjectCutter:
    return ObjectCutter(WEIGHTS, "cpu")


def test_the_motorcycles_spoke_gaps_stay_open(isnet_cutter: ObjectCutter) -> None:
    left = skdata.stereo_motorcycle()[0]
    image = Image.fromarray(left)
    saliency = isnet_cutter.isnet.predict(image).probability
    assert saliency.shape == left.shape[:2]
    truth = wheel_truth(saliency)
    before = M.clean_alpha(saliency)  # the old rule: every hole under HOLE_SHARE filled
    after = isnet_cutter.cut(image).alpha
    reference = before >= M.THRESHOLD  # outside the wheels (where both cuts agree)
    old, new = scores(before, truth, reference), scores(after, truth, reference)
    print(  # noqa: T201 - the figures the issue asks for, shown with -s
        f"\nmotorcycle: wheel background px {old['wheel_background']}, kept before "
        f"{old['kept_background']} after {new['kept_background']}; IoU before "
        f"{old['iou']:.3f} after {new['iou']:.3f}; wheels alone {old['wheel_iou']:.3f} -> "
        f"{new['wheel_iou']:.3f}"
    )
    assert truth.background.sum() > 2000  # the disparity does see the floor through the gaps
    assert new["kept_background"] < 0.6 * old["kept_background"]
    assert new["iou"] > old["iou"] + 0.01 and new["wheel_iou"] > old["wheel_iou"] + 0.05
    assert new["iou"] >= FLOOR


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "draw", [draw_clean_good_background, draw_clean_bad_background], ids=["plain", "busy"]
)
def test_generated_photos_keep_their_iou(isnet_cutter: ObjectCutter, draw, seed: int) -> None:
    """Solid products (no real holes): the new rule may open a hole where ISNet is sure but
    wrong; the IoU stays >= FLOOR wherever it was, and never drops by more than 0.01."""
    photo = draw(seed)
    saliency = isnet_cutter.isnet.predict(photo.image).probability
    before = M.iou(M.clean_alpha(saliency) >= M.THRESHOLD, photo.object_mask)
    after = M.iou(M.clean_alpha(saliency, saliency=saliency) >= M.THRESHOLD, photo.object_mask)
    print(f"\n{draw.__name__}({seed}): IoU before {before:.4f} after {after:.4f}")  # noqa: T201
    assert after >= min(FLOOR, before) and after >= before - 0.01
