"""Filling what /clean removes: Stable Diffusion 1.5 inpainting when its weights are there,
else OpenCV's inpainting (Telea, services/imaging/inpaint_fill.py). Real either way, and
either way every pixel outside the mask is the photo's, bit for bit: only the masked
pixels are taken from the fill.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from services.errors import ModelUnavailable
from services.imaging.inpaint_fill import inpaint
from services.models.inpaint import BackgroundPainter

log = logging.getLogger("vitrina.clean")
PROMPT = "clean empty surface, seamless continuation of the surroundings, product photography"
#: the crop around the mask reaches this share of the mask's larger side beyond it
MARGIN_SHARE = 0.25
MIN_MARGIN = 16


@dataclass(frozen=True)
class Filled:
    pixels: np.ndarray  # RGB uint8 at the photo's size
    method: str  # "sd" | "telea"
    seconds: float
    steps: int = 0
    seed: int = 0


class TextFiller:
    """SD inpainting (diffusion lane) when `painter` is configured and its weights are
    present, else Telea (quick lane)."""

    def __init__(
        self,
        painter: BackgroundPainter | None = None,
        *,
        painter_missing: Callable[[], list[str]] = list,
        steps: int = 25,
    ) -> None:
        self.painter = painter
        self._painter_missing = painter_missing
        self.steps = steps

    def diffusion(self) -> bool:
        """Whether fills are painted by SD (a file check: cheap)."""
        return self.painter is not None and self._painter_missing() == []

    def fill(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        *,
        seed: int = 0,
        steps: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Filled:
        started = time.perf_counter()
        mask = np.asarray(mask, bool)
        if not mask.any():
            return Filled(np.asarray(rgb).copy(), "none", 0.0)
        if self.diffusion():
            steps = max(1, int(steps or self.steps))
            try:
                painted = self._paint(rgb, mask, seed, steps, progress, cancelled)
            except ModelUnavailable as exc:  # files there but unreadable: Telea, said once
                log.warning("SD inpainting unavailable (%s): /clean fills with OpenCV", exc)
            else:
                return Filled(painted, "sd", time.perf_counter() - started, steps, seed)
        return Filled(inpaint(rgb, mask), "telea", time.perf_counter() - started)

    def _paint(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        seed: int,
        steps: int,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> np.ndarray:
        """The mask's neighbourhood at SD's working size, painted, scaled back and taken
        only inside the mask."""
        assert self.painter is not None
        x0, y0, x1, y1 = _crop(mask)
        crop, crop_mask = rgb[y0:y1, x0:x1], mask[y0:y1, x0:x1]
        side, step = self.painter.native_side, self.painter.vae_scale
        scale = side / max(crop.shape[:2])
        size = tuple(max(step, round(n * scale / step) * step) for n in crop.shape[1::-1])
        work = Image.fromarray(np.ascontiguousarray(crop)).resize(size, Image.Resampling.LANCZOS)
        coverage = cv2.resize(crop_mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        grown = cv2.dilate((coverage > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
        painted = self.painter.paint(
            work,
            Image.fromarray(grown * 255, "L"),
            PROMPT,
            seed=seed,
            steps=steps,
            progress=progress,
            cancelled=cancelled,
        )
        back = painted.image.convert("RGB").resize(crop.shape[1::-1], Image.Resampling.LANCZOS)
        out = np.asarray(rgb).copy()
        window = out[y0:y1, x0:x1]
        window[crop_mask] = np.asarray(back)[crop_mask]
        return out


def _crop(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    span = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    margin = max(MIN_MARGIN, round(MARGIN_SHARE * span))
    return (
        max(0, int(cols[0]) - margin),
        max(0, int(rows[0]) - margin),
        min(width, int(cols[-1]) + 1 + margin),
        min(height, int(rows[-1]) + 1 + margin),
    )
