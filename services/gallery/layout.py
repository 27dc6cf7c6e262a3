"""Where things go on a slide: the product scaled into its box (or to a set's shared
scale), text boxes that keep a margin from the product's cut, and leader lines from a
callout to the nearest point of the product."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from services.imaging.card import MARGIN_SHARE, alpha_bbox

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive) in pixels
MAX_UPSCALE = 4.0


class LayoutError(ValueError):
    """A text box would come closer to the product than the margin (a bug of a template)."""


@dataclass(frozen=True)
class Placed:
    rgba: Image.Image  # the product at its size on the slide
    offset: tuple[int, int]  # its top-left on the slide
    mask: np.ndarray  # bool at the slide's size: where the product is


def place_in(
    cut: Image.Image, box: Box, slide: tuple[int, int], *, share: float | None = None
) -> Placed:
    """The product (RGBA cropped to its alpha) as large as fits `box`, centred in it; with
    `share` (a set's height share of a card, services/imaging/card.catalogue_share) it takes
    that share of the room the box gives, so every product of a set is scaled alike."""
    left, top, right, bottom = box
    room_w, room_h = right - left, bottom - top
    scale = min(room_w / cut.width, room_h / cut.height, MAX_UPSCALE)
    if share is not None:
        wanted = share / (1 - 2 * MARGIN_SHARE) * room_h / cut.height
        scale = min(wanted, room_w / cut.width, room_h / cut.height)
    size = (max(1, round(cut.width * scale)), max(1, round(cut.height * scale)))
    product = cut.resize(size, Image.Resampling.LANCZOS) if size != cut.size else cut
    offset = (left + (room_w - size[0]) // 2, top + (room_h - size[1]) // 2)
    mask = np.zeros((slide[1], slide[0]), bool)
    alpha = np.asarray(product.getchannel("A")) >= 128
    x, y = offset
    mask[y : y + size[1], x : x + size[0]] = alpha[: slide[1] - y, : slide[0] - x]
    return Placed(product, offset, mask)


def crop_to_alpha(rgba: Image.Image) -> Image.Image:
    box = alpha_bbox(np.asarray(rgba.getchannel("A")), threshold=127)
    return rgba.crop(box) if box else rgba


def keep_out(mask: np.ndarray, margin: int) -> np.ndarray:
    """The product's mask grown by `margin` px: where no text may be."""
    if margin <= 0 or not mask.any():
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def is_clear(box: Box, forbidden: np.ndarray) -> bool:
    left, top, right, bottom = (max(0, v) for v in box)
    return not forbidden[top:bottom, left:right].any()


def shrink_clear(box: Box, forbidden: np.ndarray, *, min_height: int) -> Box | None:
    """The largest part of `box` clear of `forbidden`, cutting rows and columns from the
    side that touches it (the product is beside, above or below a text box); None when
    less than `min_height` rows stay."""
    left, top, right, bottom = box
    while right - left > min_height and bottom - top >= min_height:
        region = forbidden[top:bottom, left:right]
        if not region.any():
            return left, top, right, bottom
        rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
        # the cheapest cut: the side where fewest rows/columns are lost
        options = {
            "top": rows[-1] + 1,
            "bottom": (bottom - top) - rows[0],
            "left": cols[-1] + 1,
            "right": (right - left) - cols[0],
        }
        side = min(
            options,
            key=lambda k: (
                options[k] / ((bottom - top) if k in ("top", "bottom") else (right - left))
            ),
        )
        if side == "top":
            top += int(rows[-1]) + 1
        elif side == "bottom":
            bottom = top + int(rows[0])
        elif side == "left":
            left += int(cols[-1]) + 1
        else:
            right = left + int(cols[0])
    return None


def assert_clear(boxes: list[Box], forbidden: np.ndarray) -> None:
    for box in boxes:
        if not is_clear(box, forbidden):
            raise LayoutError(f"text box {box} comes within the margin of the product")


def leader(box: Box, mask: np.ndarray, gap: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """A leader line from the middle of the box's side facing the product (its centre) to
    the product's nearest pixel; None without a product."""
    ys, xs = np.nonzero(mask[::2, ::2])
    if len(xs) == 0:
        return None
    xs, ys = xs * 2, ys * 2
    left, top, right, bottom = box
    cx, cy = float(np.median(xs)), float(np.median(ys))
    dx, dy = max(left - cx, cx - right, 0.0), max(top - cy, cy - bottom, 0.0)
    if dy > dx:  # the product is above or below: from the top or bottom edge
        start = ((left + right) // 2, top - gap if cy < top else bottom + gap)
    else:
        start = (right + gap if cx > right else left - gap, (top + bottom) // 2)
    nearest = int(np.argmin((xs - start[0]) ** 2 + (ys - start[1]) ** 2))
    return start, (int(xs[nearest]), int(ys[nearest]))
