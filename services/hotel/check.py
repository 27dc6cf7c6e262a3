"""/check for a hotel platform: a room photo's pixels measured (exposure, tilt, sharpness,
QR codes, borders and collages, black-and-white) beside the text the detector found and
Tesseract read, then every rule of the platform's profile. Pure: the reading comes in as
text boxes; the models stay in services/operations/check.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.hotel.rules import RoomMeasured, check_room_photo
from services.hotel.signals import (
    MONOCHROME_BELOW,
    find_qr_codes,
    find_seams,
    sharpness,
    toned_colourfulness,
)
from services.imaging.enhance import exposure
from services.imaging.straighten import measure_tilt
from services.marketplace.facts import PhotoFacts
from services.marketplace.profiles import Profile, Profiles
from services.marketplace.rules import RuleResult
from services.marketplace.signals import TextBox


@dataclass(frozen=True)
class RoomReport:
    profile: Profile
    facts: PhotoFacts
    measured: RoomMeasured
    results: tuple[RuleResult, ...]
    boxes: tuple[TextBox, ...]


def lines_of(boxes: Sequence[TextBox]) -> list[str]:
    """The words read, box by box and joined into lines left to right: a detector splits a
    phone number at its wide gaps («+7 999» | «123-45-67»), the rules must see it whole."""
    read = sorted((box for box in boxes if box.text), key=lambda b: (b.bbox[1], b.bbox[0]))
    rows: list[list[TextBox]] = []
    for box in read:
        middle = (box.bbox[1] + box.bbox[3]) / 2
        for row in rows:
            top, bottom = row[0].bbox[1], row[0].bbox[3]
            if top <= middle <= bottom:
                row.append(box)
                break
        else:
            rows.append([box])
    joined = [
        " ".join(str(b.text).strip() for b in sorted(row, key=lambda b: b.bbox[0]))
        for row in rows
        if len(row) > 1
    ]
    return [str(box.text) for box in read] + joined


def measure_room(image: np.ndarray, boxes: Sequence[TextBox]) -> RoomMeasured:
    """Everything a hotel rule reads from `image` (RGB uint8, upright) and its text boxes
    (``text`` None: found, not read — then the text rules are not measured)."""
    light = exposure(image)
    tilt = measure_tilt(image)
    leans = [abs(v) for v in (tilt.vertical, tilt.horizon) if v is not None]
    seams = find_seams(image)
    colour = toned_colourfulness(image)  # sepia reads as toned, not as colour
    read = all(box.text is not None for box in boxes)
    texts = tuple(lines_of(boxes)) if read else None
    return RoomMeasured(
        mean_l=light.mean_l,
        shadows=light.shadows,
        highlights=light.highlights,
        tilt=max(leans) if leans else None,
        sharpness=sharpness(image),
        texts=texts,
        text_regions=len(boxes),
        # only a code that decodes counts: OpenCV's bare detection fires on print and tiles
        qr_codes=tuple(code.text for code in find_qr_codes(image) if code.text),
        borders=seams.borders,
        collage=seams.collage,
        colourfulness=colour,
        monochrome=colour < MONOCHROME_BELOW,
    )


def check_room(
    facts: PhotoFacts,
    image: np.ndarray,
    boxes: Sequence[TextBox],
    profile: Profile,
    profiles: Profiles,
) -> RoomReport:
    measured = measure_room(image, boxes)
    results = check_room_photo(profile, facts, measured, banned=profiles.banned)
    return RoomReport(profile, facts, measured, tuple(results), tuple(boxes))
