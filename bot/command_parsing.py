"""Parsing what the user typed into an operation and its parameters (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.edit_presets import load_presets
from services.imaging import backgrounds as background_presets
from services.imaging import colours as colour_table
from services.operations import LIBRARY_OPS, Op

if TYPE_CHECKING:
    from aiogram.types import BotCommand

#: command -> operation: each photo op's own name, and two short forms (/find and /groups
#: are the library's commands, handlers/library.py)
COMMAND_OPS: dict[str, Op] = {op.value: op for op in Op if op not in LIBRARY_OPS} | {
    "tags": Op.TAG,
    "bg": Op.BACKGROUND,
}

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
    head, _, args = text[1:].partition(" ")
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


def parse_command(name: str, args: str) -> ParsedCommand | None:
    """Turn a known command into an operation; None for commands that are not operations."""
    op = COMMAND_OPS.get(name)
    if op is None:
        return None
    if op == "edit":
        if not args:
            return ParsedCommand(op, problem="edit.ask")
        if args.lower().startswith("preset:"):  # /edit preset:starry
            name = args.split(":", 1)[1].strip().lower()
            if name not in load_presets():
                return ParsedCommand(op, {"value": name}, problem="edit.bad_preset")
            return ParsedCommand(op, {"preset": name})
        return ParsedCommand(op, {"prompt": args[:300]})
    if op == "background":
        if not args:
            return ParsedCommand(op, problem="background.ask")
        spec = parse_background(args)
        if spec is None:
            return ParsedCommand(op, {"value": args}, problem="background.bad")
        return ParsedCommand(op, spec)
    if op in (Op.CHECK, Op.FIX):  # /check [wb|ozon|ym|generic|вб|озон|ям...]
        if not args:
            return ParsedCommand(op)  # the user's own profile (bot/check_requests.py)
        profile = parse_profile(args)
        if profile is None:
            return ParsedCommand(op, {"value": args[:100]}, problem="check.bad_profile")
        return ParsedCommand(op, {"profile": profile})
    if op == Op.CLEAN:  # /clean [all]
        if not args:
            return ParsedCommand(op)
        if args.lower() in EVERYTHING_WORDS:
            return ParsedCommand(op, {"all": True})
        return ParsedCommand(op, {"value": args[:100]}, problem="clean.bad")
    return ParsedCommand(op)


#: `/clean all`: the text on the product goes too
EVERYTHING_WORDS = ("all", "everything", "всё", "все", "везде")


def parse_profile(name: str) -> str | None:
    """A marketplace profile's id from its id or an alias (`вб`, `яндекс маркет`)."""
    from services.marketplace.profiles import load_profiles

    try:
        return load_profiles().get(name).id
    except KeyError:
        return None


def bot_commands(lang: str) -> list[BotCommand]:
    """The menu Telegram shows next to the input field."""
    from aiogram.types import BotCommand  # `vitrina process` parses backgrounds without aiogram

    ru = lang == "ru"
    items = [
        ("tag", "Теги по фото" if ru else "Tags for the photo"),
        ("night", "Сделать ночь" if ru else "Make it night"),
        ("tulips", "Добавить тюльпаны" if ru else "Add tulips"),
        ("edit", "Правка по описанию" if ru else "Edit by a prompt"),
        ("background", "Новый фон" if ru else "New background"),
        ("describe", "Продающее описание" if ru else "Selling description"),
        ("check", "Проверка для маркетплейса" if ru else "Marketplace check"),
        ("clean", "Убрать текст с фото" if ru else "Remove text from the photo"),
        ("find", "Найти фото по словам" if ru else "Find photos by words"),
        ("history", "Мои последние фото" if ru else "My recent photos"),
        ("groups", "Разложить фото по группам" if ru else "Group my photos"),
        ("settings", "Настройки" if ru else "Settings"),
        ("delete", "Удалить фото (ответом на него)" if ru else "Delete a photo (as a reply)"),
        ("all", "Команда для всего набора фото" if ru else "A command for the whole set"),
        ("domain", "Товары или отель" if ru else "Products or hotel"),
        ("forget_me", "Удалить мои данные" if ru else "Delete my data"),
        ("help", "Справка" if ru else "Help"),
    ]
    return [BotCommand(command=c, description=d) for c, d in items]
