"""The room types of a hotel set and the listing sites' advice, read from ``rooms.toml``.

The order of the ``[[room]]`` tables is the gallery order (Ostrovok's published one); each
``[[advice]]`` says how many kept photos of a type a set should have and who says so. Unknown
keys, unknown types, duplicate ids and missing sources are errors that name the place.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from services.marketplace.schema import MISSING, DataError, fail, string, table, words

DEFAULT_PATH = Path(__file__).resolve().parent / "rooms.toml"
SCHEMA = 1


@dataclass(frozen=True)
class RoomType:
    id: str
    prompts: tuple[str, ...]  # English CLIP prompts; their mean text embedding is the class


@dataclass(frozen=True)
class Advice:
    type: str  # a RoomType.id
    min: int  # kept photos of that type the set should have
    source: str  # who advises it, as shared/hotels.md cites


@dataclass(frozen=True)
class Rooms:
    types: tuple[RoomType, ...]  # in the gallery order
    advice: tuple[Advice, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.types)

    def rank(self, room: str) -> int:
        """The position of a room type in the gallery order (0 = first)."""
        return self.ids.index(room)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise fail(where, f"must be a whole number 1..100, not {value!r}")
    return value


def _slug(value: Any, where: str) -> str:
    text = string(value, where)
    if not text.isascii() or not text.replace("_", "").isalnum() or text != text.lower():
        raise fail(where, f"must be a lower-case ascii id (a file name part), not {value!r}")
    return text


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise fail(where, "must be a non-empty array of tables")
    return value


def parse(data: Any, where: str = "rooms.toml") -> Rooms:
    """Validate a parsed rooms document."""
    top = table(
        data,
        where,
        {
            "schema": (lambda v, w: v, MISSING),
            "room": (_list, MISSING),
            "advice": (_list, MISSING),
        },
    )
    if top["schema"] != SCHEMA:
        raise fail(f"{where}.schema", f"this Vitrina reads schema {SCHEMA}, not {top['schema']!r}")
    types: list[RoomType] = []
    for i, raw in enumerate(top["room"]):
        place = f"{where}: room[{i}]"
        room = table(raw, place, {"id": (_slug, MISSING), "prompts": (words, MISSING)})
        if room["id"] in {t.id for t in types}:
            raise fail(f"{place}.id", f"room type {room['id']!r} is listed twice")
        if not room["prompts"]:
            raise fail(f"{place}.prompts", "needs at least one prompt")
        types.append(RoomType(room["id"], room["prompts"]))
    known = [t.id for t in types]
    advice: list[Advice] = []
    for i, raw in enumerate(top["advice"]):
        place = f"{where}: advice[{i}]"
        entry = table(
            raw,
            place,
            {"type": (string, MISSING), "min": (_count, MISSING), "source": (string, MISSING)},
        )
        if entry["type"] not in known:
            raise fail(
                f"{place}.type", f"unknown room type {entry['type']!r}; known: {', '.join(known)}"
            )
        advice.append(Advice(entry["type"], entry["min"], entry["source"]))
    return Rooms(tuple(types), tuple(advice))


def load_rooms(path: Path = DEFAULT_PATH) -> Rooms:
    """Read and validate a rooms file; raises `DataError` naming the file, table and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: rooms file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, str(path))


@lru_cache(maxsize=1)
def default_rooms() -> Rooms:
    """The shipped rooms.toml (read once)."""
    return load_rooms()
