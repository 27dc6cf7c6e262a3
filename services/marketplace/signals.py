"""The grading's signals, measured on pixels: text regions (share, size, contrast, colours,
where they sit), the background outside the product (uniformity, texture, colour), the
product (share, span, touching the frame), sharpness, resolution; the language of the
words read beside the product (words.py). Pure numpy/OpenCV.

Inputs are plain: an RGB array, the product's mask (bool H×W) and text boxes in pixels.
Everything is measured on a copy whose longer side is at most `WORK_SIDE`, so a 12 MP
photo and its 1 MP copy give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from services.marketplace.words import language

WORK_SIDE = 1024
#: A text box lower than this share of the frame's height is small text.
SMALL_TEXT = 0.03
#: Glyph-vs-plate luminance difference (0..255) below which text is low-contrast.
LOW_CONTRAST = 60.0
#: Two label colours closer than this (CIE76 ΔE) are one colour.
SAME_COLOUR = 22.0
#: A box at least this much inside the product's mask is "over the product".
OVER_PRODUCT = 0.5
#: ... and at least this much inside, the product's own print (a label on the pack): it
#: does not count as text added to the photo.
PRODUCT_PRINT = 0.9

_NUMERIC = (
    "text_count",
    "text_outside",
    "text_share",
    "text_height",
    "text_small",
    "text_contrast",
    "text_low_contrast",
    "label_colours",
    "object_share",
    "object_fill",
    "touches_border",
    "background_share",
    "background_std",
    "background_texture",
    "background_edges",
    "background_lightness",
    "background_chroma",
    "sharpness",
    "text_letters",
    "text_tokens",
    "text_russian",
    "text_nonwords",
)
BACKGROUNDS = ("white", "light", "neutral", "colour")


@dataclass(frozen=True)
class TextBox:
    """A text region in the photo's pixels; text and confidence when a reader read it."""

    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)
    text: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class BoxSignals:
    height: float  # the box's height as a share of the frame's
    contrast: float  # glyph vs plate luminance, 0..255 (Otsu's two classes' means)
    plate: tuple[int, int, int]  # mean RGB of the box's larger Otsu class
    glyph: tuple[int, int, int]  # ... and of the smaller one
    place: str  # top | bottom | over_product
    inside: float  # share of the box inside the product's mask


@dataclass(frozen=True)
class Signals:
    width: int
    height: int
    text_count: int
    text_outside: int  # boxes that are not the product's own print (PRODUCT_PRINT)
    text_share: float  # union of the boxes / frame
    text_height: float  # median box height / frame height (0 without text)
    text_small: float  # share of boxes lower than SMALL_TEXT
    text_contrast: float  # median contrast (0 without text)
    text_low_contrast: float  # share of boxes below LOW_CONTRAST
    label_colours: int  # distinct plate and glyph colours
    object_share: float  # mask area / frame
    object_fill: float  # the product's longer span: max(bbox w / W, bbox h / H)
    touches_border: int  # frame sides the product touches (0..4)
    background_share: float  # the part measured as background
    background_std: float  # Lab standard deviation outside the product (NaN: none)
    background_texture: float  # mean |L - blurred L| outside the product
    background_edges: float  # share of edge pixels (Canny) outside the product
    background_lightness: float  # median L* (0..100)
    background_chroma: float  # chroma of the median a*, b*
    background_class: str  # white | light | neutral | colour | unknown
    sharpness: float  # variance of the Laplacian (on the product when there is one)
    #: the words read in the added text (not the product's own print), words.py: the
    #: letters of the words whose language shows, the Russian share of those letters, the
    #: share of non-words' characters among those read (NaN: not read, or nothing read)
    text_letters: int = 0
    text_tokens: int = 0  # what was read but lone punctuation (words, numbers, non-words)
    text_russian: float = math.nan
    text_nonwords: float = math.nan
    boxes: tuple[BoxSignals, ...] = ()
    #: optional CLIP zero-shot probabilities per grade id (passed in, not computed here)
    clip: Mapping[str, float] = field(default_factory=dict)

    @property
    def aspect(self) -> float:
        return self.width / self.height

    def values(self) -> dict[str, float]:
        """Every numeric signal by name, the CLIP ones as clip_<grade>."""
        found = {name: float(getattr(self, name)) for name in _NUMERIC}
        found.update(min_side=float(min(self.width, self.height)), aspect=self.aspect)
        found.update({f"clip_{grade}": float(p) for grade, p in self.clip.items()})
        return found


def background_class(lightness: float, chroma: float) -> str:
    """white (L* ≥ 93, nearly no colour), light (light grey), neutral (any grey), colour."""
    if math.isnan(lightness):
        return "unknown"
    if lightness >= 93 and chroma <= 6:
        return "white"
    if lightness >= 78 and chroma <= 8:
        return "light"
    if chroma <= 12:
        return "neutral"
    return "colour"


def text_place(bbox: tuple[int, int, int, int], mask: np.ndarray | None, height: int) -> str:
    """ "over_product" when most of the box lies on the product, else "top" or "bottom" by
    the box's centre."""
    x0, y0, x1, y1 = bbox
    if mask is not None and _inside(bbox, mask) >= OVER_PRODUCT:
        return "over_product"
    return "top" if (y0 + y1) / 2 < height / 2 else "bottom"


def _inside(bbox: tuple[int, int, int, int], mask: np.ndarray) -> float:
    x0, y0, x1, y1 = _clip(bbox, mask.shape)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(mask[y0:y1, x0:x1].mean())


def _clip(bbox: Sequence[float], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    height, width = shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in bbox)
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def _work_copy(
    rgb: np.ndarray, mask: np.ndarray | None, boxes: Sequence[TextBox]
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    full_mask = np.zeros((height, width), bool) if mask is None else np.asarray(mask, bool)
    if full_mask.shape != (height, width):
        raise ValueError(f"mask {full_mask.shape} does not match the image {(height, width)}")
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        small = cv2.resize(full_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        full_mask = small.astype(bool)
    scaled = [_clip([v * scale for v in box.bbox], rgb.shape) for box in boxes]
    return np.ascontiguousarray(rgb), full_mask, scaled


def _box_signals(
    gray: np.ndarray, rgb: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray
) -> BoxSignals:
    x0, y0, x1, y1 = box
    height = (y1 - y0) / gray.shape[0]
    place = text_place(box, mask, gray.shape[0])
    inside = _inside(box, mask)
    crop = gray[y0:y1, x0:x1]
    if crop.size < 4:
        return BoxSignals(height, 0.0, (0, 0, 0), (0, 0, 0), place, inside)
    threshold, _ = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    high = crop > threshold
    colours = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(np.float64)
    flat = high.ravel()
    if flat.all() or not flat.any():
        mean = tuple(int(v) for v in colours.mean(axis=0))
        return BoxSignals(height, 0.0, mean, mean, place, inside)
    bright, dark = colours[flat].mean(axis=0), colours[~flat].mean(axis=0)
    contrast = float(crop[high].mean() - crop[~high].mean())
    plate, glyph = (bright, dark) if flat.mean() >= 0.5 else (dark, bright)
    return BoxSignals(
        height,
        contrast,
        tuple(int(round(v)) for v in plate),  # type: ignore[arg-type]
        tuple(int(round(v)) for v in glyph),  # type: ignore[arg-type]
        place,
        inside,
    )


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def count_colours(colours: Sequence[tuple[int, int, int]], distance: float = SAME_COLOUR) -> int:
    """How many distinct colours (greedy clusters in Lab, CIE76 ΔE < `distance`)."""
    if not colours:
        return 0
    lab = _lab(np.asarray(colours, np.uint8)[None, :, :])[0]
    centres: list[np.ndarray] = []
    for colour in lab:
        if all(np.linalg.norm(colour - centre) >= distance for centre in centres):
            centres.append(colour)
    return len(centres)


def _object(mask: np.ndarray) -> tuple[float, float, int]:
    """(share, longer span, sides touched) of the product's mask."""
    if not mask.any():
        return 0.0, 0.0, 0
    height, width = mask.shape
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    fill = max((cols[-1] + 1 - cols[0]) / width, (rows[-1] + 1 - rows[0]) / height)
    touch = [mask[0], mask[-1], mask[:, 0], mask[:, -1]]
    sides = sum(1 for edge in touch if edge.mean() >= 0.02)
    return float(mask.mean()), float(fill), sides


def _background(
    rgb: np.ndarray, gray: np.ndarray, mask: np.ndarray, boxes: Sequence[tuple[int, ...]]
) -> dict[str, float | str]:
    height, width = mask.shape
    reach = max(2, round(0.01 * math.hypot(height, width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    near_object = cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
    region = ~near_object
    for x0, y0, x1, y1 in boxes:
        grow = max(2, round(0.3 * (y1 - y0)))
        region[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow] = False
    share = float(region.mean())
    if region.sum() < max(64, 0.01 * region.size):
        nan = float("nan")
        return dict(
            background_share=share,
            background_std=nan,
            background_texture=nan,
            background_edges=nan,
            background_lightness=nan,
            background_chroma=nan,
            background_class="unknown",
        )
    lab = _lab(rgb)
    values = lab[region]
    std = float(np.sqrt(values.var(axis=0).mean()))
    lightness = lab[..., 0]
    sigma = max(1.0, 0.01 * max(height, width))
    smooth = cv2.GaussianBlur(lightness, (0, 0), sigma)
    texture = float(np.abs(lightness - smooth)[region].mean())
    edges = cv2.Canny(gray, 50, 150) > 0
    median = np.median(values, axis=0)
    chroma = float(math.hypot(median[1], median[2]))
    return dict(
        background_share=share,
        background_std=std,
        background_texture=texture,
        background_edges=float(edges[region].mean()),
        background_lightness=float(median[0]),
        background_chroma=chroma,
        background_class=background_class(float(median[0]), chroma),
    )


def _sharpness(gray: np.ndarray, mask: np.ndarray) -> float:
    laplacian = cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F, ksize=3)
    if mask.mean() >= 0.01:
        kernel = np.ones((5, 5), np.uint8)
        inner = cv2.erode(mask.astype(np.uint8), kernel).astype(bool)
        if inner.any():
            return float(laplacian[inner].var())
    return float(laplacian.var())


def measure(
    image: np.ndarray,
    object_mask: np.ndarray | None = None,
    boxes: Sequence[TextBox] = (),
    *,
    clip: Mapping[str, float] | None = None,
) -> Signals:
    """The signals of an RGB uint8 photo (H×W×3), its product mask and its text boxes."""
    rgb = np.asarray(image)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array H×W×3, got {rgb.dtype} {rgb.shape}")
    full_height, full_width = rgb.shape[:2]
    small, mask, scaled = _work_copy(rgb, object_mask, boxes)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    per_box = tuple(_box_signals(gray, small, box, mask) for box in scaled)
    union = np.zeros(mask.shape, bool)
    for x0, y0, x1, y1 in scaled:
        union[y0:y1, x0:x1] = True
    share, fill, sides = _object(mask)
    heights = [b.height for b in per_box]
    contrasts = [b.contrast for b in per_box]
    colours = [c for b in per_box for c in (b.plate, b.glyph)]
    count = len(per_box)
    added = [box.text for box, b in zip(boxes, per_box, strict=True) if b.inside < PRODUCT_PRINT]
    read = language(text for text in added if text) if None not in added else None
    return Signals(
        width=full_width,
        height=full_height,
        text_count=count,
        text_outside=sum(1 for b in per_box if b.inside < PRODUCT_PRINT),
        text_share=float(union.mean()),
        text_height=float(np.median(heights)) if count else 0.0,
        text_small=sum(h < SMALL_TEXT for h in heights) / count if count else 0.0,
        text_contrast=float(np.median(contrasts)) if count else 0.0,
        text_low_contrast=sum(c < LOW_CONTRAST for c in contrasts) / count if count else 0.0,
        label_colours=count_colours(colours),
        object_share=share,
        object_fill=fill,
        touches_border=sides,
        sharpness=_sharpness(gray, mask),
        text_letters=read.letters if read is not None else 0,
        text_tokens=read.tokens if read is not None else 0,
        text_russian=read.russian_share if read is not None else math.nan,
        text_nonwords=read.nonword_share if read is not None else math.nan,
        boxes=per_box,
        clip=dict(clip or {}),
        **_background(small, gray, mask, scaled),  # type: ignore[arg-type]
    )
