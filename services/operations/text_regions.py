"""What /check, /clean and "Fix for <marketplace>" share: the text on a photo (the PP-OCR
detector's regions, read by Tesseract when it is installed), the mask that covers it, and
the photo as the cutter wants it.

The detector's probability map (48 MB at 12 MP) never leaves the worker: what goes on are
the regions' boxes and the words read in them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from services.errors import ModelUnavailable, ServiceError
from services.imaging.inpaint_fill import inpaint
from services.imaging.text_mask import clean_mask
from services.marketplace.signals import TextBox
from services.models.ocr_boxes import TextRegion
from services.models.ocr_detector import TextDetector
from services.models.ocr_reader import RecognisedText, TextReader
from services.operations.cut_candidates import WORK_SIDE as CUT_SIDE
from services.operations.cutout import Cutout

if TYPE_CHECKING:
    from services.operations.background import Cutter

log = logging.getLogger("vitrina.ocr")
#: Words Tesseract is less sure of than this are left out of what the user is shown.
MIN_WORD_CONFIDENCE = 0.3
#: A "line" whose height (its rotated box's shorter side) passes this share of the frame's
#: shorter side is a shape the detector mistook for text (a cup's rim, a bottle's neck):
#: captions on product photos stay far below it.
MAX_LINE_HEIGHT = 0.2
#: /clean's mask is worked out with the longer side at most this (see `text_mask`)
MASK_SIDE = 2048
#: A region is legible when Tesseract reads a word of at least 2 letters or digits in it
#: this sure; up to STRAY_MARKS illegible regions on a photo with no legible text at all
#: are texture the detector mistook for text (a run of faint labels is kept).
LEGIBLE_CONFIDENCE = 0.5
STRAY_MARKS = 2


@dataclass(frozen=True)
class Reading:
    """The text regions of one photo (reading order) and what was read in them."""

    regions: tuple[TextRegion, ...]
    #: one per region: its bbox and its words ("" when nothing legible; None: not read)
    boxes: tuple[TextBox, ...]
    read: bool  # Tesseract read the regions
    unread: str | None = None  # why it did not
    seconds: dict[str, float] = field(default_factory=dict)  # detect, read

    @property
    def text_boxes(self) -> tuple[TextBox, ...]:
        """The regions that are text, for grading: without stray marks (see STRAY_MARKS;
        unread regions are all kept)."""
        if not self.read:
            return self.boxes
        legible = [_legible(box) for box in self.boxes]
        if any(legible) or len(self.boxes) > STRAY_MARKS:
            return self.boxes
        return ()

    @property
    def quads(self) -> list[np.ndarray]:
        """The regions' rotated boxes (4×2), what a clean-up mask is made of."""
        return [np.asarray(region.box, dtype=np.float64) for region in self.regions]


class TextFinder:
    """One detector and one reader, shared by check, clean and fix (one model in memory)."""

    def __init__(self, detector: TextDetector, reader: TextReader | None = None) -> None:
        self.detector = detector
        self.reader = reader

    def missing_weights(self) -> list[str]:
        return [] if self.detector.available else [self.detector.name]

    def warm_up(self) -> None:
        self.detector.load()
        if self.reader is not None:
            self.reader.unavailable_reason()  # checked once, logged once

    @property
    def identity(self) -> list[str]:
        """What besides the detector's folder decides the reading (result-cache keys)."""
        reader = self.reader
        if reader is None or not reader.available:
            return ["unread", str(self.detector.limit)]
        return [reader.version, "+".join(reader.languages), str(self.detector.limit)]

    def find(self, image: Image.Image, *, read: bool = True) -> Reading:
        """The text regions of `image` (RGB, upright), and with `read` their words."""
        detection = self.detector.detect(image)
        limit = MAX_LINE_HEIGHT * min(image.size)
        regions = tuple(r for r in detection.regions if line_height(r) <= limit)
        seconds = {"detect": detection.seconds}
        del detection  # the full-size map: gone before anything else is allocated
        unread = None
        words: list[RecognisedText] = []
        started = time.perf_counter()
        if not read:
            unread = "not asked"
        elif self.reader is None:
            unread = "no reader configured"
        elif regions:
            try:
                words = self.reader.read(image, regions, min_confidence=MIN_WORD_CONFIDENCE)
            except ModelUnavailable as exc:  # Tesseract missing: logged once by the reader
                unread = str(exc)
            except ServiceError as exc:  # one failed run: grade from the regions alone
                log.warning("text reading failed: %s", exc)
                unread = str(exc)
        seconds["read"] = time.perf_counter() - started
        boxes = _boxes(regions, words, unread is None)
        return Reading(regions, boxes, unread is None, unread, seconds)

    def mask(
        self,
        rgb: np.ndarray,
        reading: Reading,
        object_mask: np.ndarray | None = None,
        *,
        everything: bool = False,
    ) -> np.ndarray:
        """What /clean removes: the regions grown over glyph edges, with their plates;
        the product kept unless `everything`."""
        return text_mask(rgb, reading.quads, object_mask, everything=everything)


def _legible(box: TextBox) -> bool:
    words = (box.text or "").split()
    sure = box.confidence is not None and box.confidence >= LEGIBLE_CONFIDENCE
    return sure and any(sum(ch.isalnum() for ch in word) >= 2 for word in words)


def line_height(region: TextRegion) -> float:
    """The line's height: its rotated box's shorter side."""
    points = np.asarray(region.box, dtype=np.float64)
    sides = np.linalg.norm(points - np.roll(points, -1, axis=0), axis=1)
    return float(min(sides[0] + sides[2], sides[1] + sides[3]) / 2)


def _boxes(
    regions: Sequence[TextRegion], words: Sequence[RecognisedText], read: bool
) -> tuple[TextBox, ...]:
    by_region: dict[int, list[RecognisedText]] = {}
    for word in words:
        by_region.setdefault(word.region, []).append(word)
    boxes = []
    for index, region in enumerate(regions):
        found = by_region.get(index, [])
        text = " ".join(word.text for word in found) if read else None
        confidence = float(np.mean([w.confidence for w in found])) if found else None
        boxes.append(TextBox(region.bbox, text, confidence))
    return tuple(boxes)


def with_alpha(path: Any, image: Image.Image) -> Image.Image:
    """The photo as the cutter wants it: RGBA when the file itself is transparent (its
    alpha says what is surely background), else the RGB `image`."""
    try:
        with Image.open(Path(path)) as opened:
            if opened.mode in ("RGBA", "LA", "PA") or (
                opened.mode == "P" and "transparency" in opened.info
            ):
                return ImageOps.exif_transpose(opened).convert("RGBA")
    except (OSError, ValueError, TypeError):
        pass  # load_rgb has read it already; a second failure is not ours to report
    return image


def product_alpha(
    cutter: Cutter,
    image: Image.Image,
    reading: Reading,
    *,
    source: Image.Image | None = None,
    key: str | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> np.ndarray:
    """`product_cut`'s alpha."""
    return product_cut(cutter, image, reading, source=source, key=key, cancelled=cancelled).alpha


def product_cut(
    cutter: Cutter,
    image: Image.Image,
    reading: Reading,
    *,
    source: Image.Image | None = None,
    key: str | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Cutout:
    """The product's cut (alpha 0..1 at the image's size), seen without the text: a
    saliency model takes captions and their plates for part of the object, which would
    make them the product's own print (and bring them onto a card). With text found,
    every region (the product's print too) is filled by Telea on a copy at the cut's own
    working size, and the copy is cut; the product stays salient as a whole. Without
    text: the photo's own cut (its features shared with /background)."""
    source = source or image
    if not reading.regions:
        return cutter.cut(source, cache_key=key, cancelled=cancelled)
    scale = min(1.0, CUT_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    rgb = np.asarray(small)
    quads = [quad * (size[0] / image.width, size[1] / image.height) for quad in reading.quads]
    textless = Image.fromarray(inpaint(rgb, clean_mask(rgb, quads, everything=True)))
    if source.mode == "RGBA":  # keep what the file says is transparent
        textless = textless.convert("RGBA")
        textless.putalpha(source.getchannel("A").resize(size, Image.Resampling.BILINEAR))
    cut = cutter.cut(textless, cache_key=f"{key}:textless" if key else None, cancelled=cancelled)
    alpha = cut.alpha
    if alpha.shape != (image.height, image.width):
        resized = Image.fromarray(alpha).resize(image.size, Image.Resampling.BILINEAR)
        alpha = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    return replace(cut, alpha=alpha)


def text_mask(
    rgb: np.ndarray,
    quads: Sequence[np.ndarray],
    object_mask: np.ndarray | None = None,
    *,
    everything: bool = False,
    side: int = MASK_SIDE,
) -> np.ndarray:
    """`clean_mask` worked out with the longer side at most `side` and scaled back up,
    grown by the scaling's rounding (never into the product: there the mask is as found).
    Plates on a 12 MP photo take seconds at full size; the detector's boxes come from a
    960 px map anyway."""
    height, width = rgb.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale >= 1.0:
        return clean_mask(rgb, quads, object_mask=object_mask, everything=everything)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    product = None
    if object_mask is not None:
        product = cv2.resize(
            object_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST
        ).astype(bool)
    ratio = (size[0] / width, size[1] / height)
    found = clean_mask(
        small, [q * ratio for q in quads], object_mask=product, everything=everything
    )
    up = cv2.resize(found.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    reach = math.ceil(1.0 / scale)
    grown = cv2.dilate(up, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)).astype(bool)
    if object_mask is not None and not everything:
        grown = np.where(object_mask, up.astype(bool), grown)
    return grown


def object_mask(alpha: np.ndarray) -> np.ndarray:
    """The cut's alpha (0..1) as the product's mask."""
    return np.asarray(alpha) >= 0.5
