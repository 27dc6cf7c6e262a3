"""What an operation hands back when it produces a picture.

Text results (tags, descriptions) are their own dataclasses; every image-producing operation
(edits, backgrounds, cards) returns an `ImageResult`, which the bot stores next to the photos
and sends as a photo replying to the user's picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image


@dataclass
class ImageResult:
    """A finished picture at the photo's original size, and the facts behind it.

    `facts` is JSON-able: it is stored with the result and fills the caption (seed, steps,
    changed share, background...). `document` asks for the file to be sent as a document
    (a transparent PNG or a marketplace card must not be recompressed by Telegram).
    """

    image: Image.Image
    facts: dict[str, Any] = field(default_factory=dict)
    document: bool = False
    #: False: do not answer a repeat of this job with it (e.g. degraded by a fallback)
    cacheable: bool = True
    #: what the chat shows instead of `image` (a before/after); the file kept and "Full
    #: size" are still `image`
    preview: Image.Image | None = None
    #: the file exactly as it must reach the user (a marketplace card's JPEG), kept and sent
    #: instead of a PNG of `image`; `extension` names its type
    data: bytes | None = None
    extension: str = "png"

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


@dataclass(frozen=True)
class ObjectMeasure:
    """The cut object's box in a photo (`background` with ``measure``): a catalogue's first
    pass, from which one card scale for the whole set is computed (`services/catalogue.py`)."""

    width: int  # of the object's alpha box, in the photo's pixels
    height: int
    image_width: int
    image_height: int
    #: the product's dominant colour ("#rrggbb"; None: grey, black or white): a set's
    #: galleries take one brand colour from it
    colour: str | None = None

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0


@dataclass(frozen=True)
class StoredImage:
    """An image result as the results table keeps it: the file under the results folder,
    its chat preview, whether it goes as a document, Telegram's file id once sent, and the
    facts its caption is drawn from (the rest of the payload)."""

    file: str
    preview: str | None = None
    document: bool = False
    telegram_file_id: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    #: payload fields that are the stored file's, not the caption's facts
    OWN_FIELDS: ClassVar[tuple[str, ...]] = ("file", "preview", "document", "telegram_file_id")

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> StoredImage:
        facts = {k: v for k, v in payload.items() if k not in cls.OWN_FIELDS}
        file_id = payload.get("telegram_file_id")
        return cls(
            file=str(payload.get("file") or ""),
            preview=str(payload["preview"]) if payload.get("preview") else None,
            document=bool(payload.get("document")),
            telegram_file_id=str(file_id) if file_id else None,
            facts=facts,
        )

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {**self.facts, "file": self.file, "document": self.document}
        if self.preview:
            payload["preview"] = self.preview
        if self.telegram_file_id:
            payload["telegram_file_id"] = self.telegram_file_id
        return payload

    def renamed(self, job_id: int) -> StoredImage:
        """The same picture under another job's file names (a cache hit's linked copies)."""
        preview = f"{job_id}{Path(self.preview).suffix}" if self.preview else None
        file = f"{job_id}{Path(self.file).suffix}" if self.file else ""
        return replace(self, file=file, preview=preview)
