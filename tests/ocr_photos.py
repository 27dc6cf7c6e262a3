"""Two product photos with marketplace-style text drawn on them (Cyrillic and Latin, DejaVu
fonts), for the text detector and reader tests and the cleaning checks built on them.

Each photo is a scikit-image photograph scaled to a phone-photo size; the text is what
sellers put on cards and marketplaces forbid: a "bestseller" badge, a discount, a price,
a phone number, a shop address, "NEW".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from skimage import data as skdata

FONTS = Path("/usr/share/fonts/truetype/dejavu")
BOLD = FONTS / "DejaVuSans-Bold.ttf"
REGULAR = FONTS / "DejaVuSans.ttf"
FONT_PACKAGE = "fonts-dejavu-core"


@dataclass(frozen=True)
class DrawnLine:
    text: str
    bbox: tuple[int, int, int, int]  # where it was drawn (x0, y0, x1, y1)


@dataclass(frozen=True)
class DrawnPhoto:
    name: str
    image: Image.Image
    lines: tuple[DrawnLine, ...]

    @property
    def words(self) -> list[str]:
        return [word for line in self.lines for word in line.text.split()]


def fonts_missing() -> str | None:
    missing = [str(p) for p in (BOLD, REGULAR) if not p.is_file()]
    return f"no {', '.join(missing)} (Debian: {FONT_PACKAGE})" if missing else None


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, ...],
    badge: tuple[int, ...] | None = None,
) -> DrawnLine:
    box = draw.textbbox(xy, text, font=font)
    if badge is not None:
        pad = font.size // 3
        draw.rounded_rectangle(
            (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), radius=pad, fill=badge
        )
    draw.text(xy, text, font=font, fill=fill)
    return DrawnLine(text, (box[0], box[1], box[2], box[3]))


def coffee_card() -> DrawnPhoto:
    """A cup of coffee (1200×800): a red badge, a yellow discount on the photo itself,
    "NEW" on a white sticker, a phone number along the bottom."""
    image = Image.fromarray(skdata.coffee()).resize((1200, 800), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image, "RGBA")
    lines = (
        _text(draw, (60, 50), "ХИТ ПРОДАЖ", _font(BOLD, 64), (255, 255, 255), (215, 25, 32)),
        _text(draw, (880, 60), "NEW", _font(BOLD, 72), (20, 20, 20), (255, 255, 255)),
        _text(draw, (640, 600), "СКИДКА 50%", _font(BOLD, 70), (255, 221, 0)),
        _text(
            draw,
            (60, 700),
            "+7 (999) 123-45-67",
            _font(REGULAR, 48),
            (255, 255, 255),
            (0, 0, 0, 150),
        ),
    )
    return DrawnPhoto("coffee", image, lines)


def astronaut_card() -> DrawnPhoto:
    """A portrait (1024×1024) as a clothing card: a sale banner, a price, free delivery and
    a shop address in smaller type."""
    image = Image.fromarray(skdata.astronaut()).resize((1024, 1024), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image, "RGBA")
    lines = (
        _text(draw, (40, 40), "SALE -30%", _font(BOLD, 80), (255, 255, 255), (200, 0, 60)),
        _text(draw, (620, 60), "1990 ₽", _font(BOLD, 72), (255, 255, 255), (0, 0, 0, 170)),
        _text(
            draw, (40, 860), "Бесплатная доставка", _font(BOLD, 56), (20, 20, 20), (255, 235, 59)
        ),
        _text(draw, (40, 950), "shop-vitrina.ru", _font(REGULAR, 40), (255, 255, 255)),
    )
    return DrawnPhoto("astronaut", image, lines)


def drawn_photos() -> list[DrawnPhoto]:
    return [coffee_card(), astronaut_card()]
