"""The product cut out of a photo: saliency (ISNet) says which object, SAM refines its edge.

``ObjectCutter.cut`` returns a cleaned alpha at the image's size (not feathered, not
decontaminated: the compositor does that) and how many distinct candidates exist, so
"Wrong object?" can ask for the next one. Per photo (``cache_key``) the saliency map, the SAM
image embedding and the ranked candidates are kept in a small LRU; with a feature store and a
photo sha256 as the key, on disk too (services/features.py: fp16, which changes no mask that
matters; what is computed is rounded the same way, so a cut from disk equals a fresh one), so
a later job or a restarted worker reuses them.

Paths, by what is installed:
- ISNet + SAM: SAM prompted with the saliency box and points, the mask that agrees with
  saliency fused with it ("isnet+sam"); SAM disagreeing everywhere -> saliency ("isnet:fallback");
- ISNet only: the saliency alpha ("isnet");
- SAM only: automatic masks ranked by services/imaging/automasks.py ("sam-auto");
  a transparent image's own alpha stands in for saliency then ("alpha+sam").
An RGBA image's alpha, when not opaque, is a strong hint: what is transparent is background
(":alpha-hint" notes it).

The product alone (services/imaging/separate.py): of several salient things (a cup held up
before a person) the best candidate keeps the one nearest the centre and in front, split from
what stands behind; SAM is prompted from it alone. ":objects<n>" notes how many were told
apart, ":look" that the card needs a look (none is clearly the product: nothing is dropped;
or the product was split from what stands behind by colour edges alone); `Cutout.objects`
and `Cutout.needs_look` read them back (the disk keeps the source).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from services.errors import BadImage, JobCancelled
from services.features import FeatureStore
from services.features import tag as feature_tag
from services.imaging import automasks as A
from services.imaging import masks as M
from services.models.isnet import IsnetSaliency
from services.models.sam import SamSegmenter
from services.operations.cut_candidates import (
    Cutout,
    distinct_alphas,
    product_alone,
    saliency_candidates,
    working_copy,
)
from services.operations.cut_features import CutFeatures
from services.weights.revision import folder_revision

log = logging.getLogger("vitrina.cutout")

CACHE_SIZE = 4
#: Bump when the candidate ranking changes: stored candidates of older code are not reused.
#: 2: holes the model is sure are background stay open (masks.fill_holes with saliency).
#: 3: the product alone: one object of several, split from what stands behind it.
CUT_VERSION = 3


@dataclass(frozen=True)
class _Analysis:
    """Everything computed once per photo at the working size."""

    candidates: tuple[np.ndarray, ...]  # float32 alphas, best first, distinct
    source: str


class ObjectCutter:
    """Which object, and its mask. Models load lazily; each part is optional."""

    def __init__(
        self,
        weights_dir: Path,
        device: str = "cpu",
        sam_variant: str | None = None,
        features: FeatureStore | None = None,
        isnet_runtime: str = "auto",
    ):
        self.weights_dir = Path(weights_dir)
        self.device = device
        self.features = features
        self.isnet = IsnetSaliency(self.weights_dir / "isnet", device, isnet_runtime)
        self.sam = SamSegmenter(
            self.weights_dir / "sam", device, sam_variant, fp16=device.startswith("cuda")
        )
        self._lock = threading.Lock()
        self._saliency: OrderedDict[str, np.ndarray] = OrderedDict()
        self._analyses: OrderedDict[str, _Analysis] = OrderedDict()

    # ---- availability

    def missing_weights(self) -> list[str]:
        """[] when ISNet or SAM is there (either alone works); else both names."""
        if self.isnet.available or self.sam.available:
            return []
        return ["isnet", "sam"]

    @property
    def identity(self) -> list[str]:
        """What, besides the model folders, decides the cut (part of result-cache keys)."""
        return [self.sam.variant or "auto", self.device, f"cut{CUT_VERSION}"]

    def warm_up(self) -> None:
        if self.isnet.available:
            self.isnet.load()
        if self.sam.available:
            self.sam.load()

    # ---- the cut

    def cut(
        self,
        image: Image.Image,
        *,
        candidate: int = 0,
        cache_key: str | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Cutout:
        """The ``candidate``-th best distinct object of ``image`` (modulo the count)."""
        if not isinstance(image, Image.Image) or image.width < 1 or image.height < 1:
            raise BadImage("expected a non-empty PIL image")
        has_isnet, has_sam = self.isnet.available, self.sam.available
        if not (has_isnet or has_sam):
            self.isnet.load()  # raises ModelUnavailable naming the folder and the command
        timings: dict[str, float] = {}
        work, hint = working_copy(image)
        key = None if cache_key is None else f"{cache_key}:{work.size}:{hint is not None}"

        def check() -> None:
            if cancelled is not None and cancelled():
                raise JobCancelled("cancelled")

        with self._lock:
            analysis = self._analyses.get(key) if key is not None else None
            if analysis is not None:
                self._analyses.move_to_end(key)  # type: ignore[arg-type]
        if analysis is None:
            disk = self._disk(cache_key, work, hint, has_isnet, has_sam)
            stored = disk.load_candidates(work.size) if disk is not None else None
            analysis = _Analysis(*stored) if stored is not None else None
            if analysis is None:
                analysis = self._analyse(work, hint, key, has_isnet, has_sam, timings, check, disk)
                if disk is not None:
                    rounded = disk.save_candidates(analysis.candidates, analysis.source)
                    analysis = _Analysis(rounded, analysis.source)
            if key is not None:
                with self._lock:
                    self._analyses[key] = analysis
                    while len(self._analyses) > CACHE_SIZE:
                        self._analyses.popitem(last=False)
        count = len(analysis.candidates)
        index = candidate % count
        alpha = analysis.candidates[index]
        if alpha.shape != (image.height, image.width):
            resized = Image.fromarray(alpha).resize(image.size, Image.Resampling.BILINEAR)
            alpha = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        return Cutout(
            alpha=alpha,
            candidate=index,
            candidates=count,
            source=analysis.source,
            foreground_share=float(alpha.mean()),
            timings=timings,
        )

    def _analyse(
        self,
        work: Image.Image,
        hint: np.ndarray | None,
        key: str | None,
        has_isnet: bool,
        has_sam: bool,
        timings: dict[str, float],
        check: Callable[[], None],
        disk: CutFeatures | None = None,
    ) -> _Analysis:
        check()
        saliency = self._saliency_map(work, hint, key, has_isnet, timings, disk)
        check()
        pixels = np.asarray(work.convert("RGB"))
        note = ":alpha-hint" if hint is not None else ""
        focused, separated = saliency, ""
        if saliency is not None:
            started = time.perf_counter()
            focused, separated = product_alone(saliency, pixels)
            note += separated
            timings["separate"] = time.perf_counter() - started
        if not has_sam:
            started = time.perf_counter()
            assert saliency is not None and focused is not None
            candidates = saliency_candidates(saliency, focused)
            timings["choose"] = time.perf_counter() - started
            return _Analysis(candidates, "isnet" + note)
        started = time.perf_counter()
        embedding = disk.load_embedding(self.sam) if disk is not None else None
        if embedding is None:
            embedding = self.sam.embed(pixels, key)
            if disk is not None:
                embedding = disk.save_embedding(embedding)
        timings["sam_embed"] = time.perf_counter() - started
        check()
        if saliency is None or focused is None or M.prompts_from_saliency(focused) is None:
            return self._auto(pixels, embedding, timings, note)
        if not has_isnet:  # the image's own alpha stood in for saliency
            return self._prompted(
                saliency, embedding, timings, separated, base="alpha", focus=focused
            )
        return self._prompted(saliency, embedding, timings, note, focus=focused)

    def _saliency_map(
        self,
        work: Image.Image,
        hint: np.ndarray | None,
        key: str | None,
        has_isnet: bool,
        timings: dict[str, float],
        disk: CutFeatures | None = None,
    ) -> np.ndarray | None:
        if not has_isnet:
            return hint
        cached = self._saliency.get(key) if key is not None else None
        if cached is None and disk is not None:
            cached = disk.load_saliency(work.size)
        if cached is None:
            started = time.perf_counter()
            cached = self.isnet.predict(work).probability
            timings["saliency"] = time.perf_counter() - started
            if disk is not None:
                cached = disk.save_saliency(cached)
            if key is not None:
                self._saliency[key] = cached
                while len(self._saliency) > CACHE_SIZE:
                    self._saliency.popitem(last=False)
        if hint is None:
            return cached
        combined = cached * hint
        # the transparent areas are surely background; if ISNet saw nothing inside, trust the hint
        return combined if (combined >= M.THRESHOLD).any() else hint

    def _prompted(
        self,
        saliency: np.ndarray,
        embedding: object,
        timings: dict[str, float],
        note: str,
        base: str = "isnet",
        focus: np.ndarray | None = None,
    ) -> _Analysis:
        """SAM prompted by the box and points of ``focus`` (the kept object's saliency:
        the product alone) and fused with it; each salient part of ``saliency`` an
        alternative."""
        whole = saliency
        saliency = whole if focus is None else focus
        prompts = M.prompts_from_saliency(saliency)
        assert prompts is not None
        started = time.perf_counter()
        result = self.sam.predict(
            embedding,  # type: ignore[arg-type]
            box=prompts.box,
            points=prompts.points,
            labels=prompts.labels,
        )
        # each other salient object, prompted on its own, is an alternative
        parts = M.saliency_components(whole)
        part_masks = []
        for part in parts:
            part_prompts = M.prompts_from_saliency(part.astype(np.float32), max_positive=1)
            if part_prompts is None:
                continue
            one = self.sam.predict(
                embedding,  # type: ignore[arg-type]
                box=part_prompts.box,
                points=part_prompts.points[:1],
                labels=part_prompts.labels[:1],
            )
            best, _ = M.rank_by_agreement(list(one.masks), part)[0]
            part_masks.append((one.masks[best], part))
        timings["sam_predict"] = time.perf_counter() - started

        started = time.perf_counter()
        ranked = M.rank_by_agreement(list(result.masks), saliency)
        best, agreement = ranked[0]
        fused = M.fuse(result.masks[best], saliency)
        if fused.fallback:
            log.info("SAM disagrees with saliency (IoU %.2f): the saliency cut is kept", agreement)
        alphas = [fused.alpha]
        for mask, part in part_masks:
            part_fused = M.fuse(mask, np.where(part, whole, 0.0), holes_saliency=whole)
            alphas.append(part_fused.alpha)
        if focus is not None and focus is not whole:  # all that is salient: an alternative
            alphas.append(M.clean_alpha(whole, saliency=whole))
        alphas.extend(M.clean_alpha(result.masks[i].astype(np.float32)) for i, _ in ranked[1:])
        if fused.fallback:
            alphas.append(M.clean_alpha(result.masks[best].astype(np.float32)))
        candidates = distinct_alphas(alphas)
        timings["choose"] = time.perf_counter() - started
        source = f"{base}:fallback" if fused.fallback else f"{base}+sam"
        return _Analysis(candidates, source + note)

    def _auto(
        self, pixels: np.ndarray, embedding: object, timings: dict[str, float], note: str
    ) -> _Analysis:
        started = time.perf_counter()
        items = self.sam.auto_masks(pixels, embedding)  # type: ignore[arg-type]
        timings["sam_predict"] = time.perf_counter() - started
        started = time.perf_counter()
        order, rule = A.rank_auto_masks(items)
        if not items:
            alphas = [np.zeros(pixels.shape[:2], np.float32)]
        elif order == [-1]:
            alphas = [M.clean_alpha(A.complement_of_largest(items).astype(np.float32))]
        else:
            alphas = [M.clean_alpha(items[i].mask.astype(np.float32)) for i in order]
        candidates = distinct_alphas(alphas) or (alphas[0],)
        timings["choose"] = time.perf_counter() - started
        source = "sam-auto" + (":largest-is-background" if rule != "scored" else "")
        return _Analysis(candidates, source + note)

    def _disk(
        self,
        photo: str | None,
        work: Image.Image,
        hint: np.ndarray | None,
        has_isnet: bool,
        has_sam: bool,
    ) -> CutFeatures | None:
        """The stored features of this photo, when there is a store and a sha256 key."""
        store = self.features
        if store is None or photo is None or store.folder(photo) is None:
            return None
        isnet = feature_tag(folder_revision(self.isnet.model_dir), self.device, work.size)
        sam = "none"
        if has_sam:
            found = self.sam.checkpoint()
            checkpoint = found[0].name if found else ""
            sam = feature_tag(
                folder_revision(self.sam.model_dir),
                checkpoint,
                self.device,
                self.sam.fp16,
                work.size,
            )
        cut = feature_tag(isnet if has_isnet else "none", sam, hint is not None, CUT_VERSION)
        return CutFeatures(store, photo, isnet, sam, cut)
