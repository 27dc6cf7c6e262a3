"""`straighten`: a room or building photo with its verticals made vertical and its horizon
level (services/imaging/straighten.py: LSD line segments, a RANSAC vertical vanishing
point, a homography, the largest crop at the photo's aspect). Conservative: a photo with
too few consistent lines, or one whose correction would pass the bound, comes back as it
was and the reply says why. The chat gets a before/after; "Full size" the straightened JPEG.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.imaging.before_after import before_after
from services.imaging.decode import load_rgb
from services.imaging.straighten import Straightened, straighten
from services.jobs import JobRequest
from services.operations import Op, Operation, Outcome, RunContext
from services.operations.base import each_photo
from services.results import ImageResult

#: Bump when a change of code changes a straightened photo (part of its cache key).
STRAIGHTEN_VERSION = 1


def straighten_facts(done: Straightened) -> dict[str, Any]:
    """What the caption says: the angle corrected, or why nothing changed."""
    return {
        "changed": done.changed,
        "angle": round(done.angle, 2),
        "roll": round(done.roll, 2),
        "lines": done.lines,
        "reason": done.reason,
    }


class StraightenOperation(Operation):
    """One photo per run, CPU only (OpenCV): nothing to load."""

    name = Op.STRAIGHTEN
    max_batch = 1

    def missing_weights(self) -> list[str]:
        return []

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, str(request.image_path))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"version": STRAIGHTEN_VERSION, "models": []}

    def warm_up(self) -> None:
        pass

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return each_photo(requests, self.straighten_file, context)

    def straighten_file(
        self,
        path: Path | str,
        params: Mapping[str, Any],
        context: RunContext,
        *,
        photo: str | None = None,
    ) -> ImageResult:
        started = time.perf_counter()
        image = load_rgb(Path(path))
        context.progress(0.1)
        done = straighten(np.asarray(image))
        context.progress(0.9)
        facts = straighten_facts(done)
        facts["seconds"] = round(time.perf_counter() - started, 3)
        if not done.changed:
            return ImageResult(image, facts)
        result = Image.fromarray(done.image, "RGB")
        return ImageResult(result, facts, preview=before_after(image, result))
