"""Straightening: verticals made vertical and the horizon level (numpy + OpenCV, no model).

Line segments (OpenCV LSD) within 30° of vertical vote, by RANSAC over pairs, for the vertical
vanishing point (VP), in homogeneous coordinates so that parallel verticals (a VP at infinity)
need no special case. A rotation removes the roll (the VP's lean seen from the centre), then a
pure perspective term sends the VP to infinity: the inliers become parallel and vertical while
the centre keeps its position, scale and orientation. The largest rectangle at the original
aspect inside the warped frame is scaled back to the input's size, all in one warp.

Conservative: too few consistent lines, a VP inside the frame, a correction past
`MAX_DEGREES` or one that would keep too little of the frame leave the photo as it was.
Angles are signed as seen on screen: positive when a vertical's top leans right, i.e. the
content is turned clockwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

MIN_LINES = 6  # fewest consistent near-vertical lines to act
MAX_DEGREES = 15.0  # the largest correction allowed
TOLERANCE = 0.5  # degrees: below this everything already counts as straight

WORK_SIDE = 1024  # lines are found on a copy this long: speed, and LSD's scale
MIN_LENGTH = 0.025  # shortest segment kept, as a share of the working long side
NEAR = 30.0  # degrees from vertical (or horizontal) for a segment to be a candidate
INLIER_DEGREES = 1.0  # a segment agrees with a VP when its direction is this close to it
#: Texture (fur, grass, cells) lets a random VP collect a few lines by chance; real verticals
#: carry at least this share of the near-vertical segments' length and one frame's length.
MIN_SHARE = 0.25
MIN_TOTAL = 1.0  # inliers' summed length, in long sides of the photo
ITERATIONS = 500
HYPOTHESIS_LINES = 300  # RANSAC pairs are drawn from the longest segments only
MIN_KEPT = 0.5  # the crop must keep at least this share of the frame's area
CENTRING_SLACK = 0.02  # the crop may be this much smaller to sit nearer the centre
SEED = 0


@dataclass(frozen=True)
class Tilt:
    vertical: float | None  # largest deviation from vertical of the consistent lines
    horizon: float | None  # roll, signed (see the module's docstring); None: cannot tell
    lines: int  # consistent near-vertical lines (RANSAC inliers)


@dataclass(frozen=True)
class Straightened:
    image: np.ndarray  # RGB uint8; the input array itself when unchanged
    changed: bool
    angle: float  # degrees corrected: the largest vertical's correction (0.0 when unchanged)
    roll: float  # degrees of roll removed (signed)
    lines: int
    reason: str | None  # unchanged: "few_lines" | "too_steep" | "straight"; None when changed
    #: 3x3, input pixel coordinates -> output pixel coordinates (None when unchanged)
    homography: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _Fit:
    tilt: Tilt
    vp: np.ndarray | None  # homogeneous, full-resolution pixel coordinates
    inliers: np.ndarray  # (N, 4) the consistent near-vertical segments, full resolution


def _lean(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Degrees from vertical of direction (dx, dy), y down; positive when the top leans right."""
    flip = np.where(dy > 0, -1.0, 1.0)  # point every direction upwards
    return np.degrees(np.arctan2(dx * flip, -dy * flip))


def _segments(image: np.ndarray) -> np.ndarray:
    """LSD segments (N, 4: x1 y1 x2 y2) in full-resolution pixel coordinates."""
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    found = cv2.createLineSegmentDetector().detect(grey)[0]
    if found is None:
        return np.empty((0, 4))
    seg = found.reshape(-1, 4).astype(np.float64)
    length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
    seg = seg[length >= MIN_LENGTH * max(grey.shape)]
    return (seg + 0.5) / scale - 0.5  # pixel centres at integers on both scales


def _residuals(vps: np.ndarray, mid: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Degrees between each segment (N) and the direction from its middle to each VP (K, 3)."""
    dx = vps[:, :1] - mid[None, :, 0] * vps[:, 2:]
    dy = vps[:, 1:2] - mid[None, :, 1] * vps[:, 2:]
    norm = np.hypot(dx, dy)
    sine = np.abs(unit[None, :, 0] * dy - unit[None, :, 1] * dx) / np.maximum(norm, 1e-12)
    return np.where(norm > 1e-9, np.degrees(np.arcsin(np.clip(sine, 0.0, 1.0))), 90.0)


def _horizon(lean: np.ndarray, length: np.ndarray, need: int, side: int) -> float | None:
    """Roll from near-horizontal segments: their length-weighted median angle, if enough agree.

    Only a fallback for /check when the verticals cannot tell: perspective tilts horizontals.
    """
    angle = np.where(lean > 0, lean - 90.0, lean + 90.0)  # clockwise angle of the line
    flat = np.abs(angle) <= NEAR
    if flat.sum() < need:
        return None
    a, w = angle[flat], length[flat]
    order = np.argsort(a)
    cumulative = np.cumsum(w[order])
    median = float(a[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    agree = np.abs(a - median) <= INLIER_DEGREES
    enough = agree.sum() >= need and w[agree].sum() >= max(MIN_SHARE * w.sum(), MIN_TOTAL * side)
    return median if enough else None


def _fit(image: np.ndarray, min_lines: int) -> _Fit:
    h, w = image.shape[:2]
    seg = _segments(image)
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    lean = _lean(d[:, 0], d[:, 1])
    horizon = _horizon(lean, length, min_lines, max(w, h))
    upright = np.abs(lean) <= NEAR
    if upright.sum() < max(2, min_lines):
        return _Fit(Tilt(None, horizon, int(upright.sum())), None, seg[:0])
    seg, length = seg[upright], length[upright]
    # Normalised coordinates (centre 0, long half-side 1) keep the algebra well conditioned.
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    half = max(w, h) / 2
    a = (seg[:, :2] - centre) / half
    b = (seg[:, 2:] - centre) / half
    mid, unit = (a + b) / 2, (b - a) / (length[:, None] / half)
    ones = np.ones((len(seg), 1))
    lines = np.cross(np.hstack([a, ones]), np.hstack([b, ones]))
    lines /= np.hypot(lines[:, 0], lines[:, 1])[:, None]

    rng = np.random.default_rng(SEED)
    pool = np.argsort(-length)[:HYPOTHESIS_LINES]
    i, j = rng.integers(0, len(pool), (2, ITERATIONS))
    vps = np.cross(lines[pool[i]], lines[pool[j]])
    norm = np.linalg.norm(vps, axis=1)
    vps = vps[(i != j) & (norm > 1e-12)] / norm[(i != j) & (norm > 1e-12), None]
    if not len(vps):
        return _Fit(Tilt(None, horizon, 0), None, seg[:0])
    scores = ((_residuals(vps, mid, unit) <= INLIER_DEGREES) * length).sum(axis=1)
    vp = vps[np.argmax(scores)]
    inliers = _residuals(vp[None], mid, unit)[0] <= INLIER_DEGREES
    for _ in range(3):  # refine: the unit vector closest to every inlier line (least squares)
        if inliers.sum() < 2:
            break
        weighted = lines[inliers] * np.sqrt(length[inliers])[:, None]
        vp = np.linalg.eigh(weighted.T @ weighted)[1][:, 0]
        inliers = _residuals(vp[None], mid, unit)[0] <= INLIER_DEGREES
    count = int(inliers.sum())
    agreeing = length[inliers].sum()
    inside = abs(vp[2]) > 1e-12 and bool(
        np.all(np.abs(vp[:2] / vp[2]) <= np.array([w, h]) / (2 * half))
    )
    chance = agreeing < MIN_SHARE * length.sum() or agreeing < MIN_TOTAL * max(w, h)
    if count < min_lines or inside or chance:
        return _Fit(Tilt(None, horizon, count), None, seg[inliers])
    m = mid[inliers]
    vertical = float(np.abs(_lean(vp[0] - m[:, 0] * vp[2], vp[1] - m[:, 1] * vp[2])).max())
    roll = float(_lean(np.array(vp[0]), np.array(vp[1])))
    full = np.array([vp[0], vp[1], vp[2] / half])  # back to pixels, centred
    full[:2] += centre * full[2]
    return _Fit(Tilt(vertical, roll, count), full / np.linalg.norm(full), seg[inliers])


def measure_tilt(image: np.ndarray) -> Tilt:
    """RGB uint8 HxWx3 -> how tilted its verticals and horizon are (for /check)."""
    return _fit(image, MIN_LINES).tilt


def vertical_lines(image: np.ndarray) -> np.ndarray:
    """(N, 4) x1 y1 x2 y2: the segments agreeing on the best vertical VP, even a refused one."""
    return _fit(image, MIN_LINES).inliers


def _correction(vp: np.ndarray, roll: float, w: int, h: int) -> np.ndarray:
    """Roll removal, then a perspective term sending the VP to vertical infinity; centre fixed."""
    c = np.array([[1.0, 0, -(w - 1) / 2], [0, 1, -(h - 1) / 2], [0, 0, 1]])
    t = np.radians(-roll)  # turn the content back (y down: positive angles turn clockwise)
    r = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    _, y, z = r @ c @ vp  # x is ~0 now: the VP is straight above or below the centre
    k = np.eye(3)
    if abs(z) > 1e-12 * abs(y):
        k[2, 1] = -z / y  # (0, y, z) -> (0, y, 0)
    return np.linalg.inv(c) @ k @ r @ c


def _crop(quad: np.ndarray, w: int, h: int) -> tuple[float, float, float] | None:
    """Largest (cx, cy, half-height) rectangle at aspect w:h in a convex quad, near its centre."""
    aspect = (w - 1) / (h - 1)
    edges = np.roll(quad, -1, axis=0) - quad
    normal = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    normal *= np.sign(((quad.mean(axis=0) - quad) * normal).sum(axis=1))[:, None]  # inwards
    # s <= f_k(c) = (n_k.c - n_k.p_k) / (|nx| aspect + |ny|): a linear programme in (cx, cy, s)
    denominator = np.abs(normal[:, 0]) * aspect + np.abs(normal[:, 1])
    alpha = normal / denominator[:, None]
    beta = -(normal * quad).sum(axis=1) / denominator

    def size(c: np.ndarray) -> np.ndarray:
        return (c @ alpha.T + beta).min(axis=-1)

    centre = np.array([(w - 1) / 2, (h - 1) / 2])  # the correction keeps it in place
    best = centre
    for skip in range(4):  # the optimum lies where three of the four constraints meet
        rows = [k for k in range(4) if k != skip]
        system = np.hstack([alpha[rows], -np.ones((3, 1))])
        if abs(np.linalg.det(system)) < 1e-12:
            continue
        c = np.linalg.solve(system, -beta[rows])[:2]
        if size(c) > size(best):
            best = c
    if size(best) <= 0:
        return None
    target = size(best) * (1 - CENTRING_SLACK)
    path = centre + np.linspace(0.0, 1.0, 101)[:, None] * (best - centre)
    c = path[np.argmax(size(path) >= target)]
    return float(c[0]), float(c[1]), float(size(c))


def straighten(
    image: np.ndarray,
    *,
    min_lines: int = MIN_LINES,
    max_degrees: float = MAX_DEGREES,
    tolerance: float = TOLERANCE,
) -> Straightened:
    """RGB uint8 HxWx3 -> the photo with its verticals vertical and its roll removed."""
    fit = _fit(image, min_lines)

    def unchanged(reason: str) -> Straightened:
        return Straightened(image, False, 0.0, 0.0, fit.tilt.lines, reason)

    if fit.vp is None or fit.tilt.vertical is None:
        return unchanged("few_lines")
    vertical, roll = fit.tilt.vertical, fit.tilt.horizon or 0.0
    if max(vertical, abs(roll)) > max_degrees:
        return unchanged("too_steep")
    if vertical < tolerance and abs(roll) < tolerance:
        return unchanged("straight")
    h, w = image.shape[:2]
    matrix = _correction(fit.vp, roll, w, h)
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [w - 1, h - 1, 1], [0, h - 1, 1]], float)
    mapped = corners @ matrix.T
    if np.any(mapped[:, 2] <= 0.05):  # the frame would fold over the horizon
        return unchanged("too_steep")
    rect = _crop(mapped[:, :2] / mapped[:, 2:], w, h)
    margin = 1.0  # pixels: the interpolation's fixed-point rounding at the very edge
    full = np.full((h, w), 255, np.uint8)
    for _ in range(5):
        if rect is None or (rect[2] - margin) * 2 / (h - 1) < np.sqrt(MIN_KEPT):
            return unchanged("too_steep")
        cx, cy, s = rect[0], rect[1], rect[2] - margin
        scale = (h - 1) / (2 * s)
        x0, y0 = cx - s * (w - 1) / (h - 1), cy - s
        fit_crop = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale], [0, 0, 1]])
        homography = fit_crop @ matrix
        mask = cv2.warpPerspective(full, homography, (w, h), flags=cv2.INTER_LINEAR)
        if mask.min() == 255:  # no empty corner
            break
        margin += 0.01 * s
    else:
        return unchanged("too_steep")
    out = cv2.warpPerspective(
        np.ascontiguousarray(image),
        homography,
        (w, h),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return Straightened(
        out, True, round(vertical, 2), round(roll, 2), fit.tilt.lines, None, homography
    )
