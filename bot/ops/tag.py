"""/tag: CLIP labels for the photo, in Russian and English (services/operations/tag.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bot.ops.spec import CliFlag, OpSpec, SetAction
from bot.settings import SettingsError
from services.operations import Op

if TYPE_CHECKING:
    from bot.storage import User
    from services.config import ServiceConfig

#: threshold mode with no TAG_MIN_PROBABILITY set: every item tag above 10 %
THRESHOLD_DEFAULT = 0.1


def with_tags_mode(
    params: dict[str, Any], user: User | None, config: ServiceConfig
) -> dict[str, Any]:
    """/settings' tags mode: the top k items, or every item above a threshold."""
    if user is not None and user.tags_mode == "top_k":
        params.setdefault("min_probability", None)  # over TAG_MIN_PROBABILITY, if set
    elif user is not None and user.tags_mode == "threshold":
        params.setdefault("min_probability", config.tag_min_probability or THRESHOLD_DEFAULT)
        params.setdefault("top_k", 0)  # every item above the threshold
    return params


def _add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tag", action="store_true")
    parser.add_argument("--top-k", type=int, default=None, help="how many item tags")
    parser.add_argument(
        "--min-probability", type=float, default=None, help="threshold mode: items above this"
    )


def _flag_params(args: argparse.Namespace) -> dict[str, Any] | None:
    if not (args.tag or getattr(args, "group", False)):  # groups are named by their tags
        return None
    params: dict[str, Any] = {"domain": args.domain}
    if args.top_k is not None:
        params["top_k"] = args.top_k
    if args.min_probability is not None:
        if not 0.0 <= args.min_probability <= 1.0:
            raise SettingsError("--min-probability must be between 0 and 1")
        params["min_probability"] = args.min_probability
    return params


SPEC = OpSpec(
    Op.TAG,
    label_key="op.tag",
    commands=("tag", "tags"),
    menu_key="menu.tag",
    help_key="help.tag",
    fill_params=with_tags_mode,
    takes_domain=True,
    photo_button=1,
    set_actions=(SetAction("tag", label_key="op.tag", position=1, op=Op.TAG),),
    cli=CliFlag(_add_flags, _flag_params),
)
