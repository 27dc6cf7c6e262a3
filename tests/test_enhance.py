"""services/imaging/enhance.py on real photos (skimage.data) spoiled by known amounts."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from services.imaging.enhance import BLOWN, STRENGTHS, Exposure, enhance, exposure

TINT = np.array([1.15, 1.0, 0.8])


def spoil(image: np.ndarray) -> np.ndarray:
    """Darkened (x0.55), tinted (1.15 / 1.0 / 0.8) and flattened (contrast x0.7)."""
    f = image.astype(np.float64) * 0.55 * TINT
    f = f.mean() + (f - f.mean()) * 0.7
    return np.clip(np.round(f), 0, 255).astype(np.uint8)


def change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def blown_share(image: np.ndarray) -> float:
    return float((image.max(axis=-1) >= BLOWN).mean())


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_spoiled_photo_moves_back_toward_the_original(name: str) -> None:
    original = getattr(data, name)()
    target = exposure(original)
    spoiled = spoil(original)
    result = enhance(spoiled)
    before, after = result.before, result.after
    assert before == exposure(spoiled)
    assert result.image.shape == spoiled.shape and result.image.dtype == np.uint8
    # The spoiling moved each quantity by a lot ...
    assert target.mean_l - before.mean_l > 15
    assert target.contrast - before.contrast > 9
    assert abs(before.cast - target.cast) > 3
    # ... and enhance brings each most of the way back.
    assert abs(after.mean_l - target.mean_l) < 0.2 * abs(before.mean_l - target.mean_l)
    assert abs(after.contrast - target.contrast) < 0.2 * abs(before.contrast - target.contrast)
    assert abs(after.cast - target.cast) < 0.7 * abs(before.cast - target.cast)
    # The pixels themselves come closer to the original's.
    assert change(result.image, original) < 0.5 * change(spoiled, original)


def test_white_balance_neutralises_a_grey_card() -> None:
    # A room-like photo with a grey card (a wall) under a tinted light.
    photo = data.astronaut().copy()
    photo[20:140, 20:200] = 128
    tinted = np.clip(photo * TINT, 0, 255).astype(np.uint8)
    out = enhance(tinted, "strong").image
    card_in = tinted[40:120, 40:180].reshape(-1, 3).mean(axis=0)
    card_out = out[40:120, 40:180].reshape(-1, 3).mean(axis=0)
    assert np.ptp(card_in) > 40
    assert np.ptp(card_out) < 0.35 * np.ptp(card_in)


def window_photo() -> np.ndarray:
    """A dim room (coffee, darkened) with a blown window and a bright frame around it."""
    room = (data.coffee().astype(np.float64) * 0.6).astype(np.uint8)
    room[40:160, 380:560] = (236, 238, 240)  # the frame, just under blown
    room[60:140, 400:540] = 255  # the blown glass
    ramp = np.linspace(200, 249, 180).astype(np.uint8)
    room[170:180, 380:560] = ramp[None, :, None]  # a bright gradient: nothing may clip
    return room


@pytest.mark.parametrize("strength", STRENGTHS)
def test_highlights_are_not_clipped_further(strength: str) -> None:
    room = window_photo()
    result = enhance(room, strength)
    assert result.after.highlights <= result.before.highlights + 1e-4
    assert blown_share(result.image) <= blown_share(room)
    # The room got brighter, the window stayed white, the gradient stayed a gradient.
    assert result.after.mean_l > result.before.mean_l + 3
    assert result.image[60:140, 400:540].min() >= BLOWN
    ramp = result.image[175, 380:560].astype(int)
    assert ramp.max() < BLOWN
    grey = ramp.mean(axis=-1)
    assert np.diff(grey).min() >= -2  # rounding in Lab and CLAHE, no reversal
    assert grey[-1] - grey[0] > 25
    assert len(np.unique(ramp[:, 1])) > 20


def test_strengths_are_ordered() -> None:
    spoiled = spoil(data.astronaut())
    changes = [change(enhance(spoiled, s).image, spoiled) for s in STRENGTHS]
    assert changes[0] < changes[1] < changes[2]
    casts = [enhance(spoiled, s).after.cast for s in STRENGTHS]
    assert casts[0] > casts[1] > casts[2]


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_good_photo_changes_little(name: str) -> None:
    good = getattr(data, name)()
    result = enhance(good)
    spoiled = spoil(good)
    fixed = change(enhance(spoiled).image, spoiled)
    assert change(result.image, good) < 12  # measured: astronaut 5.1, coffee 10.2 (warm)
    assert change(result.image, good) < 0.4 * fixed
    assert abs(result.after.mean_l - result.before.mean_l) < 2.5
    assert abs(result.after.contrast - result.before.contrast) < 2.5
    assert result.after.highlights <= result.before.highlights + 1e-4


def test_exposure_statistics() -> None:
    black = np.zeros((64, 96, 3), np.uint8)
    white = np.full((64, 96, 3), 255, np.uint8)
    grey = np.full((64, 96, 3), 119, np.uint8)  # sRGB 119 is L* 50
    assert exposure(black) == Exposure(0.0, 1.0, 0.0, 0.0, 0.0)
    assert exposure(white).highlights == 1.0 and exposure(white).mean_l > 99
    g = exposure(grey)
    assert abs(g.mean_l - 50) < 0.5 and g.contrast < 1e-3 and g.cast < 0.5
    warm = np.clip(grey * TINT, 0, 255).astype(np.uint8)
    assert exposure(warm).cast > 10
    # Measured on a copy with long side <= 1024: a big photo gives about the same numbers.
    big = np.repeat(np.repeat(data.astronaut(), 4, axis=0), 4, axis=1)
    assert abs(exposure(big).mean_l - exposure(data.astronaut()).mean_l) < 0.5


def test_unknown_strength_and_bad_input() -> None:
    photo = data.astronaut()
    with pytest.raises(ValueError, match="strength"):
        enhance(photo, "extreme")
    with pytest.raises(ValueError):
        enhance(photo.astype(np.float32))
    with pytest.raises(ValueError):
        enhance(photo[..., 0])


def test_flat_and_tiny_photos() -> None:
    # A flat photo is stretched about its middle (not crushed to black); tiny ones work.
    for shape in [(300, 400, 3), (5, 5, 3), (1, 1, 3)]:
        for level in (0, 128, 255):
            flat = np.full(shape, level, np.uint8)
            out = enhance(flat).image
            assert out.shape == shape
            assert abs(float(out.mean()) - level) < 10, (shape, level)
