"""/check in one call: a photo's file facts, its signals, its grade and every rule of the
profile, with the text found and where it sits. Pure: the detectors' outputs come in as
plain boxes and a mask; the reply is built from the `CheckReport`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.marketplace.banned import BannedHit, find_banned
from services.marketplace.facts import PhotoFacts
from services.marketplace.grading import Grade, Grading, grade, load_grading
from services.marketplace.profiles import Profile, Profiles, load_profiles
from services.marketplace.rules import Measured, RuleResult, check_photo, failures
from services.marketplace.signals import PRODUCT_PRINT, Signals, TextBox, measure


@dataclass(frozen=True)
class FoundText:
    text: str | None  # None: found by the detector, not read
    place: str  # top | bottom | over_product
    bbox: tuple[int, int, int, int]
    own_print: bool  # on the product itself (a label on the pack): not added text
    banned: tuple[BannedHit, ...]


@dataclass(frozen=True)
class CheckReport:
    profile: Profile
    facts: PhotoFacts
    signals: Signals
    grade: Grade
    results: tuple[RuleResult, ...]
    texts: tuple[FoundText, ...]

    @property
    def failures(self) -> list[RuleResult]:
        return failures(self.results)

    @property
    def banned(self) -> list[BannedHit]:
        return [hit for text in self.texts for hit in text.banned]


def measured_from(
    signals: Signals, boxes: Sequence[TextBox], grading: Grading | None = None
) -> Measured:
    """What the scene rules need, from the signals and the text read beside the product."""
    grading = grading or load_grading()
    added = [
        box for box, sig in zip(boxes, signals.boxes, strict=True) if sig.inside < PRODUCT_PRINT
    ]
    read = [box.text for box in added if box.text is not None]
    known = signals.background_class != "unknown"
    return Measured(
        background=signals.background_class if known else None,
        background_uniform=(signals.background_texture <= grading.plain_max_texture)
        if known
        else None,
        object_fill=signals.object_fill if signals.object_share > 0 else None,
        text_regions=signals.text_outside,
        texts=tuple(read) if len(read) == len(added) else None,
    )


def check(
    facts: PhotoFacts,
    image: np.ndarray,
    object_mask: np.ndarray | None,
    boxes: Sequence[TextBox],
    profile: Profile | None = None,
    *,
    clip: Mapping[str, float] | None = None,
    profiles: Profiles | None = None,
    grading: Grading | None = None,
) -> CheckReport:
    """Grade `image` (RGB uint8, upright) with its product mask and text boxes, and check
    it and its file `facts` against `profile` (the default profile when None)."""
    profiles = profiles or load_profiles()
    profile = profile or profiles.get()
    grading = grading or load_grading()
    signals = measure(image, object_mask, boxes, clip=clip)
    measured = measured_from(signals, boxes, grading)
    results = check_photo(profile, facts, measured, banned=profiles.banned)
    rule = profile.rule("banned_words")
    extra = rule["extra"] if rule else ()
    texts = tuple(
        FoundText(
            box.text,
            sig.place,
            tuple(box.bbox),  # type: ignore[arg-type]
            sig.inside >= PRODUCT_PRINT,
            tuple(find_banned(box.text, profiles.banned, extra)) if box.text else (),
        )
        for box, sig in zip(boxes, signals.boxes, strict=True)
    )
    return CheckReport(
        profile, facts, signals, grade(signals, profile, grading), tuple(results), texts
    )
