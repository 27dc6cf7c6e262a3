"""`ResultKind`: one per kind of result the bot keeps, registered once in `KINDS`.

A kind knows its stored name (the results table's ``kind`` column: stored rows keep it, so it
never changes), the typed value its payload stands for, how to write and read that payload,
the words it adds to its photo's search entry and its cells of results.csv. A new kind is one
subclass here and one entry in `KINDS` (and its view in `bot/result_views.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from services.describer.result import Copy, DescriptionResult
from services.marketplace.summary import CheckSummary
from services.models.clip import Tag, TagResult
from services.results.gallery import StoredGallery, StoredSlide
from services.results.image import ObjectMeasure, StoredImage
from services.results.room import RoomFacts

#: results.csv's columns that a kind fills (the rest are the photo's and the job's)
KIND_COLUMNS = ("tags", "description", "grade", "note")
#: results.csv's note on a card whose photo held several objects (none clearly the product,
#: or the product split from what stands behind it)
#: (both languages, as the tags are: the file goes to whoever opens it)
NEEDS_LOOK_NOTE = (
    "проверьте карточку: на фото несколько объектов / check the card: several objects in the photo"
)


class UnknownKind(TypeError):
    """A result (or a stored kind) no `ResultKind` stands for."""


class ResultKind:
    """How one kind of result travels: payload in and out, index texts, CSV cells."""

    name: ClassVar[str]
    #: the value `from_payload` returns (and `to_payload` takes)
    value_type: ClassVar[type]

    def to_payload(self, value: Any) -> dict[str, Any]:
        """JSON-able, as the results table stores it."""
        return dataclasses.asdict(value)

    def from_payload(self, payload: Mapping[str, Any]) -> Any:
        """The typed value back from a stored payload (KeyError/TypeError if it is not one)."""
        raise NotImplementedError

    def index_texts(self, value: Any) -> list[str]:
        """The words this result adds to its photo's entry in the search index."""
        return []

    def csv_cells(self, value: Any) -> dict[str, str]:
        """Its cells among `KIND_COLUMNS`."""
        return {}

    def files(self, value: Any) -> list[str]:
        """The files it keeps in the results folder (names), the main one first."""
        return []

    def renamed(self, value: Any, job_id: int) -> Any:
        """The same result under another job's file names (a cache hit's linked copies)."""
        return value

    # ---- the same, from a stored payload that may be old or foreign

    def texts_of(self, payload: Mapping[str, Any]) -> list[str]:
        try:
            return [text for text in self.index_texts(self.from_payload(payload)) if text]
        except (KeyError, TypeError, AttributeError, ValueError):
            return []

    def cells_of(self, payload: Mapping[str, Any]) -> dict[str, str]:
        try:
            return self.csv_cells(self.from_payload(payload))
        except (KeyError, TypeError, AttributeError, ValueError):
            return {}


class TagsKind(ResultKind):
    name = "tags"
    value_type = TagResult

    def from_payload(self, payload: Mapping[str, Any]) -> TagResult:
        def tags(items: Any) -> tuple[Tag, ...]:
            return tuple(Tag(**item) for item in items)

        return TagResult(
            str(payload["domain"]), tags(payload["tags"]), tags(payload.get("attributes", ()))
        )

    def index_texts(self, value: TagResult) -> list[str]:
        """Every item and attribute tag, Russian and English."""
        return [text for tag in all_tags(value) for text in (tag.ru, tag.en)]

    def csv_cells(self, value: TagResult) -> dict[str, str]:
        """`dress / платье (0.452); red / красный (0.301)`: items, then attributes."""
        cells = [f"{tag.en} / {tag.ru} ({float(tag.probability):.3f})" for tag in all_tags(value)]
        return {"tags": "; ".join(cells)}


def all_tags(value: TagResult) -> tuple[Tag, ...]:
    """Items, then attributes: the order every list of a photo's tags shows."""
    return (*value.tags, *value.attributes)


class CopyKind(ResultKind):
    """/describe's selling copy (stored as "description")."""

    name = "description"
    value_type = DescriptionResult

    def from_payload(self, payload: Mapping[str, Any]) -> DescriptionResult:
        english = payload.get("english") or {}
        return DescriptionResult(
            domain=str(payload.get("domain", "product")),
            title=str(payload["title"]),
            benefits=tuple(map(str, payload["benefits"])),
            closing=str(payload["closing"]),
            english=Copy(
                str(english.get("title", "")),
                tuple(map(str, english.get("benefits", ()))),
                str(english.get("closing", "")),
            ),
            path=str(payload.get("path", "local")),
            variant=int(payload.get("variant", 0)),
            template=str(payload.get("template", "")),
            caption=str(payload.get("caption", "")),
            tags=tuple(map(str, payload.get("tags", ()))),
        )

    def index_texts(self, value: DescriptionResult) -> list[str]:
        """The Russian copy, its English original, the BLIP caption and its tags."""
        return [*value.russian.fields(), *value.english.fields(), value.caption, *value.tags]

    def csv_cells(self, value: DescriptionResult) -> dict[str, str]:
        return {"description": value.russian.plain_lines()}


class CheckKind(ResultKind):
    name = "check"
    value_type = CheckSummary

    def to_payload(self, value: CheckSummary) -> dict[str, Any]:
        return value.to_payload()

    def from_payload(self, payload: Mapping[str, Any]) -> CheckSummary:
        return CheckSummary.from_payload(payload)

    def index_texts(self, value: CheckSummary) -> list[str]:
        """The words Tesseract read on the photo (boxes found but not read add nothing)."""
        return [line.text.strip() for line in value.texts if line.text and line.text.strip()]

    def csv_cells(self, value: CheckSummary) -> dict[str, str]:
        if value.grade is None:  # a room photo: ready or not for its platform
            return {"grade": "ready" if value.ready else "needs_fixing"}
        return {"grade": value.grade}

    def texts_of(self, payload: Mapping[str, Any]) -> list[str]:
        """Only the read lines: a row an older build stored may hold no more than them."""
        lines = payload.get("texts") if isinstance(payload, Mapping) else None
        if not isinstance(lines, list | tuple):
            return []
        read = (line.get("text") for line in lines if isinstance(line, Mapping))
        return [text.strip() for text in read if isinstance(text, str) and text.strip()]


class ImageKind(ResultKind):
    """A picture kept in the results folder (edits, backgrounds, clean, fix)."""

    name = "image"
    value_type = StoredImage

    def to_payload(self, value: StoredImage) -> dict[str, Any]:
        return value.to_payload()

    def from_payload(self, payload: Mapping[str, Any]) -> StoredImage:
        return StoredImage.from_payload(payload)

    def files(self, value: StoredImage) -> list[str]:
        return [name for name in (value.file, value.preview) if name]

    def renamed(self, value: StoredImage, job_id: int) -> StoredImage:
        return value.renamed(job_id)

    def csv_cells(self, value: StoredImage) -> dict[str, str]:
        """A card that needs a look says so (a Fix whose photo held several objects)."""
        return {"note": NEEDS_LOOK_NOTE} if value.facts.get("needs_look") else {}


class GalleryKind(ResultKind):
    """/gallery's slides: each slide's JPEG a result file ("<job id>-<n>.jpg"), the text
    drawn on them and each slide's own check."""

    name = "gallery"
    value_type = StoredGallery

    def from_payload(self, payload: Mapping[str, Any]) -> StoredGallery:
        slides = tuple(
            StoredSlide(
                kind=str(slide["kind"]),
                file=str(slide["file"]),
                grade=str(slide["grade"]),
                passed=bool(slide["passed"]),
                accuracy=None if slide.get("accuracy") is None else float(slide["accuracy"]),
                reasons=tuple(map(str, slide.get("reasons", ()))),
                redraws=int(slide.get("redraws", 0)),
            )
            for slide in payload["slides"]
        )
        return StoredGallery(
            profile=str(payload["profile"]),
            style=int(payload.get("style", 0)),
            title=str(payload["title"]),
            benefits=tuple(map(str, payload.get("benefits", ()))),
            slides=slides,
            notes=tuple(map(str, payload.get("notes", ()))),
            facts=dict(payload.get("facts") or {}),
        )

    def index_texts(self, value: StoredGallery) -> list[str]:
        """The title and the benefits drawn on the slides."""
        return [value.title, *value.benefits]

    def csv_cells(self, value: StoredGallery) -> dict[str, str]:
        """The title and benefits, and each slide's grade (`main: good_clean; ...`)."""
        grades = "; ".join(f"{slide.kind}: {slide.grade}" for slide in value.slides)
        return {"description": "\n".join([value.title, *value.benefits]), "grade": grades}

    def files(self, value: StoredGallery) -> list[str]:
        return [slide.file for slide in value.slides if slide.file]

    def renamed(self, value: StoredGallery, job_id: int) -> StoredGallery:
        slides = tuple(
            dataclasses.replace(slide, file=slide_file(job_id, number))
            for number, slide in enumerate(value.slides, start=1)
        )
        return dataclasses.replace(value, slides=slides)


def slide_file(job_id: int, number: int) -> str:
    """A gallery's slide in the results folder: "<job id>-<n>.jpg" (n from 1)."""
    return f"{job_id}-{number}.jpg"


class MeasureKind(ResultKind):
    """A set's first pass of card backgrounds: the cut object's box (services/catalogue.py)."""

    name = "measure"
    value_type = ObjectMeasure

    def from_payload(self, payload: Mapping[str, Any]) -> ObjectMeasure:
        return ObjectMeasure(**payload)


class RoomKind(ResultKind):
    """A hotel photo's room type and cover score (a hotel set's gallery order)."""

    name = "room"
    value_type = RoomFacts

    def to_payload(self, value: RoomFacts) -> dict[str, Any]:
        return value.to_payload()

    def from_payload(self, payload: Mapping[str, Any]) -> RoomFacts:
        return RoomFacts.from_payload(payload)

    def index_texts(self, value: RoomFacts) -> list[str]:
        return [value.room]

    def csv_cells(self, value: RoomFacts) -> dict[str, str]:
        return {"tags": value.room, "grade": f"{value.quality:.2f}"}


TAGS, COPY, CHECK, IMAGE = TagsKind(), CopyKind(), CheckKind(), ImageKind()
MEASURE, GALLERY, ROOM = MeasureKind(), GalleryKind(), RoomKind()
#: every kind, by its stored name
KINDS: dict[str, ResultKind] = {
    kind.name: kind for kind in (TAGS, COPY, CHECK, IMAGE, MEASURE, GALLERY, ROOM)
}


def kind_named(name: str) -> ResultKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(f"no result kind {name!r}") from None


def kind_of(value: Any) -> ResultKind:
    """The kind of a typed result (TagResult, DescriptionResult, CheckSummary, StoredImage)."""
    for kind in KINDS.values():
        if isinstance(value, kind.value_type):
            return kind
    raise UnknownKind(f"no result kind for {type(value).__name__}")
