"""Marketplace photos with known truth, drawn with PIL: the test set of /check's grading.

Each `draw_<grade>(seed, size)` returns a `Photo`: the picture, its grade, the text boxes
drawn (pixels, with the text) and the product's mask. A product is a shape (rounded box,
ellipse, bottle) cut from a scikit-image photo; the text is real Cyrillic in DejaVu.
The same seed gives the same photo. `photo_set()` draws a balanced set for a confusion
table; the lead runs it through the real detector as well.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage import data as skdata

from services.marketplace.signals import TextBox

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FONT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SIZE = (600, 800)  # 3:4, small enough for fast tests
GRADES = (
    "good_infographic",
    "bad_infographic",
    "other_infographic",
    "clean_good_background",
    "clean_bad_background",
)
_SOURCES = ("coffee", "chelsea", "astronaut", "rocket")
_GOOD_LINES = (
    "Натуральный хлопок",
    "Дышащая ткань",
    "Размеры 42–56",
    "Не мнётся",
    "Объём 350 мл",
    "Сталь 18/10",
)
_BAD_LINES = (
    "прочный",
    "удобный",
    "мягкий",
    "лёгкий",
    "стильный",
    "тёплый",
    "новый дизайн",
    "для дома",
    "в подарок",
    "быстрая доставка",
    "качество",
    "100% хлопок",
    "не линяет",
    "евро размер",
)
_BRANDS = ("VITRINA", "Домовой", "ТЁПЛЫЙ ДОМ", "Nord Home")


@dataclass
class Photo:
    image: Image.Image  # RGB
    grade: str
    boxes: list[TextBox] = field(default_factory=list)
    object_mask: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), bool))
    seed: int = 0

    @property
    def texts(self) -> list[str]:
        return [box.text or "" for box in self.boxes]

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.image)


@lru_cache(maxsize=8)
def _source(name: str) -> np.ndarray:
    return getattr(skdata, name)()


def font(height: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT if bold else FONT_REGULAR, max(6, height))


def product(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, np.ndarray]:
    """An RGBA product of `size` (its bounding box) and its mask: a shape filled with a
    crop of a scikit-image photo."""
    width, height = size
    photo = Image.fromarray(_source(str(rng.choice(_SOURCES))))
    crop_w = int(photo.width * rng.uniform(0.5, 0.8))
    crop_h = int(photo.height * rng.uniform(0.5, 0.8))
    left = int(rng.integers(0, photo.width - crop_w + 1))
    top = int(rng.integers(0, photo.height - crop_h + 1))
    texture = photo.crop((left, top, left + crop_w, top + crop_h)).resize(size, Image.BILINEAR)
    shape = Image.new("L", size, 0)
    draw = ImageDraw.Draw(shape)
    kind = int(rng.integers(0, 3))
    if kind == 0:
        draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=min(size) // 6, fill=255)
    elif kind == 1:
        draw.ellipse((0, 0, width - 1, height - 1), fill=255)
    else:  # a bottle: a neck on a rounded body
        neck = width // 3
        draw.rectangle(((width - neck) // 2, 0, (width + neck) // 2, height // 4), fill=255)
        draw.rounded_rectangle(
            (0, height // 5, width - 1, height - 1), radius=width // 4, fill=255
        )
    rgba = texture.convert("RGBA")
    rgba.putalpha(shape)
    return rgba, np.asarray(shape) > 0


def _place(
    canvas: Image.Image, rgba: Image.Image, mask: np.ndarray, at: tuple[int, int]
) -> np.ndarray:
    canvas.paste(rgba, at, rgba)
    full = np.zeros((canvas.height, canvas.width), bool)
    x, y = at
    h, w = mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas.width, x + w), min(canvas.height, y + h)
    full[y0:y1, x0:x1] = mask[y0 - y : y1 - y, x0 - x : x1 - x]
    return full


def _product_box(
    rng: np.random.Generator, size: tuple[int, int], fill: float
) -> tuple[int, int, tuple[int, int]]:
    """A product size whose longer span is `fill` of the frame, and its top-left centred."""
    width, height = size
    aspect = rng.uniform(0.55, 1.0)  # product width / height
    ph = fill * height
    pw = ph * aspect * height / width * width / height
    if pw > fill * width:  # wider than allowed: the width spans `fill`
        pw, ph = fill * width, fill * width / aspect
    pw, ph = int(pw), int(ph)
    return pw, ph, ((width - pw) // 2, (height - ph) // 2)


def _texture(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A busy background: a scikit-image texture, tinted, with a few coloured shapes."""
    name = str(rng.choice(("gravel", "brick", "grass")))
    gray = Image.fromarray(getattr(skdata, name)()).resize(size, Image.BILINEAR)
    tint = rng.uniform(0.4, 1.0, 3)
    arr = np.asarray(gray, np.float32)[..., None] * tint[None, None, :]
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        r = int(rng.integers(10, max(11, size[0] // 6)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=4)
    return image


def _label(
    draw: ImageDraw.ImageDraw,
    text: str,
    at: tuple[int, int],
    height: int,
    colour: tuple[int, int, int],
    plate: tuple[int, int, int] | None,
    bold: bool = True,
) -> TextBox:
    """Draw `text` (on a plate when given) and return the detector-like box around it."""
    face = font(height, bold)
    x, y = at
    left, top, right, bottom = draw.textbbox((x, y), text, font=face)
    pad = max(2, (bottom - top) // 3)
    if plate is not None:
        draw.rounded_rectangle(
            (left - 2 * pad, top - 2 * pad, right + 2 * pad, bottom + 2 * pad),
            radius=pad,
            fill=plate,
        )
    draw.text((x, y), text, font=face, fill=colour)
    box = (left - pad // 2, top - pad // 2, right + pad // 2, bottom + pad // 2)
    return TextBox(box, text, 1.0)


def draw_clean_good_background(
    seed: int = 0, size: tuple[int, int] = SIZE, *, fill: float | None = None
) -> Photo:
    rng = np.random.default_rng(seed)
    grey = int(rng.choice((255, 255, 245, 236)))
    canvas = Image.new("RGB", size, (grey, grey, grey))
    fill = fill if fill is not None else float(rng.uniform(0.75, 0.9))
    pw, ph, at = _product_box(rng, size, fill)
    rgba, mask = product(rng, (pw, ph))
    full = _place(canvas, rgba, mask, at)
    return Photo(canvas, "clean_good_background", [], full, seed)


def draw_clean_bad_background(seed: int = 0, size: tuple[int, int] = SIZE) -> Photo:
    rng = np.random.default_rng(seed)
    canvas = _texture(rng, size)
    pw, ph, (x, y) = _product_box(rng, size, float(rng.uniform(0.45, 0.8)))
    rgba, mask = product(rng, (pw, ph))
    shift = int(rng.integers(-x, x + 1)) if x else 0
    full = _place(canvas, rgba, mask, (x + shift, y))
    return Photo(canvas, "clean_bad_background", [], full, seed)


def _background_for_text(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    top = np.array(rng.integers(200, 256, 3), np.float32)
    bottom = np.array(rng.integers(170, 240, 3), np.float32)
    ramp = np.linspace(0.0, 1.0, size[1], dtype=np.float32)[:, None, None]
    rows = top * (1 - ramp) + bottom * ramp
    return Image.fromarray(np.repeat(rows, size[0], axis=1).astype(np.uint8))


def draw_good_infographic(seed: int = 0, size: tuple[int, int] = SIZE) -> Photo:
    """Large, clear text on plates of one colour scheme, a few lines."""
    rng = np.random.default_rng(seed)
    width, height = size
    canvas = _background_for_text(rng, size)
    pw, ph, (x, y) = _product_box(rng, size, 0.55)
    rgba, mask = product(rng, (pw, ph))
    full = _place(canvas, rgba, mask, (x, int(height * 0.38)))
    draw = ImageDraw.Draw(canvas)
    dark = tuple(int(c) for c in rng.integers(10, 60, 3))
    light = (255, 255, 255)
    plate, ink = (dark, light) if rng.random() < 0.5 else (light, dark)
    lines = rng.choice(_GOOD_LINES, size=int(rng.integers(2, 4)), replace=False)
    text_h = int(height * rng.uniform(0.045, 0.06))
    boxes = []
    for index, line in enumerate(lines):
        at = (int(width * 0.08), int(height * 0.05) + index * int(text_h * 2.1))
        boxes.append(_label(draw, str(line), at, text_h, ink, plate))
    return Photo(canvas, "good_infographic", boxes, full, seed)


def _faint(rng: np.random.Generator) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A saturated plate colour and an ink only a little lighter or darker."""
    plate = np.array(rng.integers(60, 230, 3))
    plate[int(rng.integers(0, 3))] = int(rng.integers(0, 60))
    shift = int(rng.choice((-1, 1))) * int(rng.integers(25, 45))
    ink = np.clip(plate + shift, 0, 255)
    return tuple(int(c) for c in plate), tuple(int(c) for c in ink)


def draw_bad_infographic(seed: int = 0, size: tuple[int, int] = SIZE) -> Photo:
    """Many small, low-contrast labels in many colours all over the frame."""
    rng = np.random.default_rng(seed)
    width, height = size
    canvas = _background_for_text(rng, size)
    pw, ph, at = _product_box(rng, size, 0.6)
    rgba, mask = product(rng, (pw, ph))
    full = _place(canvas, rgba, mask, at)
    draw = ImageDraw.Draw(canvas)
    count = int(rng.integers(8, 13))
    lines = rng.choice(_BAD_LINES, size=count, replace=False)
    boxes = []
    for index, line in enumerate(lines):
        text_h = int(height * rng.uniform(0.014, 0.022))
        column = index % 2
        row = index // 2
        x = int(width * (0.03 + 0.62 * column + rng.uniform(0, 0.05)))
        y = int(height * (0.05 + row * 0.9 / ((count + 1) // 2)))
        plate, ink = _faint(rng)
        boxes.append(_label(draw, str(line), (x, y), text_h, ink, plate, bold=False))
    return Photo(canvas, "bad_infographic", boxes, full, seed)


def draw_other_infographic(seed: int = 0, size: tuple[int, int] = SIZE) -> Photo:
    """A product photo with one small brand mark or caption: text, but no infographic."""
    rng = np.random.default_rng(seed)
    width, height = size
    photo = draw_clean_good_background(seed, size, fill=float(rng.uniform(0.7, 0.8)))
    draw = ImageDraw.Draw(photo.image)
    text_h = int(height * rng.uniform(0.025, 0.035))
    brand = str(rng.choice(_BRANDS))
    at = (int(width * 0.05), int(height * rng.choice((0.02, 0.93))))
    ink = tuple(int(c) for c in rng.integers(60, 140, 3))
    box = _label(draw, brand, at, text_h, ink, None)
    return Photo(photo.image, "other_infographic", [box], photo.object_mask, seed)


#: the same captions in English and in Russian (issue 28: an infographic for Russian buyers)
ENGLISH_LINES = ("Natural cotton", "Breathable fabric", "Sizes 42-56")
RUSSIAN_LINES = ("Натуральный хлопок", "Дышащая ткань", "Размеры 42–56")


def draw_plate_card(
    lines: tuple[str, ...] = ENGLISH_LINES, seed: int = 2, size: tuple[int, int] = SIZE
) -> Photo:
    """A product on white under one dark plate of large white captions: graded as a good
    infographic by its looks, whatever the language of the words."""
    rng = np.random.default_rng(seed)
    width, height = size
    canvas = Image.new("RGB", size, (255, 255, 255))
    pw, ph, (x, _) = _product_box(rng, size, 0.55)
    rgba, mask = product(rng, (pw, ph))
    full = _place(canvas, rgba, mask, (x, int(height * 0.4)))
    draw = ImageDraw.Draw(canvas)
    text_h = int(height * 0.05)
    step = int(text_h * 1.8)
    left, top = int(width * 0.08), int(height * 0.06)
    draw.rounded_rectangle(
        (left - text_h // 2, top - text_h // 2, width - left, top + step * len(lines)),
        radius=text_h // 3,
        fill=(28, 32, 40),
    )
    boxes = [
        _label(draw, line, (left, top + index * step), text_h, (255, 255, 255), None)
        for index, line in enumerate(lines)
    ]
    return Photo(canvas, "good_infographic", boxes, full, seed)


DRAW: dict[str, Callable[..., Photo]] = {
    "good_infographic": draw_good_infographic,
    "bad_infographic": draw_bad_infographic,
    "other_infographic": draw_other_infographic,
    "clean_good_background": draw_clean_good_background,
    "clean_bad_background": draw_clean_bad_background,
}


def photo_set(per_grade: int = 4, size: tuple[int, int] = SIZE, seed: int = 0) -> Iterator[Photo]:
    """`per_grade` photos of every grade, seeds seed, seed+1, ..."""
    for grade in GRADES:
        for index in range(per_grade):
            yield DRAW[grade](seed + index, size)


def icc_profile(description: str, primaries, gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile (D50 colorants)."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values) -> bytes:
        return b"XYZ " + b"\0" * 4 + b"".join(s15(v) for v in values)

    text = description.encode("ascii") + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * (4 + 4 + 3 + 67)
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + b"\0" * 4 + b"none\0"),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(primaries[0])),
        (b"gXYZ", xyz(primaries[1])),
        (b"bXYZ", xyz(primaries[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, blob = b"", b""
    for signature, body in tags:
        while len(body) % 4:
            body += b"\0"
        table += signature + struct.pack(">II", offset + len(blob), len(body))
        blob += body
    size = offset + len(blob)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
    )
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + blob


#: Adobe RGB (1998), its colorants adapted to D50 (Bradford).
ADOBE_RGB = icc_profile(
    "Test Adobe RGB",
    ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)),
    gamma=563 / 256,
)
