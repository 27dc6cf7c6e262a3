"""Working sizes for diffusion models: the photo's aspect kept, sides multiples of 8."""

from __future__ import annotations

from PIL import Image

#: The VAE halves the image three times: both sides must be multiples of 8.
MULTIPLE = 8
#: A 20:1 panorama would give a sliver a few latents wide; never go below this.
MIN_SIDE = 64


def _round8(value: float) -> int:
    return max(MULTIPLE, int(round(value / MULTIPLE)) * MULTIPLE)


def working_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) with the long side ``max_side`` (rounded down to a multiple of 8),
    the aspect ratio kept as closely as multiples of 8 allow, and no side under MIN_SIDE.

    Small photos are scaled up too: the model works best near the size it was trained at.
    """
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {size}")
    long_side = max(MULTIPLE, (int(max_side) // MULTIPLE) * MULTIPLE)
    scale = long_side / max(width, height)
    floor = min(MIN_SIDE, long_side)
    new_w = long_side if width >= height else max(floor, _round8(width * scale))
    new_h = long_side if height > width else max(floor, _round8(height * scale))
    return new_w, new_h


def to_working(image: Image.Image, max_side: int) -> Image.Image:
    """The image resized to its working size (Lanczos; no-op when it already has it)."""
    target = working_size(image.size, max_side)
    if image.size == target:
        return image.copy()
    return image.resize(target, Image.Resampling.LANCZOS)


def to_size(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Back to ``size`` (the photo's original size): bicubic, which keeps edges smooth."""
    if image.size == tuple(size):
        return image.copy()
    return image.resize(tuple(size), Image.Resampling.BICUBIC)


def smaller(max_side: int, factor: float = 0.75, floor: int = 128) -> int:
    """A smaller long side for a retry after running out of memory (a multiple of 8)."""
    reduced = (int(max_side * factor) // MULTIPLE) * MULTIPLE
    return max(min(floor, max_side), reduced)
