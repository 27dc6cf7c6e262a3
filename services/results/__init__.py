"""What operations hand back, and how each kind of result is stored, indexed and tabulated.

`ImageResult` is what every picture-making operation returns. Every kind of result the bot
keeps has one `ResultKind` (`services.results.kinds`): its stored name, payload in and out,
the words it adds to the search index and its cells of results.csv. No other module reads a
result payload by hand; the bot renders a kind from its typed value (`bot/result_views.py`).
"""

from services.results.image import ImageResult, ObjectMeasure, StoredImage
from services.results.kinds import (
    CHECK,
    COPY,
    GALLERY,
    IMAGE,
    KINDS,
    MEASURE,
    ROOM,
    TAGS,
    ResultKind,
    UnknownKind,
    kind_named,
    kind_of,
)
from services.results.room import RoomFacts

__all__ = [
    "CHECK",
    "COPY",
    "GALLERY",
    "IMAGE",
    "KINDS",
    "MEASURE",
    "ROOM",
    "TAGS",
    "ImageResult",
    "ObjectMeasure",
    "ResultKind",
    "RoomFacts",
    "StoredImage",
    "UnknownKind",
    "kind_named",
    "kind_of",
]
