"""`clean`: the text, badges and stickers on a photo removed. The PP-OCR detector's regions,
grown over glyph edges and taken with the plate behind them, make the mask
(services/imaging/text_mask.py); the product keeps its own print unless the user asked for
everything (`/clean all`); SD inpainting fills the mask when its weights are there, else
OpenCV's Telea (services/operations/text_fill.py). Outside the mask every pixel is the
photo's, bit for bit. The chat gets a before/after; "Full size" the cleaned PNG.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.errors import JobCancelled
from services.imaging.before_after import before_after
from services.imaging.decode import load_rgb
from services.jobs import JobRequest
from services.operations import LANE_DIFFUSION, LANE_QUICK, Op, Operation, Outcome, RunContext
from services.operations.background import Cutter
from services.operations.base import each_photo
from services.operations.text_fill import TextFiller
from services.operations.text_regions import (
    Reading,
    TextFinder,
    object_mask,
    product_alpha,
    text_mask,
    with_alpha,
)
from services.results import ImageResult
from services.weights.digest import sha256_file

#: Bump when a change of code changes a clean result (part of its cache key).
CLEAN_VERSION = 1


def everything(params: Mapping[str, Any]) -> bool:
    """`/clean all`: the text on the product goes too."""
    return bool(params.get("all"))


@dataclass(frozen=True)
class Cleaned:
    image: Image.Image  # RGB, the photo's size
    mask: np.ndarray  # what was filled (bool H×W)
    reading: Reading
    method: str  # sd | telea | none (nothing to remove)
    seed: int
    steps: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "regions": len(self.reading.regions),
            "removed_share": round(float(self.mask.mean()), 5),
            "fill": self.method,
        }
        if self.method == "sd":
            facts.update(seed=self.seed, steps=self.steps)
        facts.update({f"{k}_s": round(v, 3) for k, v in self.seconds.items()})
        return facts


class CleanOperation(Operation):
    """One photo per run; a diffusion when SD inpainting fills, else a quick job."""

    name = Op.CLEAN
    lanes = (LANE_QUICK, LANE_DIFFUSION)
    max_batch = 1

    def __init__(self, finder: TextFinder, cutter: Cutter, filler: TextFiller) -> None:
        self.finder = finder
        self.cutter = cutter
        self.filler = filler

    # ---- the Operation contract

    def missing_weights(self) -> list[str]:
        return self.finder.missing_weights()

    def missing_weights_for(self, params: Mapping[str, Any]) -> list[str]:
        """Keeping the product needs the cut; `/clean all` does not."""
        return [] if everything(params) else self.cutter.missing_weights()

    def lane(self, request: JobRequest) -> str:
        return LANE_DIFFUSION if self.filler.diffusion() else LANE_QUICK

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, str(request.image_path))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Telea is deterministic: cacheable. SD only with a seed (as edits: without one a
        repeat means "another one")."""
        return self.identity(params)

    def identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        sd = self.filler.diffusion()
        if sd and params.get("seed") is None:
            return None
        whole = everything(params)
        identity: dict[str, Any] = {
            "all": whole,
            "fill": "sd" if sd else "telea",
            "version": CLEAN_VERSION,
            "detector": self.finder.detector.limit,
            "models": ["ocr", *([] if whole else ["isnet", "sam"]), *(["inpaint"] if sd else [])],
        }
        if not whole:
            identity["cutter"] = getattr(self.cutter, "identity", None)
        if sd:
            identity.update(seed=int(params["seed"]), steps=self.steps(params))
        return identity

    def warm_up(self) -> None:
        self.finder.detector.load()

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return each_photo(requests, self.clean_file, context)

    # ---- the work

    def steps(self, params: Mapping[str, Any]) -> int:
        return max(1, int(params.get("steps") or self.filler.steps))

    def clean_file(
        self,
        path: Path | str,
        params: Mapping[str, Any],
        context: RunContext,
        *,
        photo: str | None = None,
    ) -> ImageResult:
        started = time.perf_counter()
        image = load_rgb(Path(path))
        context.progress(0.05)
        cleaned = self.clean(
            image,
            context,
            whole=everything(params),
            cut_source=with_alpha(path, image),
            key=photo or _sha_or_none(path),
            seed=params.get("seed"),
            steps=self.steps(params),
        )
        facts = {**cleaned.facts, "all": everything(params)}
        facts["seconds"] = round(time.perf_counter() - started, 3)
        preview = before_after(image, cleaned.image)
        context.progress(1.0)
        return ImageResult(cleaned.image, facts, preview=preview)

    def clean(
        self,
        image: Image.Image,
        context: RunContext,
        *,
        whole: bool = False,
        cut_source: Image.Image | None = None,
        key: str | None = None,
        alpha: np.ndarray | None = None,
        reading: Reading | None = None,
        force: Collection[int] = (),
        seed: int | None = None,
        steps: int | None = None,
    ) -> Cleaned:
        """`image` (RGB, upright) without its text; the product's own print stays unless
        `whole`, except the regions `force` names (indices into the reading's). `alpha`,
        `reading`: the product's cut and the text regions when the caller has them."""
        seconds: dict[str, float] = {}
        if reading is None:
            reading = self.finder.find(image, read=False)
            seconds.update(detect=reading.seconds["detect"])
        rgb = np.asarray(image)
        if not reading.regions:
            return Cleaned(image, np.zeros(rgb.shape[:2], bool), reading, "none", 0, 0, seconds)
        if context.cancelled():
            raise JobCancelled("cancelled after the text")
        context.progress(0.2)
        product = None
        if not whole:
            if alpha is None:
                started = time.perf_counter()
                alpha = product_alpha(
                    self.cutter,
                    image,
                    reading,
                    source=cut_source,
                    key=key,
                    cancelled=context.cancelled,
                )
                seconds["cut"] = time.perf_counter() - started
            product = object_mask(alpha)
        started = time.perf_counter()
        mask = self.finder.mask(rgb, reading, product, everything=whole)
        if force:  # these go even from the product (a banned phrase is no product's print)
            mask |= text_mask(rgb, [reading.quads[i] for i in sorted(force)], everything=True)
        seconds["mask"] = time.perf_counter() - started
        context.progress(0.4)
        seed = int(seed) if seed is not None else secrets.randbelow(2**31)

        def step(done: int, total: int) -> None:
            context.progress(0.4 + 0.55 * done / max(total, 1), done, total)

        filled = self.filler.fill(
            rgb, mask, seed=seed, steps=steps, progress=step, cancelled=context.cancelled
        )
        seconds["fill"] = filled.seconds
        result = Image.fromarray(filled.pixels, "RGB")
        return Cleaned(result, mask, reading, filled.method, seed, filled.steps, seconds)


def _sha_or_none(path: Any) -> str | None:
    try:
        return sha256_file(path)
    except (OSError, TypeError):
        return None
