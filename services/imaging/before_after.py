"""A before/after preview: the two pictures side by side (portrait) or one above the other
(landscape), each within `side` pixels, on white with a thin gap (pure PIL)."""

from __future__ import annotations

from PIL import Image, ImageOps

GAP = 12
BACKGROUND = (255, 255, 255)


def before_after(before: Image.Image, after: Image.Image, side: int = 1280) -> Image.Image:
    """One RGB picture: `before` left of (or above) `after`, the pair within side × side."""
    portrait = before.height >= before.width
    box = ((side - GAP) // 2, side) if portrait else (side, (side - GAP) // 2)
    first = ImageOps.contain(before.convert("RGB"), box, Image.Resampling.LANCZOS)
    second = ImageOps.contain(after.convert("RGB"), box, Image.Resampling.LANCZOS)
    if portrait:
        size = (first.width + GAP + second.width, max(first.height, second.height))
        at = (first.width + GAP, 0)
    else:
        size = (max(first.width, second.width), first.height + GAP + second.height)
        at = (0, first.height + GAP)
    sheet = Image.new("RGB", size, BACKGROUND)
    sheet.paste(first, (0, 0))
    sheet.paste(second, at)
    return sheet
