""" "Fix for <hotel platform>": one job that makes a room photo pass its profile —
straightened (services/imaging/straighten.py), brightened (enhance.py, the user's
strength), its contact details, prices, other platforms' watermarks and QR codes removed
(all its text where the platform takes none: Vrbo), scaled to the profile's size, saved as
sRGB JPEG; then checked again, and the check goes under the document. FixOperation hands a
hotel profile's job here (services/operations/fix.py)."""

from __future__ import annotations

import dataclasses
import io
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from services.errors import BadImage, JobCancelled
from services.hotel.rules import contacts_in, watermarks_in
from services.hotel.signals import find_qr_codes
from services.imaging.enhance import enhance
from services.imaging.marketplace_card import encode
from services.imaging.straighten import straighten
from services.marketplace.facts import read_facts
from services.marketplace.profiles import Profile
from services.operations.enhance import strength_of
from services.operations.text_regions import Reading
from services.results import ImageResult

if TYPE_CHECKING:
    from services.operations.check import CheckOperation
    from services.operations.clean import CleanOperation
    from services.operations.context import RunContext

#: a QR code's box grows by this share of its side before it is filled (its quiet zone)
QR_MARGIN = 0.15


def unwanted_text(reading: Reading, profile: Profile, checker: CheckOperation) -> Reading:
    """The regions the platform refuses: all of them when it takes no text, else those
    with contact details, prices or another platform's mark in them."""
    text_rule = profile.rule("text")
    if text_rule is not None and not text_rule["allowed"]:
        return reading
    contacts, marks = profile.rule("contacts"), profile.rule("watermarks")
    keep = []
    for index, box in enumerate(reading.boxes):
        lines = [box.text] if box.text else []
        found = contacts is not None and contacts_in(
            lines, checker.profiles.banned, contacts["categories"]
        )
        marked = (
            marks is not None and not marks["allowed"] and watermarks_in(lines, marks["words"])
        )
        if found or marked:
            keep.append(index)
    return dataclasses.replace(
        reading,
        regions=tuple(reading.regions[i] for i in keep),
        boxes=tuple(reading.boxes[i] for i in keep),
    )


def qr_mask(rgb: np.ndarray) -> np.ndarray:
    mask = np.zeros(rgb.shape[:2], bool)
    for code in find_qr_codes(rgb):
        if not code.text:  # a bare detection is often print or tiles: left alone
            continue
        x0, y0, x1, y1 = code.bbox
        grow = int(max(x1 - x0, y1 - y0) * QR_MARGIN)
        mask[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow] = True
    return mask


def to_profile_size(image: Image.Image, profile: Profile) -> Image.Image:
    """Up to the profile's minimum when smaller (keeping the aspect), down to its photo's
    `max_side` when larger; as it is otherwise ("bigger is better")."""
    assert profile.photo is not None
    width, height = image.size
    scale = 1.0
    rule = profile.rule("min_size")
    if rule is not None:
        low = rule["portrait"] if height > width and rule.params.get("portrait") else None
        low = low or (rule["width"], rule["height"])
        scale = max(scale, low[0] / width, low[1] / height)
    scale = min(scale, profile.photo.max_side / max(width, height)) if scale == 1.0 else scale
    if abs(scale - 1.0) < 1e-6:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def fix_room(
    checker: CheckOperation,
    cleaner: CleanOperation,
    image: Image.Image,
    profile: Profile,
    params: Mapping[str, Any],
    context: RunContext,
    scaled: Any,
) -> ImageResult:
    """`image` (RGB, upright) made ready for the hotel `profile`. `scaled(context, low,
    high)` gives a stage its share of the job's progress."""
    started = time.perf_counter()
    strength = strength_of(params)
    straight = straighten(np.asarray(image))
    context.progress(0.15)
    bright = enhance(straight.image, strength)
    rgb = bright.image
    if context.cancelled():
        raise JobCancelled("cancelled after the light")
    context.progress(0.3)
    # read before and after the light (the same geometry): brightening can turn a legible
    # link illegible to Tesseract («www.hotel-sochi.ru» read as «www hotel-sochi-ru»)
    readings = [
        unwanted_text(checker.finder.find(Image.fromarray(pixels)), profile, checker)
        for pixels in (straight.image, rgb)
    ]
    reading = dataclasses.replace(
        readings[1],
        regions=readings[0].regions + readings[1].regions,
        boxes=readings[0].boxes + readings[1].boxes,
    )
    mask = qr_mask(rgb)
    if reading.regions:
        mask |= checker.finder.mask(rgb, reading, None, everything=True)
    cleaned: dict[str, Any] = {"regions": len(reading.regions), "fill": "none"}
    if mask.any():
        stage = scaled(context, 0.35, 0.7)
        filled = cleaner.filler.fill(
            rgb,
            mask,
            seed=int(params.get("seed") or secrets.randbelow(2**31)),
            steps=cleaner.steps(params),
            progress=lambda done, total: stage.progress(done / max(total, 1), done, total),
            cancelled=context.cancelled,
        )
        rgb = filled.pixels
        cleaned.update(fill=filled.method, removed_share=round(float(mask.mean()), 5))
    context.progress(0.7)
    result = to_profile_size(Image.fromarray(rgb, "RGB"), profile)
    assert profile.photo is not None
    data = encode(result, profile.photo.format, profile.photo.quality)
    try:
        with Image.open(io.BytesIO(data)) as opened:
            final = opened.convert("RGB")
    except OSError as exc:  # our own encoder's output: a bug, said plainly
        raise BadImage(f"the fixed photo does not decode: {exc}") from None
    recheck = checker.inspect_room(read_facts(data), final, profile, scaled(context, 0.75, 1.0))
    facts: dict[str, Any] = {
        "domain": "hotel",
        "profile": profile.id,
        "marketplace": profile.name,
        "width": final.width,
        "height": final.height,
        "format": profile.photo.format,
        "straightened": round(straight.angle, 2) if straight.changed else 0.0,
        "straighten_reason": straight.reason,
        "strength": strength,
        "cleaned": cleaned,
        "check": recheck.to_payload(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return ImageResult(final, facts, document=True, data=data, extension="jpg")
