"""What an operation hands back when it produces a picture.

Text results (tags, descriptions) are their own dataclasses; every image-producing operation
(edits, backgrounds, cards) returns an `ImageResult`, which the bot stores next to the photos
and sends as a photo replying to the user's picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0
