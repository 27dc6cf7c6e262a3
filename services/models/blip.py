"""Image captions with BLIP (or BLIP-2): the English seed of the local description path.

The folder decides the class: a BLIP config (Salesforce/blip-image-captioning-large, the
default) loads ``BlipForConditionalGeneration``; a BLIP-2 config (``BLIP_MODEL`` naming e.g.
Salesforce/blip2-opt-2.7b, for GPUs) loads ``Blip2ForConditionalGeneration``. Both get the same
short prompt ("a photography of", the conditional captioning the BLIP authors show), beam
search and a bounded length. Every image of a batch gets the same prompt, so the prompt
needs no padding and a batch decodes exactly as its images would one by one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from services.errors import ModelUnavailable
from services.models.clip import to_rgb
from services.models.resident import ResidentModel, in_use

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
DEFAULT_PROMPT = "a photography of"


@dataclass(frozen=True)
class Caption:
    text: str  # the caption without the prompt, e.g. "a white mug on a wooden table"
    prompt: str


class Captioner(ResidentModel):
    """BLIP/BLIP-2 loaded lazily from one folder of WEIGHTS_DIR; ``caption`` is batched."""

    name = "blip"
    _held = ("_model", "_processor")

    def __init__(
        self,
        model_dir: Path,
        device: str = "cpu",
        *,
        prompt: str = DEFAULT_PROMPT,
        num_beams: int = 3,
        max_new_tokens: int = 30,
        dtype: str | None = None,  # None: float16 on CUDA, float32 elsewhere
    ) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.dtype = dtype
        self.prompt = prompt
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        super().__init__()
        self._model: Any = None
        self._processor: Any = None

    def _load_locked(self) -> None:
        import torch
        from transformers import (
            AutoProcessor,
            Blip2ForConditionalGeneration,
            BlipForConditionalGeneration,
        )
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder = self.model_dir
        if not folder.is_dir():
            raise ModelUnavailable(self.name, folder, "missing")
        if not (folder / "config.json").is_file():
            raise ModelUnavailable(self.name, folder, "no config.json")
        if not any((folder / f).is_file() for f in _WEIGHT_FILES) and not any(
            folder.glob("*.safetensors")
        ):
            raise ModelUnavailable(self.name, folder, "no weights file")
        device = torch.device(self.device)
        dtype = (
            getattr(torch, self.dtype)
            if self.dtype
            else (torch.float16 if device.type == "cuda" else torch.float32)
        )
        try:
            model_type = json.loads((folder / "config.json").read_text("utf-8")).get("model_type")
            cls = (
                Blip2ForConditionalGeneration
                if model_type == "blip-2"
                else (BlipForConditionalGeneration)
            )
            model = cls.from_pretrained(folder, dtype=dtype, local_files_only=True)
            processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
        except Exception as exc:  # corrupt/foreign files: report, don't crash the worker
            reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
            raise ModelUnavailable(self.name, folder, reason) from exc
        model.requires_grad_(False)
        self._processor = processor
        self._model = model.to(device).eval()

    @in_use
    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        """One caption per image, in order; all images in one generate call."""
        if not images:
            return []
        rgb = [to_rgb(image) for image in images]
        self.load()
        import torch

        model, processor = self._model, self._processor
        inputs = processor(images=rgb, text=[self.prompt] * len(rgb), return_tensors="pt")
        inputs = inputs.to(model.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                num_beams=self.num_beams,
                max_new_tokens=self.max_new_tokens,
                repetition_penalty=1.3,
                do_sample=False,
            )
        texts = processor.batch_decode(output, skip_special_tokens=True)
        return [Caption(_strip_prompt(text, self.prompt), self.prompt) for text in texts]


def _strip_prompt(text: str, prompt: str) -> str:
    """BLIP echoes the prompt (BLIP-2 may not): keep what follows it."""
    text = " ".join(text.split())
    if text.lower().startswith(prompt.lower()):
        text = text[len(prompt) :]
    return text.strip(" ,.") or text.strip()
