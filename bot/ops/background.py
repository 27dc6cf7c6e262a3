"""/background: the product cut out (ISNet + SAM) on a colour, gradient, preset, the user's
own photo or a generated scene (services/operations/background.py); the rule for the user's
photo as the background and the follow-ups live in bot/background_requests.py."""

from __future__ import annotations

import argparse
import html
from pathlib import Path
from typing import Any

from bot.command_parsing import ParsedCommand, parse_background
from bot.ops.spec import MENU, CliFlag, OpSpec, SetAction
from bot.settings import SettingsError
from bot.texts import PRESET_KEYS, t
from services.operations import Op

#: a card's shape ("Card" under a background, a set's Cards button)
CARD_RATIO = "3:4"


def parse_spec(op: Op, args: str) -> ParsedCommand:
    """`/background pink` (a colour, gradient, preset, `photo` or a scene in words); bare:
    the menu (or the user's /settings background)."""
    if not args:
        return ParsedCommand(op, problem="background.ask")
    spec = parse_background(args)
    if spec is None:
        return ParsedCommand(op, {"value": args}, problem="background.bad")
    return ParsedCommand(op, spec)


def caption(facts: dict[str, Any], lang: str) -> str:
    """`Background: pink (#ffc0cb) · object 1 of 3` (+ the card's size)."""
    kind = facts.get("kind")
    if kind == "colour":
        name = facts.get("name")
        what = f"{html.escape(str(name))} ({facts.get('value')})" if name else facts.get("value")
    elif kind == "gradient":
        what = t(lang, "bg.gradient", colours=" → ".join(facts.get("colours", [])))
    elif kind == "preset":
        what = t(lang, PRESET_KEYS[str(facts.get("value"))])
    elif kind == "prompt":
        what = f"«{html.escape(str(facts.get('prompt', '')))}» · seed {facts.get('seed')}"
    elif kind == "photo":
        what = t(lang, "bg.photo")
    else:
        what = t(lang, "bg.transparent")
    parts = [t(lang, "bg.caption", what=what)]
    total = int(facts.get("candidates", 1) or 1)
    if total > 1:
        index = int(facts.get("candidate", 0) or 0) + 1
        parts.append(t(lang, "bg.object", index=index, total=total))
    text = " · ".join(str(part) for part in parts)
    if facts.get("card"):
        size = {"3:4": (900, 1200), "1:1": (1200, 1200)}.get(str(facts["card"]), (0, 0))
        text += "\n" + t(lang, "bg.card", ratio=facts["card"], width=size[0], height=size[1])
    return text


def wrong_object(
    op: str, params: dict[str, Any], facts: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """The next candidate cut (cycling back to the first); None when there is only one."""
    total = max(1, int(facts.get("candidates", 1) or 1))
    if total == 1:
        return None
    current = int(facts.get("candidate", params.get("candidate", 0)) or 0)
    return op, {**params, "candidate": (current + 1) % total}


def card(op: str, params: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The same background and cut as a 3:4 marketplace card (sent as a document)."""
    candidate = int(facts.get("candidate", params.get("candidate", 0)) or 0)
    return op, {**params, "candidate": candidate, "card": CARD_RATIO}


def _add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--background",
        metavar="SPEC",
        help="a colour (pink, #ffc0cb), 'gradient pink blue', transparent, a preset "
        "(studio, blush, sky, marble, wood, concrete, linen), a photo file, or a scene in words",
    )
    parser.add_argument(
        "--card",
        nargs="?",
        const="3:4",
        choices=("3:4", "1:1"),
        default=None,
        help="with --background: a marketplace card, 900x1200 (3:4) or 1200x1200 (1:1)",
    )
    parser.add_argument("--no-shadow", action="store_true", help="no contact shadow")


def _flag_params(args: argparse.Namespace) -> dict[str, Any] | None:
    from services.imaging.decode import IMAGE_SUFFIXES

    if not args.background:
        if args.card:
            raise SettingsError("--card needs --background (e.g. --background white --card)")
        return None
    as_file = Path(args.background)
    if as_file.suffix.lower() in IMAGE_SUFFIXES and as_file.is_file():
        spec: dict[str, Any] | None = {"kind": "photo", "background_path": str(as_file)}
    else:
        spec = parse_background(args.background)
    if spec is None or spec.get("kind") == "photo" and "background_path" not in spec:
        raise SettingsError(
            f"--background: cannot understand {args.background!r} (a colour such as pink "
            "or #ffc0cb, 'gradient pink blue', transparent, a preset, an image file, or a "
            "scene of a few words)"
        )
    params = spec | ({"card": args.card} if args.card else {})
    if args.no_shadow:
        params["shadow"] = False
    return params


SPEC = OpSpec(
    Op.BACKGROUND,
    label_key="op.background",
    commands=("background", "bg"),
    menu_key="menu.background",
    help_key="help.background",
    parse=parse_spec,
    photo_button=4,
    photo_step=MENU,
    image_buttons=("wrong", "card"),
    follow_ups={"wrong": wrong_object, "card": card},
    caption=caption,
    set_actions=(
        SetAction(
            "background",
            label_key="op.background",
            position=2,
            op=Op.BACKGROUND,
            step=MENU,
            domains=("product",),
        ),
        SetAction(
            "card",
            label_key="set.button.card",
            position=3,
            op=Op.BACKGROUND,
            params={"card": CARD_RATIO},
            step=MENU,
            domains=("product",),
        ),
    ),
    cli=CliFlag(_add_flags, _flag_params),
)
