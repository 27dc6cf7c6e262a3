"""/straighten, /enhance and /room: a hotelier's room photos made straight and bright, and
a hotel set put in the order the platforms advise (services/operations/straighten.py,
enhance.py, room.py; the order itself: bot/sets/room_order.py). A hotel /check and "Fix for
Booking" are /check's and /fix's with a hotel platform's profile (bot/ops/marketplace.py)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import hotel_rendering
from bot.command_parsing import ParsedCommand
from bot.ops.edits import with_strength
from bot.ops.spec import CliFlag, OpSpec, SetAction
from services.operations import Op

if TYPE_CHECKING:
    from bot.storage import User
    from services.config import ServiceConfig

#: /enhance's words for the strengths (the /settings row's values)
STRENGTH_WORDS = {
    "gentle": "gentle",
    "мягко": "gentle",
    "слабо": "gentle",
    "normal": "normal",
    "нормально": "normal",
    "обычно": "normal",
    "strong": "strong",
    "сильно": "strong",
}


def parse_strength(op: Op, args: str) -> ParsedCommand:
    """`/enhance` (the user's strength) or `/enhance strong|сильно|gentle|мягко`."""
    if not args:
        return ParsedCommand(op)
    strength = STRENGTH_WORDS.get(args.strip().lower())
    if strength is None:
        return ParsedCommand(op, {"value": args[:100]}, problem="enhance.bad")
    return ParsedCommand(op, {"strength": strength})


def with_hotel_profile(
    params: dict[str, Any], user: User | None, config: ServiceConfig
) -> dict[str, Any]:
    """/room judges a photo's problems by the user's hotel platform (Booking until chosen)."""
    from services.marketplace.profiles import load_profiles

    params.setdefault("profile", load_profiles().for_user(user.profile if user else None, "hotel"))
    return params


def _add_straighten(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--straighten",
        action="store_true",
        help="make verticals vertical and the horizon level: OUT/<name>-straighten.png",
    )


def _add_enhance(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--enhance",
        nargs="?",
        const="normal",
        choices=("gentle", "normal", "strong"),
        help="brighten: levels, white balance, local contrast: OUT/<name>-enhance.png",
    )


def _add_order(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--order",
        action="store_true",
        help="a hotel's gallery order (room type by CLIP, cover, duplicates): "
        "OUT/order/01-facade.jpg ... and OUT/order/order.csv",
    )


def _order_params(args: argparse.Namespace) -> dict[str, Any] | None:
    if not args.order:
        return None
    from services.marketplace.profiles import load_profiles

    return {"profile": load_profiles().for_user(getattr(args, "profile", None), "hotel")}


async def _write_order(rows: list[dict[str, Any]], out: Path) -> None:
    """--order: the photos copied under their new names beside the order's table."""
    from services.hotel.gallery_files import order_csv, order_rows
    from services.hotel.ordering import order_gallery
    from services.results.room import RoomFacts

    done = [r for r in rows if r["op"] == Op.ROOM and r["status"] == "done"]
    if not done:
        return
    sources = {Path(r["file"]).name: Path(r["file"]) for r in done}
    photos = [RoomFacts.from_payload(r["result"]).photo(Path(r["file"]).name) for r in done]
    ordering = order_gallery(photos)
    table = order_rows(ordering, {name: path.suffix for name, path in sources.items()})
    folder = out / "order"

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for row in table:
            shutil.copyfile(sources[row["source"]], folder / row["file"])
        (folder / "order.csv").write_text(order_csv(table), encoding="utf-8")

    await asyncio.to_thread(write)


SPECS = (
    OpSpec(
        Op.STRAIGHTEN,
        label_key="op.straighten",
        commands=("straighten",),
        menu_key="menu.straighten",
        help_key="help.straighten",
        caption=hotel_rendering.straighten_caption,
        cli=CliFlag(_add_straighten, lambda args: {} if args.straighten else None),
    ),
    OpSpec(
        Op.ENHANCE,
        label_key="op.enhance",
        commands=("enhance", "brighten"),
        menu_key="menu.enhance",
        help_key="help.enhance",
        parse=parse_strength,
        fill_params=with_strength,
        caption=hotel_rendering.enhance_caption,
        cli=CliFlag(
            _add_enhance, lambda args: {"strength": args.enhance} if args.enhance else None
        ),
    ),
    OpSpec(
        Op.ROOM,
        label_key="op.room",
        commands=("room",),
        menu_key="menu.room",
        help_key="help.room",
        fill_params=with_hotel_profile,
        set_actions=(
            SetAction(
                "order", label_key="set.button.order", position=10, op=Op.ROOM, domains=("hotel",)
            ),
        ),
        cli=CliFlag(_add_order, _order_params, finish=_write_order),
    ),
)
