"""A hotel set's gallery in its new order as files: `01-facade.jpg`, `02-lobby.jpg`, … (a
near-duplicate keeps its place after the kept photos, named `…-duplicate.jpg`) and the
table beside them (position, file, type, score, problems, duplicate of). The bot's ZIP and
`vitrina process --order` write the same names and the same table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from services.hotel.ordering import Ordering, Placed

ORDER_COLUMNS = (
    "position",
    "file",
    "source",
    "type",
    "score",
    "cover",
    "problems",
    "duplicate_of",
)


def ordered_name(placed: Placed, suffix: str = ".jpg") -> str:
    tail = "-duplicate" if placed.duplicate_of else ""
    return f"{placed.position:02d}-{placed.room}{tail}{suffix.lower()}"


def order_rows(ordering: Ordering, suffixes: dict[str, str] | None = None) -> list[dict[str, str]]:
    """One row per photo in the new order (`suffixes`: a photo's name -> its file suffix)."""
    suffixes = suffixes or {}
    return [
        {
            "position": str(p.position),
            "file": ordered_name(
                p, suffixes.get(p.photo.name, Path(p.photo.name).suffix or ".jpg")
            ),
            "source": p.photo.name,
            "type": p.room,
            "score": f"{p.photo.quality:.2f}",
            "cover": "yes" if p.cover else "",
            "problems": " ".join(p.photo.problems),
            "duplicate_of": p.duplicate_of or "",
        }
        for p in ordering.placed
    ]


def order_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ORDER_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
