"""A hotel set's "Order the gallery": each photo's room facts (the `room` operation) put in
the order the platforms advise (services/hotel/ordering.py) — the summary (count per room
type, the cover, the duplicates, what Booking's advice misses), the photos again as albums
in the new order, and in the ZIP `01-facade.jpg`… with results.csv (type, score, problems,
duplicate of)."""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiogram.types import BufferedInputFile, InputMediaPhoto

from bot.sets.archive import Member
from services.hotel.gallery_files import order_csv, order_rows, ordered_name
from services.hotel.ordering import Ordering, order_gallery
from services.imaging.decode import load_rgb
from services.operations import Op
from services.results import ROOM
from services.results.room import RoomFacts

if TYPE_CHECKING:
    from bot.sets.delivery import Outcome

PREVIEW_SIDE = 1280  # the album's photos: as Telegram would show them anyway


def is_order(op: str) -> bool:
    return op == Op.ROOM


def ordering_of(outcomes: Sequence[Outcome]) -> Ordering | None:
    """The new order of the photos whose room facts came back (None: none did)."""
    photos = [
        RoomFacts.from_payload(o.result.payload).photo(o.item.name)
        for o in outcomes
        if o.result is not None and o.result.kind == ROOM.name
    ]
    return order_gallery(photos) if photos else None


def album(ordering: Ordering, paths: Mapping[str, Path]) -> list[InputMediaPhoto]:
    """The photos in their new order (read and scaled in a thread), each captioned with
    its place and room type."""
    media = []
    for placed in ordering.placed:
        path = paths.get(placed.photo.name)
        if path is None or not path.is_file():
            continue
        buffer = io.BytesIO()
        load_rgb(path, PREVIEW_SIDE).save(buffer, "JPEG", quality=88)
        name = ordered_name(placed)
        file = BufferedInputFile(buffer.getvalue(), filename=name)
        media.append(InputMediaPhoto(media=file, caption=html.escape(name)))
    return media


def zip_contents(ordering: Ordering, paths: Mapping[str, Path]) -> tuple[list[Member], str]:
    """The originals under their new names, and the order's table as results.csv."""
    suffixes = {name: (path.suffix or ".jpg") for name, path in paths.items()}
    rows = order_rows(ordering, suffixes)
    members = [Member(row["file"], paths[row["source"]]) for row in rows if row["source"] in paths]
    return members, order_csv(rows)
