"""instruct-pix2pix (diffusers `StableDiffusionInstructPix2PixPipeline`): edits by instruction.

One pipeline, loaded once, lazily, from ``WEIGHTS_DIR/pix2pix`` (the layout ``save_pretrained``
and ``snapshot_download`` write). fp16 on CUDA, fp32 on CPU; SDPA attention; VAE slicing, and
tiling for big working sizes. Every image of a batch has its own seeded generator, so a seed
gives the same picture whether it ran alone or in a batch of four.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from services.errors import JobCancelled, ModelUnavailable
from services.imaging.resize import smaller, to_working, working_size
from services.models.resident import ResidentModel, in_use

log = logging.getLogger("vitrina.models")

#: The VAE decodes in tiles above this working side (memory grows with the square of it).
TILING_ABOVE = 768
MAX_BATCH = 4

Progress = Callable[[float, int, int], None]  # (fraction, step, total)


class _Interrupted(Exception):  # noqa: N818 - raised from the step callback to stop the loop
    """The pipeline has no interrupt flag: raising from callback_on_step_end stops it."""


@dataclass(frozen=True)
class EditOutput:
    """One edited picture at working size, and how it was made."""

    image: Image.Image  # what the model drew, at `working_size`
    working_input: Image.Image  # what the model saw (the photo at `working_size`)
    seed: int
    steps: int  # denoising steps actually run
    working_size: tuple[int, int]
    oom_retry: bool = False  # CUDA ran out of memory once; this ran at a smaller size
    timings: dict[str, float] = field(default_factory=dict)  # seconds: load, denoise, decode


class Pix2PixEditor(ResidentModel):
    """``edit()`` many photos of one size with one instruction in a single pipeline call."""

    name = "pix2pix"
    _held = ("_pipe",)

    def __init__(
        self, model_dir: Path, device: str = "cpu", *, progress_interval_s: float = 0.25
    ) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.progress_interval_s = progress_interval_s
        super().__init__()
        self._pipe: Any = None

    def _load_locked(self) -> None:
        import torch
        from diffusers import StableDiffusionInstructPix2PixPipeline
        from diffusers.utils import is_accelerate_available
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as hf_logging

        diffusers_logging.disable_progress_bar()  # a tqdm bar per load is noise in a log
        hf_logging.disable_progress_bar()
        folder = self.model_dir
        if not folder.is_dir():
            raise ModelUnavailable(self.name, folder, "missing")
        if not (folder / "model_index.json").is_file():
            raise ModelUnavailable(self.name, folder, "no model_index.json")
        device = torch.device(self.device)
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        # The GPU download holds the fp16 files (`*.fp16.safetensors`), the CPU one the full.
        fp16 = (folder / "unet" / "diffusion_pytorch_model.fp16.safetensors").is_file()
        try:
            pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(
                folder,
                dtype=dtype,
                variant="fp16" if fp16 else None,
                safety_checker=None,
                feature_extractor=None,
                requires_safety_checker=False,
                local_files_only=True,
                low_cpu_mem_usage=is_accelerate_available(),
            )
        except Exception as exc:  # corrupt/foreign files: report, don't crash the worker
            reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
            raise ModelUnavailable(self.name, folder, reason) from exc
        self._pipe = prepare_pipeline(pipe, device)

    @property
    @in_use
    def pipeline(self) -> Any:
        self.load()
        return self._pipe

    @in_use
    def edit(
        self,
        images: Sequence[Image.Image],
        prompt: str,
        seeds: Sequence[int],
        *,
        steps: int = 20,
        guidance: float = 7.5,
        image_guidance: float = 1.5,
        max_side: int = 512,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[EditOutput]:
        """Edit every image (all of one working size) with ``prompt``; one output each.

        Raises JobCancelled when ``cancelled()`` turns true (checked after every step).
        CUDA out-of-memory is retried once at a smaller working size.
        """
        if not images:
            return []
        if len(images) != len(seeds):
            raise ValueError("one seed per image")
        if len(images) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} images per call")
        sizes = {working_size(image.size, max_side) for image in images}
        if len(sizes) != 1:
            raise ValueError(f"a batch needs one working size, got {sorted(sizes)}")
        self.load()
        import torch

        try:
            return self._edit(
                images,
                prompt,
                seeds,
                steps,
                guidance,
                image_guidance,
                max_side,
                progress,
                cancelled,
                oom_retry=False,
            )
        except torch.OutOfMemoryError:
            retry_side = smaller(max_side)
            if retry_side >= max_side:
                raise
            log.warning("pix2pix: out of memory at %d px, retrying at %d px", max_side, retry_side)
            _free_memory()
            return self._edit(
                images,
                prompt,
                seeds,
                steps,
                guidance,
                image_guidance,
                retry_side,
                progress,
                cancelled,
                oom_retry=True,
            )

    def _edit(
        self,
        images: Sequence[Image.Image],
        prompt: str,
        seeds: Sequence[int],
        steps: int,
        guidance: float,
        image_guidance: float,
        max_side: int,
        progress: Progress | None,
        cancelled: Callable[[], bool] | None,
        *,
        oom_retry: bool,
    ) -> list[EditOutput]:
        import torch

        pipe = self._pipe
        inputs = [to_working(image.convert("RGB"), max_side) for image in images]
        size = inputs[0].size
        if max(size) > TILING_ABOVE:
            pipe.vae.enable_tiling()
        else:
            pipe.vae.disable_tiling()
        device = torch.device(self.device)
        generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
        done = {"steps": 0, "reported": 0.0, "denoised": 0.0}
        started = time.perf_counter()

        def on_step_end(pipeline: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict:
            done["steps"] = step + 1
            now = time.perf_counter()
            last = step + 1 >= steps
            if last:
                done["denoised"] = now
            due = last or now - done["reported"] >= self.progress_interval_s
            if progress is not None and due:
                done["reported"] = now
                progress(0.95 * (step + 1) / steps, step + 1, steps)
            if cancelled is not None and cancelled() and not last:
                raise _Interrupted
            return {}

        try:
            with torch.inference_mode():
                result = pipe(
                    prompt=[prompt] * len(inputs),
                    image=inputs,
                    num_inference_steps=steps,
                    guidance_scale=guidance,
                    image_guidance_scale=image_guidance,
                    generator=generators,
                    callback_on_step_end=on_step_end,
                    output_type="pil",
                )
        except _Interrupted:
            raise JobCancelled(f"cancelled after step {done['steps']}/{steps}") from None
        finished = time.perf_counter()
        denoised = done["denoised"] or finished
        timings = {
            "load_s": round(self.load_s, 3),
            "denoise_s": round(denoised - started, 3),
            "decode_s": round(finished - denoised, 3),
        }
        return [
            EditOutput(
                image=edited.convert("RGB"),
                working_input=source,
                seed=int(seed),
                steps=done["steps"],
                working_size=size,
                oom_retry=oom_retry,
                timings=timings,
            )
            for edited, source, seed in zip(result.images, inputs, seeds, strict=True)
        ]


def prepare_pipeline(pipe: Any, device: Any) -> Any:
    """What every pix2pix pipeline gets before its first use (the benchmark builds its own
    pipelines from configs and prepares them here too)."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    pipe.set_progress_bar_config(disable=True)
    # SDPA (flash / memory-efficient kernels on CUDA): diffusers' default on torch 2, set
    # explicitly so that a config or an older default never leaves the slow path on.
    pipe.unet.set_attn_processor(AttnProcessor2_0())
    pipe.vae.set_attn_processor(AttnProcessor2_0())
    pipe.vae.enable_slicing()  # a batch of four decodes one image at a time
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):
        part.requires_grad_(False).eval()
    return pipe.to(device)


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
