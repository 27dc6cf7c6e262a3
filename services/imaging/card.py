"""The marketplace card: the cut object cropped to its alpha, centred with a margin on a
canvas of a marketplace's size (3:4 900×1200 or 1:1 1200×1200). Pure PIL/numpy.

A catalogue (a set of photos, `vitrina process DIR --card`) gets one look: every object the
same height share of its card (`catalogue_share`: the largest share at which each object of
the set fits inside the margins), centred on the card's centre.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image

CARD_SIZES: dict[str, tuple[int, int]] = {"3:4": (900, 1200), "1:1": (1200, 1200)}
#: Free space on each side, as a share of the card's width and height.
MARGIN_SHARE = 0.08
#: A small object is enlarged to fill the card, but not beyond this factor (blur).
MAX_UPSCALE = 4.0


def card_size(ratio: str) -> tuple[int, int]:
    """(width, height) of a card ratio; ValueError names the ones there are."""
    try:
        return CARD_SIZES[ratio]
    except KeyError:
        raise ValueError(f"card must be one of {', '.join(CARD_SIZES)}, not {ratio!r}") from None


def alpha_bbox(alpha: np.ndarray, threshold: int = 0) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of alpha > threshold (uint8), None if empty."""
    rows = np.flatnonzero((alpha > threshold).any(axis=1))
    cols = np.flatnonzero((alpha > threshold).any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def catalogue_share(
    aspects: Iterable[float], size: tuple[int, int], *, margin: float = MARGIN_SHARE
) -> float:
    """The one height share of the card (object height / card height) for every object of a
    set: the largest at which each object, scaled to it, fits inside the margins. `aspects`
    are the objects' width / height (of their alpha boxes); none: the margins' height."""
    width, height = size
    share = 1 - 2 * margin
    for aspect in aspects:
        if aspect > 0:
            share = min(share, width * (1 - 2 * margin) / (aspect * height))
    return share


def place(
    rgba: Image.Image,
    size: tuple[int, int],
    *,
    margin: float = MARGIN_SHARE,
    max_upscale: float = MAX_UPSCALE,
    height_share: float | None = None,
) -> Image.Image:
    """The object of `rgba` cropped to its alpha and centred on a transparent canvas of
    `size`, as large as fits inside the margins (enlarged at most `max_upscale` times).
    With `height_share` (a catalogue: `catalogue_share`) the object is exactly that share of
    the card's height instead, whatever its size in the photo, so a set looks alike."""
    rgba = rgba.convert("RGBA")
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    box = alpha_bbox(np.asarray(rgba.getchannel("A")))
    if box is None:
        return canvas
    obj = rgba.crop(box)
    width, height = size
    room_w, room_h = width * (1 - 2 * margin), height * (1 - 2 * margin)
    if height_share is not None:
        scale = height_share * height / obj.height
    else:
        scale = min(room_w / obj.width, room_h / obj.height, max_upscale)
    target = (max(1, round(obj.width * scale)), max(1, round(obj.height * scale)))
    if target != obj.size:  # Pillow resamples RGBA premultiplied: no dark fringe
        obj = obj.resize(target, Image.Resampling.LANCZOS)
    canvas.paste(obj, ((width - target[0]) // 2, (height - target[1]) // 2))
    return canvas
