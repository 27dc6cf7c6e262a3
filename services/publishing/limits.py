"""Wildberries' photo rules (media/file: "Требования к изображениям"), checked before any
upload so that a photo WB would refuse is named, by file, before anything is changed."""

from __future__ import annotations

from dataclasses import dataclass

MIN_WIDTH, MIN_HEIGHT = 700, 900
MAX_BYTES = 32 * 2**20
MAX_PHOTOS = 30
#: PIL's format names of JPG, PNG, BMP, GIF (static only), WebP
FORMATS = frozenset({"JPEG", "PNG", "BMP", "GIF", "WEBP"})
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "BMP": "image/bmp",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


@dataclass(frozen=True)
class Refusal:
    reason: str  # too_small | too_big | format | animated
    width: int = 0
    height: int = 0


def check_photo(
    width: int, height: int, size: int, fmt: str | None, *, animated: bool = False
) -> Refusal | None:
    """None when WB takes the photo; else why not."""
    if (fmt or "").upper() not in FORMATS:
        return Refusal("format")
    if animated:
        return Refusal("animated")
    if size > MAX_BYTES:
        return Refusal("too_big")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return Refusal("too_small", width, height)
    return None


def room(mode: str, count_now: int) -> int:
    """How many photos of a run fit the card: 30 less those that stay (adding keeps them
    all; replacing the main photo keeps the others and takes the first place; replacing
    all keeps none)."""
    if mode == "add":
        return max(0, MAX_PHOTOS - count_now)
    if mode == "replace_main":
        return max(1, MAX_PHOTOS - count_now + 1)
    return MAX_PHOTOS
