"""Parsing what the user typed (pure functions): a command's name and arguments, a
background, a marketplace profile. Which command runs which operation, with which parser:
bot/ops/."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.imaging import backgrounds as background_presets
from services.imaging import colours as colour_table

#: Colour names (CSS and Russian) -> "#rrggbb": one table, shared with the services.
COLOURS = colour_table.COLOURS
TRANSPARENT_WORDS = ("transparent", "прозрачный", "прозрачный фон", "без фона", "png")
PRESETS = tuple(background_presets.PRESETS)
#: The colour sub-menu under the Background button, then its row of presets.
MENU_BACKGROUNDS = ("white", "pink", "beige", "gray", "black", "blue", "gradient", "transparent")
MENU_PRESETS = ("studio", "blush", "sky", "marble", "wood", "concrete", "linen")


@dataclass(frozen=True)
class ParsedCommand:
    op: str
    params: dict[str, Any] = field(default_factory=dict)
    #: what is missing or wrong: "edit.ask", "background.ask", "background.bad"
    problem: str | None = None


def split_command(text: str | None, bot_username: str | None = None) -> tuple[str, str] | None:
    """'/Tag@vitrina_bot  args' -> ('tag', 'args'); None if the text is not a command."""
    if not text or not text.startswith("/"):
        return None
    head, _, args = text[1:].replace("\n", " \n", 1).partition(" ")  # a caption's lines
    name, _, mention = head.partition("@")
    if mention and bot_username and mention.lower() != bot_username.lower():
        return None
    return name.lower(), args.strip()


def parse_background(value: str) -> dict[str, Any] | None:
    """A background spec as job params, or None if it is not one we understand.

    A colour (CSS or Russian name, #rgb, #rrggbb), `gradient [colour colour…]`,
    `transparent`, a preset (English or Russian name) or `photo`; a phrase of two or more
    words is a scene to generate. A single unknown word is None: the caller lists the
    colours (a typo such as "pnik" must not start a minute of diffusion).
    """
    value = " ".join(value.split())
    lowered = value.lower()
    if lowered in COLOURS:
        return {"kind": "colour", "value": COLOURS[lowered], "name": lowered}
    hex_value = colour_table.normalise_hex(value)
    if hex_value is not None:
        return {"kind": "colour", "value": hex_value}
    if lowered in TRANSPARENT_WORDS:
        return {"kind": "transparent"}
    gradient = colour_table.parse_gradient(lowered)
    if gradient is not None:
        return None if "bad" in gradient else gradient
    preset = background_presets.PRESET_ALIASES.get(lowered, lowered)
    if preset in background_presets.PRESETS:
        return {"kind": "preset", "value": preset}
    if lowered in PHOTO_WORDS:
        return {"kind": "photo"}
    words = value.split()
    if len(words) >= 2 and 3 <= len(value) <= 200 and any(ch.isalpha() for ch in value):
        return {"kind": "prompt", "value": value}
    return None


#: `/background photo` (a reply to, or the caption of, the photo that becomes the background)
PHOTO_WORDS = ("photo", "фото", "this photo", "это фото")


def parse_profile(name: str, domain: str | None = None) -> str | None:
    """A profile's id from its id or an alias (`вб`, `яндекс маркет`, `букинг`); with
    `domain`, only that domain's (a card gallery is for marketplaces)."""
    from services.marketplace.profiles import load_profiles

    try:
        found = load_profiles().get(name)
    except KeyError:
        return None
    return found.id if domain is None or found.domain == domain else None
