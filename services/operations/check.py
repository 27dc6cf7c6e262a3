"""`check`: a photo against a marketplace profile, graded among five (good, bad or other
infographic; clean on a good or a bad background), with every rule that fails, the text
found (read by Tesseract, and where it sits) and the banned words in it.

The models give the pure check (services/marketplace/check.py) its inputs: the PP-OCR
detector's text regions and Tesseract's words (services/operations/text_regions.py), the
product's mask from the ObjectCutter (ISNet + SAM, its features shared with /background),
and CLIP's zero-shot probabilities as one more signal when CLIP is installed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.errors import BadImage, JobCancelled, ModelUnavailable, ServiceError
from services.hotel.check import check_room
from services.imaging.decode import load_rgb
from services.jobs import JobRequest
from services.marketplace.check import check
from services.marketplace.facts import PhotoFacts, read_facts
from services.marketplace.grading import DEFAULT_PATH as GRADING_PATH
from services.marketplace.grading import Grading, load_grading
from services.marketplace.profiles import DEFAULT_PATH as PROFILES_PATH
from services.marketplace.profiles import HOTEL_PATH, Profile, Profiles, load_profiles
from services.marketplace.summary import CheckSummary
from services.models.clip import ClipTagger
from services.operations import Op, Operation, Outcome, RunContext
from services.operations.background import Cutter
from services.operations.base import each_photo
from services.operations.text_regions import (
    TextFinder,
    object_mask,
    product_alpha,
    with_alpha,
)
from services.weights.digest import sha256_file
from services.weights.revision import file_digest

log = logging.getLogger("vitrina.check")
#: Bump when a change of code changes what a check answers (part of its cache key).
CHECK_VERSION = 3  # 2: the words read count (foreign_text, unreadable_text); 3: hotels


class BadProfile(ServiceError):
    """No marketplace profile of that name (the bot validates before queueing)."""


class CheckOperation(Operation):
    """One photo per run: the detector, the reader and the cut are per image."""

    name = Op.CHECK
    max_batch = 1

    def __init__(
        self,
        finder: TextFinder,
        cutter: Cutter,
        tagger: ClipTagger | None = None,
        *,
        clip_missing: Callable[[], list[str]] = list,
        profiles_path: Path | None = None,
        grading_path: Path | None = None,
    ) -> None:
        self.finder = finder
        self.cutter = cutter
        self.tagger = tagger
        self._clip_missing = clip_missing
        self.profiles_path = Path(profiles_path or PROFILES_PATH)
        self.grading_path = Path(grading_path or GRADING_PATH)
        self._clip_said = False

    # ---- data files

    @property
    def profiles(self) -> Profiles:
        return load_profiles(self.profiles_path)

    @property
    def grading(self) -> Grading:
        return load_grading(self.grading_path)

    def profile(self, params: Mapping[str, Any]) -> Profile:
        """The job's profile (its `profile` param, an id or alias; none: the default)."""
        name = params.get("profile")
        try:
            return self.profiles.get(str(name) if name else None)
        except KeyError as exc:
            raise BadProfile(str(exc.args[0])) from None

    # ---- the Operation contract

    def missing_weights(self) -> list[str]:
        """The detector and the cut; CLIP and Tesseract are optional (said in the reply)."""
        return self.finder.missing_weights() + self.cutter.missing_weights()

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, str(request.image_path))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Deterministic: the profile, the two data files' contents, the reader, the cut,
        whether CLIP takes part, and the model folders (their revisions join the key)."""
        try:
            profile = self.profile(params)
        except BadProfile:
            return None
        if profile.domain == "hotel":  # a room photo: the reader and the pixels only
            return {
                "profile": profile.id,
                "profiles": file_digest(HOTEL_PATH),
                "reader": self.finder.identity,
                "version": CHECK_VERSION,
                "models": ["ocr"],
            }
        clip = self.clip_ready()
        return {
            "profile": profile.id,
            "profiles": file_digest(self.profiles_path),
            "grading": file_digest(self.grading_path),
            "reader": self.finder.identity,
            "cutter": getattr(self.cutter, "identity", None),
            "clip": clip,
            "version": CHECK_VERSION,
            "models": ["ocr", "isnet", "sam", *(["clip"] if clip else [])],
        }

    def warm_up(self) -> None:
        self.finder.warm_up()
        self.cutter.warm_up()

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return each_photo(requests, self.check_file, context)

    # ---- the work

    def check_file(
        self,
        path: Path | str,
        params: Mapping[str, Any],
        context: RunContext,
        *,
        photo: str | None = None,
    ) -> CheckSummary:
        """The check of one stored photo (``photo``: its sha256, the cut's feature key)."""
        profile = self.profile(params)
        try:
            data = Path(path).read_bytes()
            facts = read_facts(data)
        except (OSError, ValueError) as exc:
            raise BadImage(f"cannot read the photo: {exc}") from None
        image = load_rgb(Path(path))
        context.progress(0.05)
        if profile.domain == "hotel":
            return self.inspect_room(facts, image, profile, context)
        key = photo or _sha_or_none(path)
        return self.inspect(
            facts, image, profile, context, cut_source=with_alpha(path, image), key=key
        )

    def inspect(
        self,
        facts: PhotoFacts,
        image: Image.Image,
        profile: Profile,
        context: RunContext,
        *,
        mask: np.ndarray | None = None,
        cut_source: Image.Image | None = None,
        key: str | None = None,
    ) -> CheckSummary:
        """Grade `image` (RGB, upright) and check it and its file `facts` against
        `profile`. `mask`: the product's mask when it is known (a fixed card), else cut."""
        seconds: dict[str, float] = {}
        reading = self.finder.find(image)
        seconds.update(reading.seconds)
        if context.cancelled():
            raise JobCancelled("cancelled after the text")
        context.progress(0.35)
        if mask is None:
            started = time.perf_counter()
            alpha = product_alpha(
                self.cutter,
                image,
                reading,
                source=cut_source,
                key=key,
                cancelled=context.cancelled,
            )
            mask = object_mask(alpha)
            seconds["cut"] = time.perf_counter() - started
        context.progress(0.75)
        clip = self.clip_signal(image, key, seconds)
        started = time.perf_counter()
        report = check(
            facts,
            np.asarray(image),
            mask,
            reading.text_boxes,
            profile,
            clip=clip,
            profiles=self.profiles,
            grading=self.grading,
        )
        seconds["score"] = time.perf_counter() - started
        context.progress(1.0)
        return CheckSummary.from_report(
            report,
            read=reading.read,
            unread=reading.unread,
            clip=clip is not None,
            seconds=seconds,
        )

    def inspect_room(
        self, facts: PhotoFacts, image: Image.Image, profile: Profile, context: RunContext
    ) -> CheckSummary:
        """A room photo against a hotel platform: its text read, its pixels measured."""
        seconds: dict[str, float] = {}
        reading = self.finder.find(image)
        seconds.update(reading.seconds)
        if context.cancelled():
            raise JobCancelled("cancelled after the text")
        context.progress(0.5)
        started = time.perf_counter()
        report = check_room(facts, np.asarray(image), reading.text_boxes, profile, self.profiles)
        seconds["measure"] = time.perf_counter() - started
        context.progress(1.0)
        return CheckSummary.from_room(
            report, read=reading.read, unread=reading.unread, seconds=seconds
        )

    # ---- CLIP, optional

    def clip_ready(self) -> bool:
        return (
            self.tagger is not None
            and bool(self.grading.clip_prompts)
            and self._clip_missing() == []
        )

    def clip_signal(
        self, image: Image.Image, key: str | None, seconds: dict[str, float]
    ) -> dict[str, float] | None:
        """CLIP's probability of each grade, or None without CLIP (said once in the log;
        the reply says the grade was made without it)."""
        if not self.clip_ready():
            if not self._clip_said:
                log.info("CLIP is not installed: /check grades without its signal")
                self._clip_said = True
            return None
        assert self.tagger is not None
        started = time.perf_counter()
        try:
            found = self.tagger.zero_shot([image], self.grading.clip_prompts, keys=[key])
        except ModelUnavailable as exc:
            log.warning("CLIP unavailable for /check (%s): graded without it", exc)
            return None
        seconds["clip"] = time.perf_counter() - started
        return found[0]


def _sha_or_none(path: Any) -> str | None:
    try:
        return sha256_file(path)
    except (OSError, TypeError):
        return None
