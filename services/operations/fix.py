""" "Fix for <marketplace>": one job that makes a photo pass its profile (a hotel platform's
profile: services/operations/room_fix.py). The text beside the
product is cleaned when the profile's main photo must have none (the `clean` operation's
work), the product is cut (the ObjectCutter, features shared with /check and /background),
centred on the profile's plain background spanning its share, at its size and aspect, as
sRGB JPEG at quality ≥ 90 (services/marketplace/fix.py); then the card is checked again
(the `check` operation's work, with the product's mask known from the placement) and the
grade and rules go under the document.
"""

from __future__ import annotations

import io
import time
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.errors import BadImage, JobCancelled
from services.imaging.decode import load_rgb
from services.jobs import JobRequest
from services.marketplace.banned import find_banned
from services.marketplace.facts import read_facts
from services.marketplace.fix import fix_for
from services.marketplace.profiles import Profile
from services.operations import LANE_DIFFUSION, LANE_QUICK, Op, Operation, Outcome, RunContext
from services.operations.base import each_photo
from services.operations.check import BadProfile, CheckOperation
from services.operations.clean import CleanOperation
from services.operations.enhance import ENHANCE_VERSION, BadStrength, strength_of
from services.operations.room_fix import fix_room
from services.operations.straighten import STRAIGHTEN_VERSION
from services.operations.text_regions import Reading, object_mask, product_cut, with_alpha
from services.results import ImageResult
from services.weights.digest import sha256_file

#: Bump when a change of code changes a fixed card (part of its cache key).
FIX_VERSION = 2
#: A cut smaller than this share of the photo found no product: the whole photo is placed.
MIN_PRODUCT = 0.005


def must_clean(profile: Profile) -> bool:
    """The profile's main photo may carry no text beside the product."""
    rule = profile.rule("text")
    return rule is not None and not rule["allowed"]


def scaled(context: RunContext, low: float, high: float) -> RunContext:
    """`context` for one stage of a job: its 0..1 is the job's `low`..`high`."""
    return RunContext(
        report=lambda f, step, total: context.report(low + (high - low) * f, step, total),
        is_cancelled=context.is_cancelled,
        between_steps=context.between_steps,
    )


class FixOperation(Operation):
    """One photo per run; a diffusion only when SD inpainting cleans the text."""

    name = Op.FIX
    lanes = (LANE_QUICK, LANE_DIFFUSION)
    max_batch = 1

    def __init__(self, checker: CheckOperation, cleaner: CleanOperation) -> None:
        self.checker = checker
        self.cleaner = cleaner

    # ---- the Operation contract

    def missing_weights(self) -> list[str]:
        """The detector (for the text) and the cut (for the product)."""
        return self.checker.missing_weights()

    def lane(self, request: JobRequest) -> str:
        try:
            profile = self.checker.profile(request.params)
        except BadProfile:
            return LANE_QUICK
        cleans = must_clean(profile) and self.cleaner.filler.diffusion()
        if profile.domain == "hotel":  # text or a QR code may be found: SD would fill it
            cleans = self.cleaner.filler.diffusion()
        return LANE_DIFFUSION if cleans else LANE_QUICK

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, str(request.image_path))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The check's identity (profile, data files, models) and, when it cleans, the
        clean's (not cacheable with SD and no seed)."""
        checked = self.checker.cache_identity(params)
        if checked is None:
            return None
        profile = self.checker.profile(params)
        models = list(checked.pop("models"))
        identity: dict[str, Any] = {"check": checked, "version": FIX_VERSION}
        hotel = profile.domain == "hotel"
        if hotel:
            try:
                strength = strength_of(params)
            except BadStrength:
                return None
            identity.update(
                strength=strength, straighten=STRAIGHTEN_VERSION, enhance=ENHANCE_VERSION
            )
        if must_clean(profile) or hotel:
            cleaned = self.cleaner.identity({**params, "all": True} if hotel else params)
            if cleaned is None:
                return None
            models += [m for m in cleaned.pop("models") if m not in models]
            identity["clean"] = cleaned
        identity["models"] = models
        return identity

    def warm_up(self) -> None:
        self.checker.warm_up()

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return each_photo(requests, self.fix_file, context)

    # ---- the work

    def fix_file(
        self,
        path: Path | str,
        params: Mapping[str, Any],
        context: RunContext,
        *,
        photo: str | None = None,
    ) -> ImageResult:
        started = time.perf_counter()
        profile = self.checker.profile(params)
        image = load_rgb(Path(path))
        if profile.domain == "hotel":  # a room photo: straighten, brighten, clean, resize
            return fix_room(self.checker, self.cleaner, image, profile, params, context, scaled)
        key = photo or _sha_or_none(path)
        context.progress(0.05)
        stages: dict[str, float] = {"load": time.perf_counter() - started}
        mark = time.perf_counter()
        reading = self.checker.finder.find(image)  # read: banned words go wherever they are
        stages["text"] = time.perf_counter() - mark
        mark = time.perf_counter()
        cut = product_cut(
            self.checker.cutter,
            image,
            reading,
            source=with_alpha(path, image),
            key=key,
            cancelled=context.cancelled,
        )
        alpha = cut.alpha
        stages["cut"] = time.perf_counter() - mark
        if context.cancelled():
            raise JobCancelled("cancelled after the cut")
        context.progress(0.25)
        mark = time.perf_counter()
        facts: dict[str, Any] = {"profile": profile.id, "marketplace": profile.name}
        # the product alone: how many salient objects, and whether none is clearly it
        facts.update(objects=cut.objects, needs_look=cut.needs_look)
        base = image
        banned = self.banned_regions(reading, profile)
        if must_clean(profile) or banned:
            cleaned = self.cleaner.clean(
                image,
                scaled(context, 0.25, 0.6),
                alpha=alpha,
                reading=reading,
                force=banned,
                seed=params.get("seed"),
                steps=self.cleaner.steps(params),
            )
            base = cleaned.image
            facts["cleaned"] = {**cleaned.facts, "banned": len(banned)}
        stages["clean"] = time.perf_counter() - mark
        context.progress(0.6)
        mark = time.perf_counter()
        if object_mask(alpha).mean() < MIN_PRODUCT:  # nothing salient: the photo itself
            alpha = np.ones((image.height, image.width), np.float32)
            facts["whole_photo"] = True
        card = fix_for(base, alpha, profile)
        try:
            with Image.open(io.BytesIO(card.data)) as opened:
                card_image = opened.convert("RGB")
        except OSError as exc:  # our own encoder's output: a bug, said plainly
            raise BadImage(f"the fixed card does not decode: {exc}") from None
        stages["card"] = time.perf_counter() - mark
        mark = time.perf_counter()
        recheck = self.checker.inspect(
            read_facts(card.data),
            card_image,
            profile,
            scaled(context, 0.65, 1.0),
            mask=card.mask,
        )
        stages["recheck"] = time.perf_counter() - mark
        facts.update(
            width=card.size[0],
            height=card.size[1],
            format=card.format,
            fill=round(card.fill, 4),
            check=recheck.to_payload(),
            seconds=round(time.perf_counter() - started, 3),
            stages={name: round(value, 3) for name, value in stages.items()},
        )
        return ImageResult(
            card_image, facts, document=True, data=card.data, extension=card.extension
        )

    def banned_regions(self, reading: Reading, profile: Profile) -> set[int]:
        """The text regions with a banned word, price, phone or link in them."""
        rule = profile.rule("banned_words")
        extra = rule["extra"] if rule else ()
        lists = self.checker.profiles.banned
        return {
            index
            for index, box in enumerate(reading.boxes)
            if box.text and find_banned(box.text, lists, extra)
        }


def _sha_or_none(path: Any) -> str | None:
    try:
        return sha256_file(path)
    except (OSError, TypeError):
        return None
