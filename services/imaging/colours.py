"""Colour names (CSS and Russian), hex forms and gradient specs: the one table the bot's
command parser and the compositor share. Pure: no aiogram, no torch."""

from __future__ import annotations

import re

import numpy as np
from PIL import ImageColor

RGB = tuple[int, int, int]

#: Our own shades for the everyday names (softer than CSS "blue" #0000ff on a product card);
#: every other CSS name (ImageColor.colormap, 148 of them) is understood as CSS defines it.
BASIC = {
    "white": "#ffffff",
    "black": "#000000",
    "gray": "#808080",
    "grey": "#808080",
    "pink": "#ffc0cb",
    "beige": "#f5f5dc",
    "blue": "#4a90d9",
    "green": "#5aa469",
    "red": "#d9534f",
    "yellow": "#f7d154",
    "orange": "#f0a04b",
    "purple": "#9b72cf",
    "brown": "#8b5a2b",
    "cream": "#fff8e7",
    "mint": "#c8f0dc",
    "lavender": "#e6e6fa",
    "navy": "#1f3a5f",
    "turquoise": "#40e0d0",
    "peach": "#ffdab9",
    "olive": "#808000",
}
RUSSIAN = {
    "белый": "white",
    "черный": "black",
    "чёрный": "black",
    "серый": "gray",
    "розовый": "pink",
    "бежевый": "beige",
    "синий": "blue",
    "голубой": "lightblue",
    "зеленый": "green",
    "зелёный": "green",
    "красный": "red",
    "желтый": "yellow",
    "жёлтый": "yellow",
    "оранжевый": "orange",
    "фиолетовый": "purple",
    "сиреневый": "lavender",
    "коричневый": "brown",
    "кремовый": "cream",
    "мятный": "mint",
    "лавандовый": "lavender",
    "бирюзовый": "turquoise",
    "персиковый": "peach",
    "оливковый": "olive",
    "золотой": "gold",
    "серебряный": "silver",
    "бордовый": "maroon",
    "тёмно-синий": "navy",
    "темно-синий": "navy",
}

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
#: Words that mean "a gradient" in both languages.
GRADIENT_WORDS = ("gradient", "градиент")
#: Default gradient (top to bottom) when no colours are named: soft pink into white.
DEFAULT_GRADIENT = ("#fbe3ea", "#ffffff")


def _table() -> dict[str, str]:
    named = {
        name: value.lower()
        for name, value in ImageColor.colormap.items()
        if isinstance(value, str) and value.startswith("#")
    }
    named.update(BASIC)
    named.update({ru: named[en] for ru, en in RUSSIAN.items()})
    return named


#: name (lower case, English CSS or Russian) -> "#rrggbb"
COLOURS: dict[str, str] = _table()
#: Names shown when a colour is not understood (a short, useful list per language).
SUGGESTED = {
    "en": (
        "white",
        "pink",
        "beige",
        "gray",
        "black",
        "blue",
        "green",
        "red",
        "yellow",
        "cream",
        "mint",
        "lavender",
    ),
    "ru": (
        "белый",
        "розовый",
        "бежевый",
        "серый",
        "чёрный",
        "синий",
        "зелёный",
        "красный",
        "жёлтый",
        "кремовый",
        "мятный",
        "лавандовый",
    ),
}


def normalise_hex(value: str) -> str | None:
    """'#FC0' -> '#ffcc00'; None if `value` is not #rgb or #rrggbb."""
    value = value.strip()
    if not _HEX.match(value):
        return None
    if len(value) == 4:
        value = "#" + "".join(ch * 2 for ch in value[1:])
    return value.lower()


def colour_value(word: str) -> str | None:
    """A colour name or hex as '#rrggbb', or None."""
    return COLOURS.get(word.strip().lower()) or normalise_hex(word)


def hex_to_rgb(value: str) -> RGB:
    """'#rrggbb' (or a known name) -> (r, g, b); ValueError if unknown."""
    resolved = colour_value(value)
    if resolved is None:
        raise ValueError(f"unknown colour {value!r}")
    return int(resolved[1:3], 16), int(resolved[3:5], 16), int(resolved[5:7], 16)


def parse_gradient(value: str) -> dict[str, object] | None:
    """'gradient', 'gradient pink blue', 'градиент розовый белый' -> gradient params.

    None if it does not start with a gradient word; {"kind": "gradient", "bad": word} when a
    named colour is unknown (so the caller can list the choices).
    """
    words = value.strip().lower().split()
    if not words or words[0] not in GRADIENT_WORDS:
        return None
    names = words[1:]
    if not names:
        return {"kind": "gradient", "colours": list(DEFAULT_GRADIENT)}
    colours = []
    for name in names[:4]:
        resolved = colour_value(name)
        if resolved is None:
            return {"kind": "gradient", "bad": name}
        colours.append(resolved)
    if len(colours) == 1:  # one colour: fade it into white
        colours.append("#ffffff")
    return {"kind": "gradient", "colours": colours}


def dominant_colour(rgba: np.ndarray) -> RGB | None:
    """The commonest saturated colour of the product's opaque pixels (a 4-bit-per-channel
    histogram); None when the product is grey, black or white."""
    pixels = rgba[..., :3][rgba[..., 3] >= 128].reshape(-1, 3)
    if len(pixels) == 0:
        return None
    sample = pixels[:: max(1, len(pixels) // 20_000)].astype(np.float64)
    high, low = sample.max(axis=1), sample.min(axis=1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0.0)
    colourful = sample[(saturation >= 0.25) & (high >= 51)]
    if len(colourful) < 0.05 * len(sample):
        return None
    bins = (colourful // 16).astype(np.int64)
    keys = bins[:, 0] * 256 + bins[:, 1] * 16 + bins[:, 2]
    top = np.bincount(keys).argmax()
    chosen = colourful[keys == top].mean(axis=0)
    return tuple(int(round(v)) for v in chosen)  # type: ignore[return-value]


def hex_colour(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)
