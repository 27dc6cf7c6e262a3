"""/background: the product cut out (ISNet + SAM) on a colour, gradient, preset, the user's
own photo or a generated scene (services/operations/background.py); the rule for the user's
photo as the background and the follow-ups live in bot/background_requests.py."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot import background_requests
from bot.command_parsing import ParsedCommand, parse_background
from bot.ops.spec import MENU, CliFlag, OpSpec, SetAction
from bot.settings import SettingsError
from services.operations import Op


def parse_spec(op: Op, args: str) -> ParsedCommand:
    """`/background pink` (a colour, gradient, preset, `photo` or a scene in words); bare:
    the menu (or the user's /settings background)."""
    if not args:
        return ParsedCommand(op, problem="background.ask")
    spec = parse_background(args)
    if spec is None:
        return ParsedCommand(op, {"value": args}, problem="background.bad")
    return ParsedCommand(op, spec)


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
    follow_ups={"wrong": background_requests.wrong_object, "card": background_requests.card},
    caption=background_requests.caption,
    set_actions=(
        SetAction(
            "background", label_key="op.background", position=2, op=Op.BACKGROUND, step=MENU
        ),
        SetAction(
            "card",
            label_key="set.button.card",
            position=3,
            op=Op.BACKGROUND,
            params={"card": "3:4"},
            step=MENU,
        ),
    ),
    cli=CliFlag(_add_flags, _flag_params),
)
