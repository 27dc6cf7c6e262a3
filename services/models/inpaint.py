"""A generated background: Stable Diffusion 1.5 inpainting (diffusers
``StableDiffusionInpaintPipeline``) repaints what the mask marks white.

Loaded lazily, once, under a lock, from ``WEIGHTS_DIR/inpaint`` in the layout
``save_pretrained`` writes (real: an SD 1.5 inpainting model, see the manifest). fp16 on
CUDA. Progress comes from ``callback_on_step_end``; a cancel raises ``JobCancelled`` from
the callback, so it lands within one step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from services.errors import JobCancelled, ModelUnavailable
from services.models.resident import ResidentModel, in_use

DEFAULT_NEGATIVE = (
    "text, watermark, logo, letters, people, hands, blurry, lowres, deformed, distorted, "
    "extra objects, frame, border"
)


@dataclass(frozen=True)
class PaintResult:
    image: Image.Image  # RGB at the working size that was asked
    steps: int
    seed: int
    seconds: float


class BackgroundPainter(ResidentModel):
    """SD 1.5 inpainting loaded from one folder of WEIGHTS_DIR."""

    name = "inpaint"
    _held = ("_pipe",)

    def __init__(self, model_dir: Path, device: str = "cpu") -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        super().__init__()
        self._pipe: Any = None

    @property
    @in_use
    def vae_scale(self) -> int:
        """Pixels per latent cell (8 for SD 1.5): working sizes are multiples of it."""
        self.load()
        return int(self._pipe.vae_scale_factor)

    @property
    @in_use
    def native_side(self) -> int:
        """The side the model was trained at: UNet sample size × vae_scale (512 for SD 1.5)."""
        self.load()
        return int(self._pipe.unet.config.sample_size) * self.vae_scale

    def _load_locked(self) -> None:
        import torch
        from diffusers import StableDiffusionInpaintPipeline
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()
        folder = self.model_dir
        if not folder.is_dir():
            raise ModelUnavailable(self.name, folder, "missing")
        if not (folder / "model_index.json").is_file():
            raise ModelUnavailable(self.name, folder, "no model_index.json")
        device = torch.device(self.device)
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        # The GPU download keeps only the fp16 files (half the size); read what is there.
        unet = folder / "unet"
        fp16_only = (unet / "diffusion_pytorch_model.fp16.safetensors").is_file() and not (
            unet / "diffusion_pytorch_model.safetensors"
        ).is_file()
        try:
            pipe = StableDiffusionInpaintPipeline.from_pretrained(
                folder,
                dtype=dtype,
                variant="fp16" if fp16_only else None,
                safety_checker=None,
                feature_extractor=None,
                requires_safety_checker=False,
                local_files_only=True,
            )
        except Exception as exc:  # corrupt/foreign files: report, don't crash the worker
            reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
            raise ModelUnavailable(self.name, folder, reason) from exc
        pipe.set_progress_bar_config(disable=True)
        self._pipe = pipe.to(device)

    @in_use
    def paint(
        self,
        image: Image.Image,
        mask: Image.Image,
        prompt: str,
        *,
        seed: int,
        steps: int,
        guidance: float = 7.5,
        negative_prompt: str = DEFAULT_NEGATIVE,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> PaintResult:
        """Repaint the white part of `mask` in `image` (both at a working size whose sides are
        multiples of `vae_scale`). Deterministic for a seed on one device."""
        import torch

        self.load()
        if image.size != mask.size:
            raise ValueError(f"mask {mask.size} does not match the image {image.size}")
        pipe = self._pipe
        generator = torch.Generator(device="cpu").manual_seed(seed)

        def on_step(
            pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            if cancelled is not None and cancelled():
                raise JobCancelled("cancelled during diffusion")
            if progress is not None:  # schedulers may add a step (PNDM): ask the pipeline
                progress(step + 1, int(getattr(pipeline, "num_timesteps", 0) or steps))
            return tensors

        if cancelled is not None and cancelled():
            raise JobCancelled("cancelled before diffusion")
        started = time.perf_counter()
        with torch.inference_mode():
            output = pipe(
                prompt=prompt,
                negative_prompt=negative_prompt,
                image=image.convert("RGB"),
                mask_image=mask.convert("L"),
                width=image.width,
                height=image.height,
                num_inference_steps=steps,
                guidance_scale=guidance,
                generator=generator,
                strength=1.0,
                callback_on_step_end=on_step,
            )
        painted = output.images[0].convert("RGB")
        if painted.size != image.size:
            painted = painted.resize(image.size, Image.Resampling.LANCZOS)
        return PaintResult(painted, steps, seed, time.perf_counter() - started)
