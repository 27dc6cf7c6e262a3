"""Keeping the room: put an edit back into the original photo (pure numpy/PIL, no model).

instruct-pix2pix works at about 512 px and redraws the whole frame, so walls, furniture and
the view drift and lose detail. Two ways back to the full-size original:

- `keep_structure` (presets that add or recolour objects): a difference mask between the
  model's input and output at working size, cleaned of specks, dilated, feathered and
  upscaled; outside it the result is the original, pixel for pixel.
- `transfer_detail` (full-frame presets: night, snow, sunset): the whole frame changes, but
  the high-frequency luminance the working size could not hold is taken from the original,
  so edges and text stay sharp at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from services.imaging.resize import to_size

#: A pixel counts as changed when a channel moved by more than this (0..255), after a light
#: blur of both images that hides the VAE's round-trip noise.
DIFF_THRESHOLD = 28
SPECK_PX = 3  # opening size: changed areas thinner than this are noise
#: Grow the region so object borders (shadows, petals) are inside it, then soften its edge;
#: both in pixels at a 512 px working size, scaled with it.
DILATE_PX = 5
FEATHER_PX = 3.0


@dataclass(frozen=True)
class Blend:
    image: Image.Image  # at the original's size
    mask: Image.Image  # "L", original size: 0 = the original's pixel, 255 = the edit's
    changed_share: float  # mean of mask / 255: the share of the picture that changed


def change_mask(
    before: Image.Image,
    after: Image.Image,
    *,
    threshold: int = DIFF_THRESHOLD,
    speck_px: int = SPECK_PX,
    dilate_px: int | None = None,
    feather_px: float | None = None,
) -> Image.Image:
    """Where ``after`` differs from ``before`` (same size): an "L" mask, 0 outside, feathered.

    ``dilate_px``/``feather_px`` default to DILATE_PX/FEATHER_PX scaled to the working size.
    """
    if before.size != after.size:
        raise ValueError(f"sizes differ: {before.size} vs {after.size}")
    scale = max(before.size) / 512
    if dilate_px is None:
        dilate_px = max(1, round(DILATE_PX * scale))
    if feather_px is None:
        feather_px = max(0.5, FEATHER_PX * scale)
    soft = ImageFilter.GaussianBlur(1)
    a = np.asarray(before.convert("RGB").filter(soft), dtype=np.int16)
    b = np.asarray(after.convert("RGB").filter(soft), dtype=np.int16)
    changed = np.abs(a - b).max(axis=2) > threshold
    mask = Image.fromarray(changed.astype(np.uint8) * 255, "L")
    if speck_px > 1:
        size = speck_px | 1  # PIL rank filters take odd sizes
        mask = mask.filter(ImageFilter.MinFilter(size)).filter(ImageFilter.MaxFilter(size))
    if dilate_px > 0:
        mask = mask.filter(ImageFilter.MaxFilter(2 * dilate_px + 1))
    if feather_px > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(feather_px))
    return mask


def upscale_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Bilinear: zeros far from the region stay exactly zero."""
    if mask.size == tuple(size):
        return mask
    return mask.resize(tuple(size), Image.Resampling.BILINEAR)


def blend(original: Image.Image, edited: Image.Image, mask: Image.Image) -> Image.Image:
    """``original`` where mask is 0, ``edited`` where 255, integer mix between (exact)."""
    o = np.asarray(original.convert("RGB"), dtype=np.uint32)
    e = np.asarray(edited.convert("RGB"), dtype=np.uint32)
    m = np.asarray(mask.convert("L"), dtype=np.uint32)[..., None]
    mixed = (o * (255 - m) + e * m + 127) // 255
    return Image.fromarray(mixed.astype(np.uint8), "RGB")


def _luma(array: np.ndarray) -> np.ndarray:
    return array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114


def transfer_detail(
    original: Image.Image,
    working_input: Image.Image,
    edited_full: Image.Image,
    strength: float = 1.0,
) -> Image.Image:
    """``edited_full`` (the edit upscaled to the original's size) plus the luminance detail
    that the working size lost: ``Y(original) - Y(up(working_input))``.

    The detail is scaled by how bright the edit is there relative to the original, so a
    night scene gets darker edges rather than bright halos. An identity edit gives back the
    original (up to rounding).
    """
    size = original.size
    o = np.asarray(original.convert("RGB"), dtype=np.float32)
    low = np.asarray(to_size(working_input.convert("RGB"), size), dtype=np.float32)
    e = np.asarray(edited_full.convert("RGB"), dtype=np.float32)
    y_low = _luma(low)
    detail = _luma(o) - y_low
    gain = np.clip((_luma(e) + 8.0) / (y_low + 8.0), 0.0, 1.5)
    out = e + (strength * detail * gain)[..., None]
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


def keep_structure(
    original: Image.Image, working_input: Image.Image, edited: Image.Image
) -> Blend:
    """The edit only where it really changed something; the original everywhere else."""
    mask = upscale_mask(change_mask(working_input, edited), original.size)
    full = to_size(edited.convert("RGB"), original.size)
    return Blend(blend(original, full, mask), mask, share(mask))


def full_frame(original: Image.Image, working_input: Image.Image, edited: Image.Image) -> Blend:
    """The whole frame edited, with the original's fine detail put back."""
    mask = upscale_mask(change_mask(working_input, edited), original.size)
    full = to_size(edited.convert("RGB"), original.size)
    image = transfer_detail(original, working_input, full)
    return Blend(image, Image.new("L", original.size, 255), share(mask))


def share(mask: Image.Image) -> float:
    """Mean of an "L" mask over 255: 0 = nothing changed, 1 = everything."""
    return float(np.asarray(mask, dtype=np.float64).mean() / 255.0)
