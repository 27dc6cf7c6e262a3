"""What /gallery hands back (issue 28): the slides of one product card, each proved by the
project's own check and real OCR before it is sent.

`GalleryResult` leaves the model worker (pictures and their JPEG bytes); the bot stores each
slide's JPEG as a result file and the rest as the `gallery` kind's payload (`StoredGallery`,
services/results/kinds.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

#: the slides a gallery can hold, in the order the marketplace shows them
SLIDE_KINDS = ("main", "hero", "benefits", "detail", "scene")
#: box = (left, top, right, bottom) in the slide's pixels
Box = tuple[int, int, int, int]


@dataclass
class GallerySlide:
    kind: str  # one of SLIDE_KINDS
    image: Image.Image  # at the profile's card size (Wildberries 1200×1600)
    data: bytes  # the JPEG exactly as it goes to the user
    grade: str  # the `check` operation's grade of this slide
    passed: bool  # the self-check passed (grade, required rules, OCR read-back)
    accuracy: float | None = None  # OCR character accuracy of the drawn lines (None: no text)
    reasons: tuple[str, ...] = ()  # why it did not pass (after its redraws), for the user
    redraws: int = 0  # how often it was redrawn (bigger text / a plate), at most 2
    text_boxes: tuple[Box, ...] = ()  # where text was drawn (never over the product)
    lines: tuple[str, ...] = ()  # the text drawn on it, line by line


@dataclass
class GalleryResult:
    profile: str  # the marketplace profile's id (wb, ozon, ym, generic)
    style: int  # the style variant drawn ("Another style" asks for the next one)
    title: str
    benefits: tuple[str, ...]
    slides: tuple[GallerySlide, ...]
    notes: tuple[str, ...] = ()  # e.g. "title_only": only hero and scene could be made
    facts: dict[str, Any] = field(default_factory=dict)  # font, brand colour, share, seconds
    cacheable: bool = True


@dataclass(frozen=True)
class StoredSlide:
    kind: str
    file: str  # under the results folder: "<job id>-<n>.jpg"
    grade: str
    passed: bool
    accuracy: float | None = None
    reasons: tuple[str, ...] = ()
    redraws: int = 0


@dataclass(frozen=True)
class StoredGallery:
    """A gallery as the results table keeps it (the `gallery` kind's payload)."""

    profile: str
    style: int
    title: str
    benefits: tuple[str, ...]
    slides: tuple[StoredSlide, ...]
    notes: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
