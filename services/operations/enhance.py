"""`enhance` (the Brighten button): a room photo's exposure and colour put right — auto
levels with a small clip, grey-world white balance on its unsaturated pixels, CLAHE on L*
with a low limit — never blowing more highlights than the photo had
(services/imaging/enhance.py). The strength is the user's edit strength (/settings:
gentle, normal, strong). The chat gets a before/after; "Full size" the brightened photo.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.errors import ServiceError
from services.imaging.before_after import before_after
from services.imaging.decode import load_rgb
from services.imaging.enhance import STRENGTHS, Enhanced, enhance
from services.jobs import JobRequest
from services.operations import Op, Operation, Outcome, RunContext
from services.operations.base import each_photo
from services.results import ImageResult

#: Bump when a change of code changes a brightened photo (part of its cache key).
ENHANCE_VERSION = 1


class BadStrength(ServiceError):
    """Not one of gentle, normal, strong (the bot fills it from the user's settings)."""


def strength_of(params: Mapping[str, Any]) -> str:
    strength = str(params.get("strength") or "normal")
    if strength not in STRENGTHS:
        raise BadStrength(f"unknown strength {strength!r}; known: {', '.join(STRENGTHS)}")
    return strength


def enhance_facts(done: Enhanced, strength: str) -> dict[str, Any]:
    """What the caption says: the strength and the lightness before and after."""
    return {
        "strength": strength,
        "mean_l_before": round(done.before.mean_l, 1),
        "mean_l_after": round(done.after.mean_l, 1),
        "cast_before": round(done.before.cast, 2),
        "cast_after": round(done.after.cast, 2),
    }


class EnhanceOperation(Operation):
    """One photo per run, CPU only (OpenCV): nothing to load."""

    name = Op.ENHANCE
    max_batch = 1

    def missing_weights(self) -> list[str]:
        return []

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, str(request.image_path))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            strength = strength_of(params)
        except BadStrength:
            return None
        return {"strength": strength, "version": ENHANCE_VERSION, "models": []}

    def warm_up(self) -> None:
        pass

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return each_photo(requests, self.enhance_file, context)

    def enhance_file(
        self,
        path: Path | str,
        params: Mapping[str, Any],
        context: RunContext,
        *,
        photo: str | None = None,
    ) -> ImageResult:
        started = time.perf_counter()
        strength = strength_of(params)
        image = load_rgb(Path(path))
        context.progress(0.1)
        done = enhance(np.asarray(image), strength)
        context.progress(0.9)
        facts = enhance_facts(done, strength)
        facts["seconds"] = round(time.perf_counter() - started, 3)
        result = Image.fromarray(done.image, "RGB")
        return ImageResult(result, facts, preview=before_after(image, result))
