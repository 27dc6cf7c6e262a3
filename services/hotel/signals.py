"""What /check measures on a room photo besides exposure and tilt: sharpness, QR codes,
added borders and collages, colourfulness. Pure (numpy + cv2)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: sharpness() measures on a copy resized to this long side.
SHARPNESS_SIDE = 1024
#: Below this toned_colourfulness a photo is black and white or toned. Measured: grey photos
#: 0.0, sepia-toned ones 0.6..1.8, the colour photos of skimage.data 18..43.
MONOCHROME_BELOW = 6.0


def _resized(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if abs(scale - 1.0) < 1e-6:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interpolation)


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian (3x3, grey levels 0..255) after resizing to a long side of
    1024 px, so the value does not depend on the photo's size (one scene at 1600 and 1100 px:
    within ~15 %). Measured on skimage.data photos (400..640 px, so enlarged ~2x, which
    softens them): coffee 220, rocket 156, camera 102, astronaut 80, immunohistochemistry 39,
    chelsea 25, brick 20; the same photos Gaussian-blurred (sigma 3) 1..3. A photo that is
    already 1024 px or more scores higher than these; below ~10 it is visibly blurred."""
    grey = _resized(_grey(image), SHARPNESS_SIDE).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F, ksize=1).var())


@dataclass(frozen=True)
class QrCode:
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image's pixels
    text: str | None  # decoded payload, None when detected but not decoded


def _bbox(points: np.ndarray, scale: float, w: int, h: int) -> tuple[int, int, int, int]:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) / scale
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
    return (max(0, x0), max(0, y0), min(w, x1), min(h, y1))


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return False
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy > 0.5 * max(smaller, 1)


def find_qr_codes(image: np.ndarray) -> list[QrCode]:
    """QR codes with cv2.QRCodeDetector: detect-and-decode on the photo, then on a 2x upscale
    (small codes) when the photo is small enough for that to be cheap; a code that is found
    but never decoded is reported with text None."""
    grey = _grey(image)
    h, w = grey.shape
    detector = cv2.QRCodeDetector()
    found: list[QrCode] = []
    scales = [1.0] + ([2.0] if max(h, w) <= 1600 else [])
    for scale in scales:
        img = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale)
        ok, texts, points, _ = detector.detectAndDecodeMulti(img)
        if not ok or points is None:
            ok, single = detector.detect(img)
            if not ok or single is None:
                continue
            texts, points = ("",), np.asarray(single).reshape(1, -1, 2)
        for text, quad in zip(texts, points, strict=False):
            box = _bbox(quad, scale, w, h)
            code = QrCode(bbox=box, text=text or None)
            same = [i for i, f in enumerate(found) if _overlaps(f.bbox, box)]
            if not same:
                found.append(code)
            elif code.text and not found[same[0]].text:
                found[same[0]] = code
        if found and all(f.text for f in found):
            break
    return found


@dataclass(frozen=True)
class Seams:
    borders: tuple[str, ...]  # sides with a uniform frame band (a border added around the photo)
    collage: bool  # a strong straight seam splitting the frame into panels
    positions: tuple[tuple[str, float], ...]  # ("h"|"v", relative position 0..1) of the seams


#: Seams are looked for on a copy with this long side.
_SEAM_SIDE = 512
#: A row is uniform when every channel's std along it is below this.
_UNIFORM_STD = 6.0
#: ... and its mean is within this of the band's first row.
_BAND_TOLERANCE = 6.0
#: ... the band's median row std is at most this (a filled band, not a noisy sky) ...
_FLAT_STD = 2.0
#: ... and the first content row differs from its colour by this on average.
_FRAME_STEP = 12.0
#: A border band is at least this share of the side (and 3 px).
_MIN_BORDER = 0.015
#: A seam: a step across the line along at least this share of its length ...
_SEAM_COVERAGE = 0.6
#: ... and a mean step across the line this many times that of the rows beside it ...
_SEAM_RATIO = 4.5
#: ... where a step is this many times the neighbouring rows' differences, plus _STEP_FLOOR.
_STEP_RATIO = 3.0
_STEP_FLOOR = 6.0
#: Seams and gutters are looked for this far from the edges (share of the side).
_SEAM_MARGIN = 0.08


def _uniform_rows(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row: whether it is near-uniform, and its mean colour."""
    std = img.std(axis=1).max(axis=-1)
    return std < _UNIFORM_STD, img.mean(axis=1)


def _band(uniform: np.ndarray, means: np.ndarray) -> int:
    """Length of the run of uniform rows of one colour from row 0."""
    if not uniform[0]:
        return 0
    n = 0
    while n < len(uniform) and uniform[n] and np.abs(means[n] - means[0]).max() < _BAND_TOLERANCE:
        n += 1
    return n


def _is_frame(img: np.ndarray, n: int) -> bool:
    """Rows 0..n-1 are an added band, not a clear sky: flat (a synthetic fill has almost no
    noise; a sky's rows have a std of ~3) and the row after them differs from their colour."""
    if n >= img.shape[0]:
        return False
    flat = float(np.median(img[:n].std(axis=1).max(axis=-1))) <= _FLAT_STD
    colour = img[:n].reshape(-1, img.shape[-1]).mean(axis=0)
    step = float(np.abs(img[n] - colour).max(axis=-1).mean())
    return flat and step >= _FRAME_STEP


def _line_scores(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """For each row y in [start, start + len): the share of columns that step there, and the
    mean step across the row over the mean step of the rows 3..5 px away.

    A column steps at y when the difference over a 1 px gap (a resized seam is 2 px wide) is
    _STEP_RATIO times that of the rows beside it plus _STEP_FLOOR, and the content 8..14 px
    away on the two sides differs by at least half of it: a straight line a few px wide (a
    mortar joint, a door frame's edge) has the same thing on both sides, a seam does not."""
    h = img.shape[0]
    start, stop = max(int(h * _SEAM_MARGIN), 15), min(int(h * (1 - _SEAM_MARGIN)), h - 15)
    if stop <= start:
        return np.zeros(0), np.zeros(0), start
    across = np.abs(img[2:] - img[:-2]).max(axis=-1)  # row i is the step at row i + 1
    # Running means of 7 rows, for the far sides.
    cums = np.cumsum(np.pad(img, ((1, 0), (0, 0), (0, 0))), axis=0)
    block = (cums[7:] - cums[:-7]) / 7.0  # block[i] = mean of rows i..i+6
    coverage = np.zeros(stop - start)
    ratio = np.zeros(stop - start)
    for i, y in enumerate(range(start, stop)):
        d = np.maximum(across[y - 1], across[y])
        near = np.stack([across[y - 5], across[y - 4], across[y + 3], across[y + 4]])
        far = np.abs(block[y + 8] - block[y - 14]).max(axis=-1)
        step = (d > _STEP_RATIO * np.median(near, axis=0) + _STEP_FLOOR) & (far > 0.5 * d)
        coverage[i] = step.mean()
        ratio[i] = d.mean() / max(float(near.mean()), 1.0)
    return coverage, ratio, start


def _row_seams(img: np.ndarray) -> list[float]:
    """Relative positions of rows where the image steps along most of the row, or of
    uniform gutters inside the frame with content on both sides."""
    h = img.shape[0]
    if h < 40:
        return []
    found: list[float] = []
    coverage, ratio, start = _line_scores(img)
    for i in np.flatnonzero((coverage >= _SEAM_COVERAGE) & (ratio >= _SEAM_RATIO)):
        found.append((start + i + 0.5) / h)
    lo, hi = int(h * _SEAM_MARGIN), int(h * (1 - _SEAM_MARGIN))
    uniform, means = _uniform_rows(img)
    y = lo
    while y < hi:
        if uniform[y]:
            n = _band(uniform[y:], means[y:])
            inside = y > 0 and not uniform[y - 1] and y + n < h and not uniform[y + n]
            if n >= 2 and inside and _is_frame(img[y:], n) and _is_frame(img[y + n - 1 :: -1], n):
                found.append((y + n / 2) / h)
            y += max(n, 1)
        else:
            y += 1
    merged: list[float] = []
    for pos in sorted(found):
        if merged and pos - merged[-1] < 0.03:
            continue
        merged.append(pos)
    return merged


def find_seams(image: np.ndarray) -> Seams:
    """Borders: a band >= 1.5 % of the side at an edge whose rows (columns) are near-uniform,
    of one colour, and end where the content starts. Collage: inside the borders, a row or
    column (away from the edges) where the image steps along >= 90 % of its length compared
    with the rows beside it, or a uniform gutter band with content on both sides."""
    img = _resized(_rgb(image), _SEAM_SIDE).astype(np.float32)
    h, w = img.shape[:2]
    views = {
        "top": img,
        "bottom": img[::-1],
        "left": img.transpose(1, 0, 2),
        "right": img.transpose(1, 0, 2)[::-1],
    }
    bands: dict[str, int] = {}
    for side, view in views.items():
        uniform, means = _uniform_rows(view)
        n = _band(uniform, means)
        length = view.shape[0]
        if max(3, _MIN_BORDER * length) <= n < 0.45 * length and _is_frame(view, n):
            bands[side] = n
    borders = tuple(side for side in views if side in bands)
    inner = img[
        bands.get("top", 0) : h - bands.get("bottom", 0),
        bands.get("left", 0) : w - bands.get("right", 0),
    ]
    positions: list[tuple[str, float]] = []
    ih, iw = inner.shape[:2]
    top, left = bands.get("top", 0), bands.get("left", 0)
    for pos in _row_seams(inner):
        positions.append(("h", round((top + pos * ih) / h, 3)))
    for pos in _row_seams(inner.transpose(1, 0, 2)):
        positions.append(("v", round((left + pos * iw) / w, 3)))
    return Seams(borders=borders, collage=bool(positions), positions=tuple(positions))


def _hasler(rgb: np.ndarray) -> float:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def colourfulness(image: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003): sigma_rgyb + 0.3 * mu_rgyb on rg = R - G,
    yb = (R + G) / 2 - B, measured on a copy with long side 512. 0 for grey; their scale:
    ~15 "slightly", ~33 "moderately", ~45 "averagely", ~59 "quite" colourful."""
    if image.ndim == 2 or image.shape[-1] == 1:
        return 0.0
    return _hasler(_resized(np.ascontiguousarray(image[..., :3]), 512).astype(np.float32))


def toned_colourfulness(image: np.ndarray) -> float:
    """Colourfulness left once a tone is taken out: each channel's mean at each brightness
    (64 bins; a sepia or cyanotype toning, clipped or not, is such a curve) is subtracted,
    only the residual counts.
    Plain colourfulness cannot tell a sepia photo (~25..36) from a colour one (~37 and up);
    this measure gives a grey or toned photo ~0..3 and colour photos 25 and up."""
    if image.ndim == 2 or image.shape[-1] == 1:
        return 0.0
    rgb = _resized(np.ascontiguousarray(image[..., :3]), 512).astype(np.float32).reshape(-1, 3)
    lum = rgb.mean(axis=1)
    bins = np.minimum((lum / 4).astype(np.int64), 63)
    counts = np.maximum(np.bincount(bins, minlength=64), 1)
    tone = np.stack([np.bincount(bins, rgb[:, c], minlength=64) / counts for c in range(3)], 1)
    residual = rgb - tone[bins]
    return _hasler(lum[:, None] + residual)


def is_monochrome(image: np.ndarray) -> bool:
    """A black and white or toned (sepia) photo: toned_colourfulness below MONOCHROME_BELOW."""
    return toned_colourfulness(image) < MONOCHROME_BELOW
