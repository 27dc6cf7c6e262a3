"""`vitrina weights tiny`: the tiny models (services/weights/tiny.py) and their converted
runtimes (opus-mt-*-ct2, clip-onnx), so tests, CI and the bot run that path too: about a
second each, checked like the real ones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from services.conversion.convert import ConversionError, convert
from services.weights.converted import CONVERTIBLE
from services.weights.tiny import write_tiny_models


def write_tiny(dest: Path, names: Iterable[str] | None = None, seed: int = 0) -> list[Path]:
    """``write_tiny_models``, then convert the convertible ones; returns the model folders.

    Raises ConversionError when a tiny conversion fails its check: the tiny models are built
    to convert exactly, so that is a bug to see, not a runtime to fall back from.
    """
    written = write_tiny_models(dest, names, seed)
    wanted = [folder.name for folder in written if folder.name in CONVERTIBLE]
    if wanted:
        done = convert(dest, wanted)
        failed = [c.name for c in done if not c.passed]
        if failed:
            raise ConversionError(f"tiny conversions failed their check: {', '.join(failed)}")
    return written
