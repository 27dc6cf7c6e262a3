"""Parsing what the user typed into an operation and its parameters (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import BotCommand

from services.edit_presets import load_presets

#: command -> operation
COMMAND_OPS = {
    "tag": "tag",
    "tags": "tag",
    "night": "night",
    "tulips": "tulips",
    "edit": "edit",
    "background": "background",
    "bg": "background",
    "describe": "describe",
}

COLOURS = {
    "white": "#ffffff", "black": "#000000", "gray": "#808080", "grey": "#808080",
    "pink": "#ffc0cb", "beige": "#f5f5dc", "blue": "#4a90d9", "green": "#5aa469",
    "red": "#d9534f", "yellow": "#f7d154",
    "белый": "#ffffff", "черный": "#000000", "чёрный": "#000000", "серый": "#808080",
    "розовый": "#ffc0cb", "бежевый": "#f5f5dc", "синий": "#4a90d9", "зеленый": "#5aa469",
    "зелёный": "#5aa469", "красный": "#d9534f", "желтый": "#f7d154", "жёлтый": "#f7d154",
}  # fmt: skip
SPECIAL_BACKGROUNDS = ("gradient", "transparent")
PRESETS = ("studio", "marble", "wood", "concrete", "linen")
#: The colour sub-menu under the Background button.
MENU_BACKGROUNDS = ("white", "pink", "beige", "gray", "black", "blue", "gradient", "transparent")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


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
    """A background spec as job params, or None if it is not one we understand."""
    value = value.strip()
    lowered = value.lower()
    if lowered in COLOURS:
        return {"kind": "colour", "value": COLOURS[lowered], "name": lowered}
    if _HEX.match(value):
        if len(value) == 4:
            value = "#" + "".join(ch * 2 for ch in value[1:])
        return {"kind": "colour", "value": value.lower()}
    if lowered in SPECIAL_BACKGROUNDS:
        return {"kind": lowered}
    if lowered in PRESETS:
        return {"kind": "preset", "value": lowered}
    if len(value) >= 3 and any(ch.isalpha() for ch in value) and len(value) <= 200:
        return {"kind": "prompt", "value": value}
    return None


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
    return ParsedCommand(op)


def bot_commands(lang: str) -> list[BotCommand]:
    """The menu Telegram shows next to the input field."""
    ru = lang == "ru"
    items = [
        ("tag", "Теги по фото" if ru else "Tags for the photo"),
        ("night", "Сделать ночь" if ru else "Make it night"),
        ("tulips", "Добавить тюльпаны" if ru else "Add tulips"),
        ("edit", "Правка по описанию" if ru else "Edit by a prompt"),
        ("background", "Новый фон" if ru else "New background"),
        ("describe", "Продающее описание" if ru else "Selling description"),
        ("domain", "Товары или отель" if ru else "Products or hotel"),
        ("help", "Справка" if ru else "Help"),
    ]
    return [BotCommand(command=c, description=d) for c, d in items]
