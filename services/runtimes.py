"""Which runtime runs opus-mt and CLIP's image tower: TRANSLATION_RUNTIME / CLIP_RUNTIME.

- ``transformers`` / ``torch``: the models as loaded from their own folders;
- ``ctranslate2`` / ``onnx``: the converted folders ``vitrina weights convert`` writes
  (services/conversion/), whatever the device;
- ``auto``: the converted runtime on the CPU when its folder was converted and its check
  passed, else torch (on CUDA torch runs fp16, which the converted files are not).

The choice here is cheap (a JSON read); the full check (file hashes, source identity) runs
when the model loads, on the worker, and a refused folder falls back to torch with one log
line, so a stale or corrupted conversion never answers a user.
"""

from __future__ import annotations

from pathlib import Path

from services.models.clip_onnx import OnnxImageEncoder
from services.models.marian import MarianTranslator
from services.models.marian_ct2 import Ct2MarianTranslator
from services.weights.converted import converted_dir, read_record
from services.weights.manifest import model_dir


def converted_ready(weights_dir: Path, name: str) -> bool:
    """The converted folder exists and its record says its check passed (no hashing)."""
    return (read_record(converted_dir(weights_dir, name)) or {}).get("passed") is True


def wants_converted(setting: str, device: str, weights_dir: Path, name: str) -> bool:
    if setting in ("ctranslate2", "onnx"):
        return True
    if setting == "auto":
        return device == "cpu" and converted_ready(weights_dir, name)
    return False


def translator(
    weights_dir: Path, name: str, device: str = "cpu", runtime: str = "auto"
) -> MarianTranslator | Ct2MarianTranslator:
    """opus-mt ``name`` on the runtime the setting picks (transformers as the fallback)."""
    marian = MarianTranslator(model_dir(weights_dir, name), device)
    if wants_converted(runtime, device, weights_dir, name):
        return Ct2MarianTranslator(converted_dir(weights_dir, name), marian)
    return marian


def clip_image_encoder(
    weights_dir: Path, device: str = "cpu", runtime: str = "auto"
) -> OnnxImageEncoder | None:
    """The ONNX image tower when the setting picks it; None: ClipTagger stays on torch."""
    if not wants_converted(runtime, device, weights_dir, "clip"):
        return None
    return OnnxImageEncoder(
        converted_dir(weights_dir, "clip"), model_dir(weights_dir, "clip"), device
    )
