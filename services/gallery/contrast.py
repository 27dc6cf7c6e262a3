"""WCAG 2.x contrast: relative luminance, the ratio of two colours, and whether text
needs a plate behind it (the ratio against what is behind it below 4.5:1, WCAG AA)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]
#: WCAG 2.x level AA for normal text
MIN_RATIO = 4.5
DARK: RGB = (26, 26, 26)
LIGHT: RGB = (255, 255, 255)


def luminance(rgb: np.ndarray | RGB) -> np.ndarray | float:
    """Relative luminance (WCAG 2.x, sRGB) of one colour or of an array of colours (…×3)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    value = linear @ np.array([0.2126, 0.7152, 0.0722])
    return float(value) if np.ndim(value) == 0 else value


def ratio(a: RGB, b: RGB) -> float:
    """The contrast ratio of two colours, 1..21."""
    la, lb = float(luminance(a)), float(luminance(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def worst_ratio(text: RGB, behind: np.ndarray) -> float:
    """The lowest ratio of `text` against the pixels `behind` it (H×W×3), ignoring the
    1 % most extreme pixels (JPEG noise, anti-aliasing)."""
    pixels = np.asarray(behind, dtype=np.float64).reshape(-1, 3)
    if pixels.size == 0:
        return 21.0
    lum = luminance(pixels)
    low, high = np.percentile(lum, [1, 99])
    t = float(luminance(text))
    ratios = [(max(t, v) + 0.05) / (min(t, v) + 0.05) for v in (low, high)]
    return float(min(ratios))


@dataclass(frozen=True)
class Ink:
    """How a piece of text is drawn: its colour, and the plate under it (None: none)."""

    text: RGB
    plate: RGB | None
    ratio: float  # text against what is right behind it (the plate or the picture)


def choose_ink(behind: np.ndarray, *, brand: RGB | None = None, force_plate: bool = False) -> Ink:
    """Dark or light text, whichever contrasts more with `behind`; at least MIN_RATIO,
    else (or when `force_plate`) a plate: the brand colour with white text when that pair
    reaches MIN_RATIO, else a white plate with dark text."""
    if not force_plate:
        best = max((DARK, LIGHT), key=lambda ink: worst_ratio(ink, behind))
        found = worst_ratio(best, behind)
        if found >= MIN_RATIO:
            return Ink(best, None, found)
    return plate_ink(brand)


def plate_ink(brand: RGB | None) -> Ink:
    """Text on a plate: white on the brand colour when it reaches MIN_RATIO, else dark on
    white."""
    if brand is not None and ratio(LIGHT, brand) >= MIN_RATIO:
        return Ink(LIGHT, brand, ratio(LIGHT, brand))
    return Ink(DARK, LIGHT, ratio(DARK, LIGHT))


def readable_brand(colour: RGB, *, against: RGB = LIGHT, target: float = MIN_RATIO) -> RGB:
    """`colour` darkened (its hue kept) until `against` text on it reaches `target` — a
    brand colour white text can sit on."""
    rgb = np.asarray(colour, dtype=np.float64)
    found: RGB = tuple(colour)  # type: ignore[assignment]
    for _ in range(80):
        found = tuple(int(round(v)) for v in rgb)  # type: ignore[assignment]
        if ratio(against, found) >= target:
            break
        rgb = rgb * 0.93
    return found
