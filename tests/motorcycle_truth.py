"""A truth for the wheels of scikit-image's motorcycle (``skimage.data.stereo_motorcycle``),
from the stereo disparity map that ships with it (Middlebury 2014, measured with structured
light: not a model's guess, and independent of ISNet).

Inside each wheel (an ellipse just inside the tyre, set by hand on this fixed 500x741 photo),
a wheel is a plane: its disparity is affine in (x, y). The plane is fitted to the pixels ISNet
is sure of (saliency >= 0.9: tyre, rim, hub) and refitted on its inliers; a pixel whose
disparity is more than ``BEHIND`` px below the plane (~30 cm behind the wheel at its ~4 m)
is the floor or the garage seen between the spokes: background. Everything else in the wheel
(spokes, hub, brake disc, the exhaust and the fork in front) is the motorcycle. Pixels with no
disparity (occluded in the right view, specular chrome) are unknown and left out of every
count.

Outside the wheels no independent truth is at hand, and ``fill_holes`` decides nothing there
(the gaps between the spokes are the motorcycle's only holes on the model's map): there the
reference is the cut itself, so the whole-photo IoU differs from 1 only by the wheels.
``wheel_iou`` is the sharper figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage import data as skdata

#: (centre x, centre y, semi-axis x, semi-axis y) of the two wheels' insides, in pixels
WHEELS = ((205, 322, 60, 58), (597, 372, 58, 62))
#: disparity px below the wheel's plane from which a pixel is behind the wheel
BEHIND = 3.0
SURE = 0.9


@dataclass(frozen=True)
class WheelTruth:
    inside: np.ndarray  # bool H×W: the wheels' insides
    background: np.ndarray  # bool: inside and behind the wheel's plane
    known: np.ndarray  # bool: pixels with a measured disparity


def wheel_truth(saliency: np.ndarray) -> WheelTruth:
    """The wheels' background pixels from the disparity, the plane fitted where ``saliency``
    (ISNet's map of the left photo, 500x741) is sure."""
    disparity = skdata.stereo_motorcycle()[2].astype(np.float64)
    known = np.isfinite(disparity)
    h, w = disparity.shape
    yy, xx = np.mgrid[:h, :w]
    inside = np.zeros((h, w), bool)
    background = np.zeros((h, w), bool)
    for cx, cy, ax, ay in WHEELS:
        disc = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1
        fit = disc & known & (saliency >= SURE)
        plane = np.zeros((h, w))
        for _ in range(5):
            design = np.c_[xx[fit], yy[fit], np.ones(int(fit.sum()))]
            coef, *_ = np.linalg.lstsq(design, disparity[fit], rcond=None)
            plane = coef[0] * xx + coef[1] * yy + coef[2]
            fit = disc & known & (saliency >= SURE) & (np.abs(disparity - plane) < 2)
        inside |= disc
        background |= disc & known & (disparity < plane - BEHIND)
    return WheelTruth(inside, background, known)


def truth_mask(cut: np.ndarray, truth: WheelTruth) -> np.ndarray:
    """The whole-photo reference: ``cut`` outside the wheels, the disparity's verdict inside."""
    return np.where(truth.inside, ~truth.background, cut)


def scores(alpha: np.ndarray, truth: WheelTruth, reference: np.ndarray) -> dict[str, float]:
    """IoU with the truth over the known pixels (whole photo and wheels only), and how many
    background pixels of the wheels the cut keeps."""
    cut = alpha >= 0.5
    whole = truth_mask(reference, truth)
    known = truth.known

    def iou(mask: np.ndarray) -> float:
        union = ((cut | whole) & mask).sum()
        return float((cut & whole & mask).sum() / union) if union else 1.0

    return {
        "iou": iou(known),
        "wheel_iou": iou(known & truth.inside),
        "kept_background": int((cut & truth.background).sum()),
        "wheel_background": int(truth.background.sum()),
    }
