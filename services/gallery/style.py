"""A gallery's style: its font (Debian packages with Cyrillic: Inter, Roboto, Open Sans),
its brand colour (given, or the product's dominant colour darkened until white text on it
reads at 4.5:1) and its layout variant. A set gets one style for every product."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from services.errors import ModelUnavailable, ServiceError
from services.gallery.contrast import RGB, readable_brand
from services.gallery.templates import Templates, Variant
from services.imaging.colours import dominant_colour

#: font id -> (Debian package, bold file, medium file); found anywhere under /usr/share/fonts
FONTS: dict[str, tuple[str, str, str]] = {
    "inter": ("fonts-inter", "Inter-Bold.otf", "Inter-SemiBold.otf"),
    "roboto": ("fonts-roboto", "Roboto-Bold.ttf", "Roboto-Medium.ttf"),
    "open_sans": ("fonts-open-sans", "OpenSans-Bold.ttf", "OpenSans-Semibold.ttf"),
}
FONT_ROOT = "/usr/share/fonts"
#: a brand colour when the product has none (grey, black, white)
DEFAULT_BRAND: RGB = (31, 78, 140)


@lru_cache(maxsize=16)
def find_font(name: str) -> str | None:
    found = sorted(glob.glob(f"{FONT_ROOT}/**/{name}", recursive=True))
    return found[0] if found else None


def missing_fonts() -> list[str]:
    """The Debian packages of the style fonts that are not installed."""
    return [pkg for pkg, bold, medium in FONTS.values() if not find_font(bold)]


class FontsUnavailable(ModelUnavailable):
    """No style font is installed: /gallery is unavailable until the Debian packages are."""

    def __init__(
        self, model: str = "fonts", folder: Path = Path(FONT_ROOT), reason: str = ""
    ) -> None:
        self.model, self.folder, self.reason = model, folder, reason
        ServiceError.__init__(
            self,
            f"/gallery's fonts are not installed; install the Debian packages {reason} "
            "('make run' does)",
        )


@dataclass(frozen=True)
class Style:
    index: int
    font: str  # a FONTS id
    bold: str  # font file paths
    medium: str
    brand: RGB
    variant: Variant


def parse_brand(value: object) -> RGB | None:
    text = str(value or "").strip()
    if len(text) == 7 and text.startswith("#"):
        try:
            return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)
        except ValueError:
            return None
    return None


def make_style(
    index: int, templates: Templates, product: np.ndarray, *, font: str | None, brand: object
) -> Style:
    """The style `index` ("Another style" adds one): the variant's font unless `font` names
    one, the brand colour given or taken from `product` (RGBA array), made readable."""
    variant = templates.variant(index)
    name = font if font in FONTS else variant.font
    bold, medium = (find_font(f) for f in FONTS[name][1:])
    if bold is None or medium is None:  # the variant's font is absent: any one present
        for other, (_pkg, b, m) in FONTS.items():
            if find_font(b) and find_font(m):
                name, bold, medium = other, find_font(b), find_font(m)
                break
    if bold is None or medium is None:
        raise FontsUnavailable(reason=" ".join(missing_fonts()))
    base = parse_brand(brand) or dominant_colour(product) or DEFAULT_BRAND
    return Style(index, name, bold, medium, readable_brand(base), variant)
