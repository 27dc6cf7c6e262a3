"""Segment Anything (``segment-anything``): crisp masks from prompts, or automatic masks.

Checkpoints live in WEIGHTS_DIR/sam/ under their official names; the architecture follows
the name (``sam_model_registry``: vit_h on CUDA by default, vit_b on the CPU), unless the
folder holds ``sam_config.json`` (tiny test models of the same classes at small sizes, see
services/weights/tiny_sam.py). Models are built with ``checkpoint=None`` and loaded here with
``torch.load(map_location, weights_only=True)``: the registry's own path unpickles freely.

The image embedding is the expensive part (ViT-H ≈ 0.1-0.15 s on an A100, seconds on a CPU):
it is computed once per photo and kept in a small LRU, so "Wrong object?" and follow-ups reuse
it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from services.errors import ModelUnavailable
from services.models.resident import ResidentModel, in_use
from services.weights.sam_arch import CHECKPOINTS, CONFIG_FILE, build_sam

if TYPE_CHECKING:  # scipy-free import: benchmarks run on bare GPU boxes
    from services.imaging.automasks import AutoMask

log = logging.getLogger("vitrina.sam")

CACHE_SIZE = 4


@dataclass(frozen=True)
class SamEmbedding:
    features: Any  # torch.Tensor [1, C, h, w] on the model's device
    original_size: tuple[int, int]  # (H, W) of the image embedded
    input_size: tuple[int, int]  # (H, W) after ResizeLongestSide
    seconds: float


@dataclass(frozen=True)
class SamMasks:
    masks: np.ndarray  # bool [K, H, W]
    scores: np.ndarray  # float32 [K]: SAM's predicted IoU
    seconds: float


class SamSegmenter(ResidentModel):
    """SAM loaded lazily (once, under a lock) from WEIGHTS_DIR/sam/."""

    name = "sam"
    _held = ("_model", "_predictor", "_cache")

    def __init__(
        self, model_dir: Path, device: str = "cpu", variant: str | None = None, fp16: bool = False
    ) -> None:
        if variant is not None and variant not in CHECKPOINTS:
            raise ValueError(
                f"SAM variant must be one of {', '.join(CHECKPOINTS)}, not {variant!r}"
            )
        self.model_dir = Path(model_dir)
        self.device = device
        self.variant = variant
        self.fp16 = fp16 and device.startswith("cuda")
        super().__init__()
        self._model: Any = None
        self._predictor: Any = None
        self._cache: OrderedDict[str, SamEmbedding] = OrderedDict()
        self.embeddings_computed = 0  # for tests and logs: how often the encoder ran
        self.architecture = ""

    # ---- files

    def checkpoint(self) -> tuple[Path, str] | None:
        """(checkpoint file, architecture) this device would load, or None when none is there.

        A forced variant (SAM_MODEL) must be present; otherwise vit_h first on CUDA, vit_b
        first on the CPU, then whatever else is there."""
        config = self._config()
        if config is not None:
            path = self.model_dir / str(config.get("checkpoint", ""))
            return (path, "config") if path.is_file() else None
        if self.variant is not None:
            order = [self.variant]
        elif self.device.startswith("cuda"):
            order = ["vit_h", "vit_l", "vit_b"]
        else:
            order = ["vit_b", "vit_l", "vit_h"]
        for variant in order:
            path = self.model_dir / CHECKPOINTS[variant]
            if path.is_file() and path.stat().st_size > 0:
                return path, variant
        return None

    @property
    def available(self) -> bool:
        return self.checkpoint() is not None

    def weight_bytes_per_element(self) -> int:
        return 4  # fp32 weights on every device; fp16 on CUDA is autocast, not a cast

    def estimate_bytes(self) -> int:  # only the checkpoint this device would load
        if self.measured:
            return self.measured.get(self.memory_device, 0)
        found = self.checkpoint()
        return found[0].stat().st_size if found is not None else 0

    def _config(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # ---- loading

    def _load_locked(self) -> None:
        import torch
        from segment_anything import SamPredictor, sam_model_registry

        if not self.model_dir.is_dir():
            raise ModelUnavailable(self.name, self.model_dir, "missing")
        found = self.checkpoint()
        if found is None:
            wanted = (
                CHECKPOINTS[self.variant] if self.variant else " or ".join(CHECKPOINTS.values())
            )
            raise ModelUnavailable(self.name, self.model_dir, f"no {wanted}")
        path, architecture = found
        try:
            config = self._config()
            model = build_sam(config) if config is not None else None
            if model is None:
                model = sam_model_registry[architecture](checkpoint=None)
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:  # truncated, foreign, or another architecture's file
            reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
            raise ModelUnavailable(self.name, self.model_dir, reason) from exc
        model.requires_grad_(False)
        self._model = model.to(torch.device(self.device)).eval()
        self._predictor = SamPredictor(self._model)
        self.architecture = architecture if config is None else "config:" + path.name
        log.info("SAM %s loaded from %s on %s", self.architecture, path, self.device)

    def _autocast(self) -> Any:
        import torch

        if self.fp16:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    # ---- embedding

    @in_use
    def embed(self, image: np.ndarray, cache_key: str | None = None) -> SamEmbedding:
        """The image embedding of an RGB uint8 H×W×3 array; cached under ``cache_key``."""
        self.load()
        key = None if cache_key is None else f"{cache_key}:{image.shape[0]}x{image.shape[1]}"
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        import torch

        started = time.perf_counter()
        with torch.inference_mode(), self._autocast():
            self._predictor.set_image(np.ascontiguousarray(image), image_format="RGB")
        embedding = SamEmbedding(
            features=self._predictor.features,
            original_size=tuple(self._predictor.original_size),
            input_size=tuple(self._predictor.input_size),
            seconds=time.perf_counter() - started,
        )
        self._predictor.reset_image()
        self.embeddings_computed += 1
        if key is not None:
            self._cache[key] = embedding
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return embedding

    def _use(self, predictor: Any, embedding: SamEmbedding) -> None:
        predictor.features = embedding.features
        predictor.original_size = embedding.original_size
        predictor.input_size = embedding.input_size
        predictor.is_image_set = True

    # ---- prompts

    @in_use
    def predict(
        self,
        embedding: SamEmbedding,
        *,
        box: np.ndarray | None = None,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        multimask: bool = True,
    ) -> SamMasks:
        """SAM's masks for one prompt, at the embedded image's size."""
        import torch

        self.load()
        started = time.perf_counter()
        has_points = points is not None and len(points) > 0
        with torch.inference_mode(), self._autocast():
            self._use(self._predictor, embedding)
            try:
                masks, scores, _ = self._predictor.predict(
                    point_coords=points if has_points else None,
                    point_labels=labels if has_points else None,
                    box=box,
                    multimask_output=multimask,
                )
            finally:
                self._predictor.reset_image()
        return SamMasks(
            masks.astype(bool), scores.astype(np.float32), time.perf_counter() - started
        )

    @in_use
    def auto_masks(
        self, image: np.ndarray, embedding: SamEmbedding, points_per_side: int = 16
    ) -> list[AutoMask]:
        """SamAutomaticMaskGenerator over a point grid, reusing the cached embedding.

        First with SAM's quality filters at the marks services/imaging/automasks.py uses; if no
        mask passes (a weak or untrained model), once more on a coarse grid with the filters
        off, so the ranking there (and its last rule) still has masks to decide on.
        """
        from services.imaging.automasks import MIN_PREDICTED_IOU, MIN_STABILITY

        self.load()
        found = self._generate(image, embedding, points_per_side, MIN_PREDICTED_IOU, MIN_STABILITY)
        if not found:
            log.info("no SAM mask passed the quality filters: ranking unfiltered masks")
            found = self._generate(image, embedding, 4, 0.0, 0.0)
        return found

    def _generate(
        self,
        image: np.ndarray,
        embedding: SamEmbedding,
        points_per_side: int,
        min_iou: float,
        min_stability: float,
    ) -> list[AutoMask]:
        import torch
        from segment_anything import SamAutomaticMaskGenerator

        from services.imaging.automasks import AutoMask

        generator = SamAutomaticMaskGenerator(
            self._model,
            points_per_side=points_per_side,
            pred_iou_thresh=min_iou,
            stability_score_thresh=min_stability,
        )
        cached = embedding
        segmenter = self

        class _Reuse(type(self._predictor)):  # type: ignore[misc]
            def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
                if tuple(image.shape[:2]) == cached.original_size:
                    segmenter._use(self, cached)
                else:  # a crop (crop_n_layers > 0): embed it
                    super().set_image(image, image_format)

        generator.predictor = _Reuse(self._model)
        with torch.inference_mode(), self._autocast():
            records = generator.generate(np.ascontiguousarray(image))
        return [
            AutoMask(
                mask=np.asarray(r["segmentation"], dtype=bool),
                predicted_iou=float(r["predicted_iou"]),
                stability=float(r["stability_score"]),
            )
            for r in records
        ]
