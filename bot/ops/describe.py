"""/describe: a selling description in Russian, by BLIP + templates or GPT-4o, translated
with opus-mt-en-ru (services/operations/describe.py)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.ops.spec import CliFlag, OpSpec, SetAction
from services.operations import Op


def next_variant(
    op: str, params: dict[str, Any], facts: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The same description job asking for the next text variant."""
    return op, {**params, "variant": int(facts.get("variant", params.get("variant", 0))) + 1}


def _add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--describe", action="store_true")


def _flag_params(args: argparse.Namespace) -> dict[str, Any] | None:
    return {"domain": args.domain} if args.describe else None


SPEC = OpSpec(
    Op.DESCRIBE,
    label_key="op.describe",
    commands=("describe",),
    menu_key="menu.describe",
    help_key="help.describe",
    takes_domain=True,
    photo_button=5,
    text_buttons=("english", "variant", "copy"),
    follow_ups={"variant": next_variant},
    set_actions=(SetAction("describe", label_key="op.describe", position=6, op=Op.DESCRIBE),),
    cli=CliFlag(_add_flag, _flag_params),
)
