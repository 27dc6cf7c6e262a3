"""Fitting text to a box: the largest font size at which the words, wrapped (a word too
long for a line hyphenated by pyphen's Russian patterns), fit the box's width and height;
never below the profile's smallest size (then it does not fit: the caller refuses)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyphen
from PIL import ImageFont

LINE_SPACING = 1.18  # line pitch as a multiple of the font size


@dataclass(frozen=True)
class Fitted:
    size: int  # font size in px
    lines: tuple[str, ...]
    width: int  # the widest line, px
    height: int  # the block's height, px


@lru_cache(maxsize=256)
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=1)
def _hyphenator() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="ru_RU")


def text_width(text: str, face: ImageFont.FreeTypeFont) -> int:
    return int(round(face.getlength(text)))


def hyphenate(word: str, face: ImageFont.FreeTypeFont, width: int) -> tuple[str, str] | None:
    """The longest head of `word` (with its hyphen) that fits `width`, and the rest; None
    when no hyphenation point fits (a Latin word is split by the same patterns)."""
    for head, tail in _hyphenator().iterate(word):
        if text_width(head + "-", face) <= width:
            return head + "-", tail
    return None


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str] | None:
    """Lines of at most `width` px: greedy by words, a too-long word hyphenated; None when
    a piece of a word cannot fit at all."""
    lines: list[str] = []
    current = ""
    words = text.split()
    while words:
        word = words.pop(0)
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, face) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
            words.insert(0, word)
            continue
        split = hyphenate(word, face, width)
        if split is None:
            return None
        lines.append(split[0])
        words.insert(0, split[1])
    if current:
        lines.append(current)
    return lines


def fit(
    text: str,
    path: str,
    box: tuple[int, int],
    *,
    low: int,
    high: int,
    max_lines: int = 3,
) -> Fitted | None:
    """The largest size in low..high (px) at which `text` fits `box` (width, height) in at
    most `max_lines` lines; None when it does not fit even at `low`."""
    width, height = box
    for size in range(max(high, low), low - 1, -max(1, (high - low) // 24 or 1)):
        fitted = _try(text, path, size, width, height, max_lines)
        if fitted is not None:
            return fitted
    return _try(text, path, low, width, height, max_lines)


def _try(
    text: str, path: str, size: int, width: int, height: int, max_lines: int
) -> Fitted | None:
    face = font(path, size)
    lines = wrap(text, face, width)
    if not lines or len(lines) > max_lines:
        return None
    block = round(size * LINE_SPACING * (len(lines) - 1) + size * 1.05)
    if block > height:
        return None
    widest = max(text_width(line, face) for line in lines)
    return Fitted(size, tuple(lines), widest, block)


def capacity(path: str, box: tuple[int, int], size: int, max_lines: int) -> int:
    """About how many characters fit `box` at `size` (for the user: "at most N")."""
    face = font(path, size)
    per_char = text_width("абвгдежзиклмнопрстуфхцчшщыэюя ", face) / 30
    lines = min(max_lines, max(1, int((box[1] - size * 1.05) // (size * LINE_SPACING)) + 1))
    return max(1, int(box[0] / per_char) * lines)
