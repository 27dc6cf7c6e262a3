"""Drawing text blocks on a slide: fitted to their box, in an ink that reaches 4.5:1
against what is behind it (else on a plate), each line's box recorded for the read-back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw

from services.gallery.contrast import RGB, Ink, choose_ink, plate_ink
from services.gallery.layout import Box
from services.gallery.text_fit import capacity, fit, font


class TooLong(ValueError):
    """A text does not fit its box at the smallest size allowed."""

    def __init__(self, line: str, limit: int) -> None:
        super().__init__(line, limit)
        self.line, self.limit = line, limit


@dataclass
class Ledger:
    """What was drawn on one slide: every line's box and text, and the plates' boxes."""

    boxes: list[Box] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    blocks: list[Box] = field(default_factory=list)  # text blocks with their plates
    inks: list[Ink] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # each line's font size, px


@dataclass(frozen=True)
class Pen:
    """How to draw: the sizes allowed (px), the brand colour, whether plates are forced."""

    low: int
    high: int
    brand: RGB
    force_plate: bool = False
    plate: bool = False  # a plate in any case (callouts, captions)


def block(
    image: Image.Image,
    ledger: Ledger,
    text: str,
    box: Box,
    path: str,
    pen: Pen,
    *,
    max_lines: int = 3,
    align: str = "center",
) -> Box:
    """Draw `text` fitted into `box` (its plate inside the box too); the block's box."""
    left, top, right, bottom = box
    pad = max(6, round(pen.low * 0.35))
    inner = (right - left - 2 * pad, bottom - top - 2 * pad)
    fitted = fit(text, path, inner, low=pen.low, high=max(pen.low, pen.high), max_lines=max_lines)
    if fitted is None:
        raise TooLong(text, capacity(path, inner, pen.low, max_lines))
    x0 = {"left": left, "right": right - fitted.width - 2 * pad}.get(
        align, left + (right - left - fitted.width) // 2 - pad
    )
    y0 = top + (bottom - top - fitted.height) // 2 - pad
    outer = (x0, y0, x0 + fitted.width + 2 * pad, y0 + fitted.height + 2 * pad)
    if pen.plate or pen.force_plate:
        ink = plate_ink(pen.brand)
    else:
        behind = np.asarray(image.convert("RGB").crop(outer))
        ink = choose_ink(behind, brand=pen.brand, force_plate=pen.force_plate)
    draw = ImageDraw.Draw(image)
    if ink.plate is not None:
        draw.rounded_rectangle(outer, radius=pad, fill=ink.plate)
    face = font(path, fitted.size)
    pitch = round(fitted.size * 1.18)
    for index, line in enumerate(fitted.lines):
        width = round(face.getlength(line))
        x = {"left": x0 + pad, "right": outer[2] - pad - width}.get(
            align, x0 + pad + (fitted.width - width) // 2
        )
        y = y0 + pad + index * pitch
        draw.text((x, y), line, font=face, fill=ink.text)
        l_, t_, r_, b_ = draw.textbbox((x, y), line, font=face)
        ledger.boxes.append((int(l_), int(t_), int(r_), int(b_)))
        ledger.lines.append(line)
        ledger.sizes.append(fitted.size)
    ledger.blocks.append(outer)
    ledger.inks.append(ink)
    return outer


def shared(pen: Pen, texts: Sequence[str], boxes: Sequence[Box], path: str, max_lines: int) -> Pen:
    """`pen` capped at the size every one of `texts` fits its box at: a list or a set of
    callouts in one size (a text that fits nowhere is left for `block` to refuse)."""
    pad = max(6, round(pen.low * 0.35))
    sizes = []
    for text, (left, top, right, bottom) in zip(texts, boxes, strict=False):
        inner = (right - left - 2 * pad, bottom - top - 2 * pad)
        found = fit(
            text, path, inner, low=pen.low, high=max(pen.low, pen.high), max_lines=max_lines
        )
        if found is not None:
            sizes.append(found.size)
    return replace(pen, high=min(sizes)) if sizes else pen


def icon(
    image: Image.Image,
    glyph: str,
    path: str | None,
    centre: tuple[int, int],
    size: int,
    brand: RGB,
) -> Box:
    """A brand-coloured disc with the glyph in white (a plain disc without the icon font)."""
    cx, cy = centre
    r = size // 2
    disc = (cx - r, cy - r, cx + r, cy + r)
    draw = ImageDraw.Draw(image)
    draw.ellipse(disc, fill=brand)
    if path is not None:
        face = font(path, max(8, round(size * 0.55)))
        draw.text((cx, cy), glyph, font=face, fill=(255, 255, 255), anchor="mm")
    return disc


def leader_line(
    image: Image.Image, line: tuple[tuple[int, int], tuple[int, int]], colour: RGB, width: int
) -> None:
    draw = ImageDraw.Draw(image)
    start, end = line
    draw.line([start, end], fill=colour, width=width)
    r = width * 2
    draw.ellipse((end[0] - r, end[1] - r, end[0] + r, end[1] + r), fill=colour)


def tint(colour: RGB, amount: float = 0.07) -> RGB:
    """A very light version of `colour` (a slide's background)."""
    return tuple(round(255 - (255 - c) * amount) for c in colour)  # type: ignore[return-value]
