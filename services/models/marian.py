"""opus-mt translation (transformers ``MarianMTModel`` + ``MarianTokenizer``), one direction.

This class is the raw model: a list of sentences in, a list of translations out, in one
padded batch (chunks of ``max_batch``). Sentence splitting and keeping numbers, brands and
emoji intact is the job of services/translation.py, around it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.errors import ModelUnavailable
from services.models.resident import ResidentModel, in_use

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json")


class MarianTranslator(ResidentModel):
    """Loads lazily from ``WEIGHTS_DIR/opus-mt-<src>-<tgt>``; safe to call from any thread."""

    _held = ("_model", "_tokenizer")

    def __init__(
        self,
        model_dir: Path,
        device: str = "cpu",
        *,
        num_beams: int = 4,
        max_input_tokens: int = 256,
        max_new_tokens: int = 128,
        max_batch: int = 32,
        dtype: str | None = None,  # None: float16 on CUDA, float32 elsewhere
    ) -> None:
        self.model_dir = Path(model_dir)
        self.name = self.model_dir.name
        self.device = device
        self.dtype = dtype
        self.num_beams = num_beams
        self.max_input_tokens = max_input_tokens
        self.max_new_tokens = max_new_tokens
        self.max_batch = max_batch
        super().__init__()
        self._run_lock = threading.Lock()  # one generate at a time: callers share the model
        self._model: Any = None
        self._tokenizer: Any = None

    def _load_locked(self) -> None:
        import warnings

        import torch
        from transformers import MarianMTModel, MarianTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder = self.model_dir
        if not folder.is_dir():
            raise ModelUnavailable(self.name, folder, "missing")
        if not (folder / "config.json").is_file():
            raise ModelUnavailable(self.name, folder, "no config.json")
        if not any((folder / f).is_file() for f in _WEIGHT_FILES):
            raise ModelUnavailable(self.name, folder, "no weights file")
        absent = [f for f in _TOKENIZER_FILES if not (folder / f).is_file()]
        if absent:
            raise ModelUnavailable(self.name, folder, "no " + ", ".join(absent))
        device = torch.device(self.device)
        dtype = (
            getattr(torch, self.dtype)
            if self.dtype
            else (torch.float16 if device.type == "cuda" else torch.float32)
        )
        try:
            with warnings.catch_warnings():  # "Recommended: pip install sacremoses"
                warnings.simplefilter("ignore", UserWarning)
                tokenizer = MarianTokenizer.from_pretrained(folder, local_files_only=True)
            model = MarianMTModel.from_pretrained(folder, dtype=dtype, local_files_only=True)
        except Exception as exc:  # corrupt/foreign files: report, don't crash the worker
            reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
            raise ModelUnavailable(self.name, folder, reason) from exc
        model.requires_grad_(False)
        self._tokenizer = tokenizer
        self._model = model.to(device).eval()

    @in_use
    def translate(self, sentences: Sequence[str]) -> list[str]:
        """Translate each sentence; inputs past ``max_input_tokens`` are cut, not refused."""
        if not sentences:
            return []
        self.load()
        out: list[str] = []
        with self._run_lock:
            for start in range(0, len(sentences), self.max_batch):
                out += self._generate(list(sentences[start : start + self.max_batch]))
        return out

    def _generate(self, sentences: list[str]) -> list[str]:
        import torch

        inputs = self._tokenizer(
            sentences,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.max_input_tokens,
        ).to(self._model.device)
        lengths = inputs["attention_mask"].sum(dim=1).tolist()
        with torch.inference_mode():
            output = self._model.generate(
                **inputs,
                num_beams=self.num_beams,
                max_new_tokens=self.max_new_tokens,  # the same for every batch: see below
                do_sample=False,
            )
        # A translation is about as long as its source: cut each row by its own source length
        # (a noise model never stops by itself), so a batch decodes as its rows would alone.
        rows = [row[: 2 * int(n) + 9] for row, n in zip(output, lengths, strict=True)]
        return [
            " ".join(text.split())
            for text in self._tokenizer.batch_decode(rows, skip_special_tokens=True)
        ]
