"""What a hotel profile adds to the one profile schema (services/marketplace/profiles.py):
the rule kinds only room photos have, their keys, and what "Fix for <platform>" makes of a
room photo. Data checks only: what each kind measures is services/hotel/rules.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.marketplace.schema import (
    MISSING,
    Check,
    boolean,
    number,
    one_of,
    pixels,
    quality,
    words,
)

_SHARE = number(0.0, 1.0)
_LIGHTNESS = number(0.0, 100.0)
#: the categories of the shared banned patterns (profiles.toml [banned.patterns]) that are
#: contact details or prices on a room photo
CONTACT_CATEGORIES = ("price", "phone", "link")

#: kind -> its keys -> (checker, default or MISSING)
HOTEL_KINDS: dict[str, dict[str, tuple[Check, Any]]] = {
    "orientation": {"prefer": (one_of(("landscape", "portrait")), MISSING)},
    "exposure": {
        "min_mean_l": (_LIGHTNESS, MISSING),
        "max_mean_l": (_LIGHTNESS, MISSING),
        "max_shadows": (_SHARE, MISSING),
        "max_highlights": (_SHARE, MISSING),
    },
    "tilt": {"max_degrees": (number(0.0, 45.0), MISSING)},
    "sharpness": {"min": (number(0.0, 100_000.0), MISSING)},
    "contacts": {"categories": (words, list(CONTACT_CATEGORIES))},
    "qr_codes": {"allowed": (boolean, MISSING)},
    "watermarks": {"allowed": (boolean, MISSING), "words": (words, [])},
    "borders": {"allowed": (boolean, MISSING)},
    "collage": {"allowed": (boolean, MISSING)},
    "monochrome": {"allowed": (boolean, MISSING)},
}
#: hotel kinds in the order a reply lists them (after the file rules)
HOTEL_RULE_ORDER = (
    "orientation",
    "contacts",
    "qr_codes",
    "watermarks",
    "exposure",
    "tilt",
    "sharpness",
    "borders",
    "collage",
    "monochrome",
)


@dataclass(frozen=True)
class PhotoSpec:
    """What "Fix for <platform>" makes of a room photo: straightened, brightened and
    cleaned, scaled up to the profile's min_size when smaller (a lower photo is refused)
    and down to `max_side` when larger, saved as sRGB JPEG at `quality`."""

    max_side: int
    format: str = "JPEG"
    quality: int = 92


PHOTO_KEYS: dict[str, tuple[Check, Any]] = {
    "max_side": (pixels, MISSING),
    "format": (one_of(("JPEG",)), "JPEG"),
    "quality": (quality, 92),
}
