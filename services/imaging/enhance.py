"""/enhance ("Brighten") for room photos: auto levels with a small clip, grey-world white
balance on unsaturated pixels, a mild midtone lift for dark photos and CLAHE on L of Lab.

Pure (numpy + cv2). Statistics come from a copy whose long side is at most 1024 px; the
colour correction is one 256-entry LUT per channel applied to the full image, so a 12 MP
photo takes well under 2 s on one core.

Highlight guard: a pixel is "blown" when any channel is >= 250 (BLOWN). The output never has
a blown pixel that was not blown in the input: the LUTs map 0..249 into 0..249 through a
soft knee, keep 250..255 as they are, and after CLAHE any newly blown pixel is scaled down
(hue kept) until its brightest channel is 249. Windows stay as blown as they were, no more.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STRENGTHS = ("gentle", "normal", "strong")

#: A pixel with any channel at or above this is blown (a window, a lamp).
BLOWN = 250
#: L* at or below this is crushed (near-black).
CRUSHED_L = 3.0
#: Statistics are measured on a copy whose long side is at most this.
STATS_SIDE = 1024


@dataclass(frozen=True)
class _Params:
    clip: float  # percent clipped at each end by the levels
    wb_mix: float  # 0 = no white balance, 1 = full grey world
    lift: float  # share of the midtone lift applied to a dark photo
    clahe: float  # CLAHE clip limit


_PARAMS = {
    "gentle": _Params(clip=0.2, wb_mix=0.5, lift=0.4, clahe=1.2),
    "normal": _Params(clip=0.5, wb_mix=0.75, lift=0.7, clahe=1.8),
    "strong": _Params(clip=1.0, wb_mix=0.95, lift=1.0, clahe=2.5),
}

#: The top of the content range goes here; the knee rolls 235..249 off smoothly.
_TARGET_HI = 245.0
_KNEE = 235.0
_TOP = BLOWN - 1.0
#: Share of the CLAHE result blended into L.
_CLAHE_MIX = 0.3
#: CLAHE (8 x 8 tiles) only on photos at least this big.
_CLAHE_MIN_SIDE = 128
#: Levels never stretch the range more than this (noise in the shadows).
_MAX_STRETCH = 2.5
#: The lift aims the median luminance of a dark photo here (0..1) ...
_LIFT_TARGET = 0.42
#: ... and only when the mean L* is below this.
_DARK_L = 45.0


@dataclass(frozen=True)
class Exposure:
    mean_l: float  # mean L* of Lab, 0..100
    shadows: float  # share of crushed pixels (L* <= 3)
    highlights: float  # share of blown pixels (any channel >= 250)
    contrast: float  # std of L*
    cast: float  # chroma of the mean a*, b* of the unsaturated pixels (0 = neutral)


@dataclass(frozen=True)
class Enhanced:
    image: np.ndarray  # RGB uint8, same size
    before: Exposure
    after: Exposure


def _small(image: np.ndarray, side: int = STATS_SIDE) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _check(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 HxWx3 array, got {image.dtype} {image.shape}")


def _unsaturated(rgb: np.ndarray) -> np.ndarray:
    """Pixels that may be grey in the scene: low HSV saturation, neither dark nor blown.

    The threshold (0.6) is loose on purpose: a strong cast makes grey pixels look saturated
    (a 1.15/1.0/0.8 tint gives them a saturation of 0.3)."""
    hi = rgb.max(axis=-1).astype(np.float32)
    lo = rgb.min(axis=-1).astype(np.float32)
    sat = (hi - lo) / np.maximum(hi, 1.0)
    return (sat < 0.6) & (hi > 20) & (hi < BLOWN)


def exposure(image: np.ndarray) -> Exposure:
    """Exposure statistics of an RGB uint8 photo, measured on a copy with long side <= 1024."""
    _check(image)
    small = _small(image)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lum = lab[..., 0]
    grey = _unsaturated(small)
    if grey.sum() < 0.01 * grey.size:
        grey = np.ones_like(grey)
    mean_a = float(lab[..., 1][grey].mean())
    mean_b = float(lab[..., 2][grey].mean())
    return Exposure(
        mean_l=float(lum.mean()),
        shadows=float((lum <= CRUSHED_L).mean()),
        highlights=float((small.max(axis=-1) >= BLOWN).mean()),
        contrast=float(lum.std()),
        cast=float(np.hypot(mean_a, mean_b)),
    )


def _wb_gains(small: np.ndarray, mix: float) -> np.ndarray:
    """Grey-world gains on the unsaturated pixels (as OpenCV xphoto's GrayworldWB), taken
    from their brighter half: a warm room (wood, a cat's fur) is not a cast, but when the
    light is tinted the walls and the linen are tinted too."""
    grey = _unsaturated(small)
    if grey.sum() < 0.01 * grey.size:
        return np.ones(3)
    pixels = small[grey].astype(np.float64)
    lum = pixels @ np.array([0.299, 0.587, 0.114])
    means = pixels[lum >= np.median(lum)].mean(axis=0)
    gains = means.mean() / np.maximum(means, 1.0)
    gains = np.clip(gains, 0.6, 1.6)
    return 1.0 + mix * (gains - 1.0)


def _knee(y: np.ndarray) -> np.ndarray:
    """Identity below _KNEE, then an exponential roll-off that never reaches _TOP + 1."""
    span = _TOP - _KNEE
    over = np.maximum(y - _KNEE, 0.0)
    return np.where(y > _KNEE, _KNEE + span * (1.0 - np.exp(-over / span)), y)


def _luts(small: np.ndarray, p: _Params) -> np.ndarray:
    """One 256-entry LUT per channel: white balance, levels, lift, knee."""
    x = np.arange(256, dtype=np.float64)
    gains = _wb_gains(small, p.wb_mix)
    # White balance fades out near the top so a blown window stays white, not tinted.
    fade = np.clip((x - 200.0) / (BLOWN - 200.0), 0.0, 1.0)
    fade = fade * fade * (3 - 2 * fade)
    curves = np.stack([x * (g + (1.0 - g) * fade) for g in gains])  # 3 x 256
    curves = np.maximum.accumulate(curves, axis=1)

    # Levels: one black and one white point for all channels (keeps the balance), from the
    # balanced values of pixels that are not blown (a window must not hide a dull room).
    balanced = np.stack([curves[c][small[..., c]] for c in range(3)], axis=-1)
    content = balanced[small.max(axis=-1) < BLOWN]
    if content.size < 300:
        content = balanced.reshape(-1, 3)
    lo, hi = np.percentile(content, [p.clip, 100.0 - p.clip])
    narrowest = _TARGET_HI / _MAX_STRETCH
    if hi - lo < narrowest:  # a flat photo: stretch at most _MAX_STRETCH about its middle
        lo = max(0.0, (lo + hi - narrowest) / 2.0)
        hi = lo + narrowest
    scale = _TARGET_HI / (hi - lo)
    levelled = np.maximum(curves - lo, 0.0) * scale

    # Midtone lift for a dark photo: a gamma that moves the median luminance toward the
    # target, partially (strength) and never darkening.
    lum_small = (balanced - lo) * scale @ np.array([0.299, 0.587, 0.114])
    median = float(np.clip(np.median(lum_small) / 255.0, 1e-3, 0.999))
    mean_l = exposure(np.clip((balanced - lo) * scale, 0, 255).astype(np.uint8)).mean_l
    if mean_l < _DARK_L and median < _LIFT_TARGET:
        gamma = np.log(_LIFT_TARGET) / np.log(median)
        gamma = 1.0 - p.lift * (1.0 - max(gamma, 0.7))
        levelled = 255.0 * np.power(np.clip(levelled / 255.0, 0.0, None), gamma)

    out = _knee(levelled)
    out[:, BLOWN:] = x[BLOWN:]  # blown stays blown, nothing new becomes blown
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _clahe(image: np.ndarray, limit: float) -> np.ndarray:
    """CLAHE on L of Lab, blended in at _CLAHE_MIX: even a low clip limit re-spreads a tile
    with a narrow histogram over the whole range, which is too much on a good photo."""
    if min(image.shape[:2]) < _CLAHE_MIN_SIDE:  # tiles of a few px would posterise
        return image
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
    lum = np.ascontiguousarray(lab[..., 0])
    clahe = cv2.createCLAHE(clipLimit=limit, tileGridSize=(8, 8))
    lab[..., 0] = cv2.addWeighted(clahe.apply(lum), _CLAHE_MIX, lum, 1.0 - _CLAHE_MIX, 0.0)
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


def _guard(original: np.ndarray, result: np.ndarray) -> np.ndarray:
    """Scale down (hue kept) every pixel that became blown, so the brightest channel is 249."""
    new = (result.max(axis=-1) >= BLOWN) & (original.max(axis=-1) < BLOWN)
    if not new.any():
        return result
    pixels = result[new].astype(np.float32)
    factor = _TOP / pixels.max(axis=-1, keepdims=True)
    result[new] = np.floor(pixels * factor).astype(np.uint8)
    return result


def enhance(image: np.ndarray, strength: str = "normal") -> Enhanced:
    """Brighten a room photo: levels + white balance + lift (LUTs), then CLAHE on L."""
    if strength not in _PARAMS:
        raise ValueError(f"unknown strength {strength!r}; expected one of {STRENGTHS}")
    _check(image)
    p = _PARAMS[strength]
    small = _small(image)
    luts = _luts(small, p)
    result = cv2.LUT(np.ascontiguousarray(image), luts.T.reshape(256, 1, 3).copy())
    result = _clahe(result, p.clahe)
    result = _guard(image, result)
    return Enhanced(image=result, before=exposure(image), after=exposure(result))
