"""/gallery: a product card's slides (main photo + infographics), each checked by the
project's own grader before it is sent (services/operations/gallery.py).

The slides' text (a title and up to five benefits) comes, in this order, from the lines
after the command, the photo's caption, the photo's latest /describe copy, or a dialogue
(the spec's `prepare` hook, run before the job is made: bot/jobs/preparing.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.command_parsing import ParsedCommand, parse_profile
from bot.ops.spec import CliFlag, OpSpec, SetAction
from bot.settings import SettingsError
from services.operations import Op
from services.results import COPY

if TYPE_CHECKING:
    from bot.storage import Photo, Storage, User
    from services.config import ServiceConfig

#: at most this many benefit lines under the title
MAX_BENEFITS = 5


def text_params(text: str) -> ParsedCommand | None:
    """Lines as the slides' text: the first = the title, the next (up to five) = benefits;
    None without a title; a ParsedCommand with its problem for too many lines."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line.lstrip("•-–—*· ").strip() for line in lines]
    lines = [line for line in lines if line]
    if not lines:
        return None
    if len(lines) > 1 + MAX_BENEFITS:
        return ParsedCommand(Op.GALLERY, {"value": len(lines) - 1}, problem="gallery.too_many")
    return ParsedCommand(Op.GALLERY, {"title": lines[0], "benefits": lines[1:]})


def parse_gallery(op: Op, args: str) -> ParsedCommand:
    """`/gallery [wb|ozon|ym]`, then optionally the text, one line each (a caption:
    "/gallery wb" on its first line, the title and the benefits below)."""
    head, _, rest = args.strip().partition("\n")
    profile = parse_profile(head.strip(), "product") if head.strip() else None
    params: dict[str, Any] = {"profile": profile} if profile else {}
    text = rest if profile or not head.strip() else args
    if not text.strip():
        return ParsedCommand(op, params)
    lines = text_params(text)
    if lines is None:
        return ParsedCommand(op, params)
    if lines.problem is not None:
        return ParsedCommand(op, lines.params, problem=lines.problem)
    return ParsedCommand(op, params | lines.params)


def with_brand(params: dict[str, Any], user: User | None, config: ServiceConfig) -> dict:
    """/settings' brand colour, unless the request named one (none: from the product)."""
    if user is not None and user.brand and "brand" not in params:
        return {**params, "brand": user.brand}
    return params


def next_style(op: str, params: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict]:
    """Another style: the same text and profile, the next style variant."""
    return op, {**params, "style": int(facts.get("style", params.get("style", 0))) + 1}


def _add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gallery",
        metavar="P",
        help="a product card's slides for marketplace P (wb, ozon, ym): OUT/<name>/01-main.jpg…",
    )
    parser.add_argument(
        "--texts",
        metavar="CSV",
        help="--gallery's texts: file name, title, benefits separated by |",
    )


def _flag_params(args: argparse.Namespace) -> dict[str, Any] | None:
    from bot.ops.marketplace import profile_flag

    if args.texts and not args.gallery:
        raise SettingsError("--texts goes with --gallery (e.g. --gallery wb --texts texts.csv)")
    wanted = args.gallery
    return {"profile": profile_flag("--gallery", wanted, only="product")} if wanted else None


async def with_text(storage: Storage, photo: Photo, params: dict[str, Any]) -> dict[str, Any]:
    """The slides' text where the request named none: the lines of the photo's caption,
    else its latest /describe copy (title and benefits); else none (the runner asks).
    A "title" of None (Edit text) is left for the runner to ask for."""
    if "title" in params:
        return params
    caption = photo.caption or ""
    if caption.startswith("/"):  # a command's caption: its own line is no text of the slides
        caption = caption.partition("\n")[2]
    if caption and (lines := text_params(caption)) and lines.problem is None:
        return params | lines.params
    copy = await storage.latest_result(photo.user_id, photo.sha256, COPY.name)
    if copy is not None:
        try:
            value = copy.value
        except (KeyError, TypeError, ValueError):
            return params
        benefits = [line for line in value.benefits if line][:MAX_BENEFITS]
        return params | {"title": value.title, "benefits": benefits}
    return params


def edit_text(op: str, params: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict]:
    """Edit text: the same gallery, its text asked for again (a title of None: ask)."""
    kept = {key: value for key, value in params.items() if key != "benefits"}
    return op, {**kept, "title": None}


def _file_params(args: argparse.Namespace, image: Path, params: dict[str, Any]) -> dict:
    from bot.cli.gallery_files import file_params

    return file_params(args, image, params)


def _save(result: Any, image: Path, out: Path) -> dict[str, Any]:
    from bot.cli.gallery_files import save

    return save(result, image, out)


SPEC = OpSpec(
    Op.GALLERY,
    label_key="op.gallery",
    commands=("gallery",),
    menu_key="menu.gallery",
    help_key="help.gallery",
    parse=parse_gallery,
    fill_params=with_brand,
    takes_profile=True,
    profile_domains=("product",),  # slides for a marketplace's card, whoever asks
    photo_button=9,
    text_buttons=("text", "style", "zip"),
    publishable=True,
    follow_ups={"style": next_style, "text": edit_text},
    set_actions=(
        SetAction(
            "gallery", label_key="op.gallery", position=9, op=Op.GALLERY, domains=("product",)
        ),
    ),
    cli=CliFlag(_add_flags, _flag_params, file_params=_file_params, save=_save),
    prepare=with_text,
    asks_for="title",
    question_key="gallery.ask",
)
