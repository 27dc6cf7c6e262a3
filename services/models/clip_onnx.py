"""CLIP's image tower (vision model + visual projection) on ONNX Runtime.

``vitrina weights convert clip`` exports it with ``torch.onnx.export`` into
``WEIGHTS_DIR/clip-onnx/image_encoder.onnx`` and records the check against the torch model in
``converted.json``. ``ClipTagger`` takes an ``OnnxImageEncoder`` as its ``image_encoder``:
pixel values in (the CLIP processor's output), unnormalised image embeddings out, exactly
what ``CLIPModel.get_image_features`` returns. A folder that is missing, unverified or changed
since its check is refused once, with a log line, and the tagger stays on torch.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from services.models.onnx_session import open_session as open_onnx_session
from services.weights.converted import converted_problem

log = logging.getLogger("vitrina.runtimes")
ONNX_FILE = "image_encoder.onnx"
INPUT = "pixel_values"
OUTPUT = "image_embeds"


class OnnxImageEncoder:
    """``encode(pixel_values) -> embeddings`` (float32 numpy), or None when not usable."""

    runtime = "onnx"

    def __init__(
        self, folder: Path, source_dir: Path, device: str = "cpu", *, threads: int | None = None
    ) -> None:
        self.folder = Path(folder)
        self.source_dir = Path(source_dir)
        self.device = device
        self.threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._unusable: str | None = None

    @property
    def usable(self) -> bool:
        """Load once; False (with one log line) when the converted folder is refused."""
        if self._session is None and self._unusable is None:
            with self._lock:
                if self._session is None and self._unusable is None:
                    self._load_locked()
        return self._session is not None

    @property
    def active_runtime(self) -> str:
        return "torch" if self._unusable else self.runtime

    def _load_locked(self) -> None:
        problem = converted_problem(self.folder, self.source_dir)
        if problem is None:
            try:
                self._session = open_session(self.folder / ONNX_FILE, self.device, self.threads)
            except Exception as exc:  # a broken file or install: torch still works
                problem = f"unreadable: {type(exc).__name__}: {exc}"
        if problem is not None:
            self._unusable = " ".join(problem.split())[:300]
            log.warning(
                "clip: not using ONNX Runtime (%s); image embeddings on torch", self._unusable
            )

    def encode(self, pixel_values: np.ndarray) -> np.ndarray | None:
        if not self.usable:
            return None
        pixels = np.ascontiguousarray(pixel_values, dtype=np.float32)
        return self._session.run([OUTPUT], {INPUT: pixels})[0]


def open_session(path: Path, device: str = "cpu", threads: int | None = None) -> Any:
    """An ONNX Runtime session with as many intra-op threads as torch uses (unless given)."""
    import torch

    return open_onnx_session(path, device, threads or torch.get_num_threads())
