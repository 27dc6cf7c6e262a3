"""Text regions with PaddleOCR's PP-OCRv4 mobile detector (DBNet) as ONNX, on onnxruntime.

The real weights are the ``ch_PP-OCRv4_det_infer.onnx`` that the PyPI wheel
``rapidocr-onnxruntime==1.4.4`` ships, written to WEIGHTS_DIR/ocr/ by ``vitrina weights
download ocr``. It finds text lines of any script. The contract: input ``x`` [1, 3, H, W]
float32, BGR, ``(x / 255 - 0.5) / 0.5``, H and W multiples of 32; output [1, 1, H, W], the
probability that a pixel belongs to text. The boxes come from DB post-processing
(services/models/ocr_boxes.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from services.models.ocr_boxes import TextRegion, db_regions
from services.models.onnx_session import open_model_session
from services.models.resident import ResidentModel, in_use

log = logging.getLogger("vitrina.ocr")
MODEL_FILE = "ch_PP-OCRv4_det_infer.onnx"
#: PaddleOCR's default (det_limit_side_len 960, limit_type "max"): the long side is scaled
#: down to at most this; smaller images keep their size (rounded to multiples of 32)
LIMIT_SIDE = 960
MULTIPLE = 32
#: what an onnxruntime CPU session holds for this model: about 3× the fp32 file once loaded,
#: plus, after a run, its arena for the activations: about 240 bytes per pixel the network
#: sees (measured: 13 MB after loading the real 4.7 MB model, 222 MB after runs at 960×736)
SESSION_FACTOR = 3
ACTIVATION_BYTES_PER_PIXEL = 240


@dataclass(frozen=True)
class TextDetection:
    regions: list[TextRegion]  # in reading order
    probability: np.ndarray  # float32 H×W in 0..1 at the image's size (for masks)
    seconds: float


def network_size(width: int, height: int, limit: int = LIMIT_SIDE) -> tuple[int, int]:
    """(W, H) the network sees: the long side at most ``limit``, aspect kept, each side
    rounded to a multiple of 32 (at least 32)."""
    ratio = min(1.0, limit / max(width, height))
    return tuple(  # type: ignore[return-value]
        max(MULTIPLE, round(side * ratio / MULTIPLE) * MULTIPLE) for side in (width, height)
    )


def preprocess(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 H×W×3 -> the network's input [1, 3, H', W'] (BGR, normalised to -1..1)."""
    resized = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    bgr = resized[:, :, ::-1].astype(np.float32)
    x = (bgr / 255.0 - 0.5) / 0.5
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


class TextDetector(ResidentModel):
    """The detector, loaded lazily (once, under a lock) from WEIGHTS_DIR/ocr/."""

    name = "ocr"
    _held = ("_session",)

    def __init__(
        self, model_dir: Path, device: str = "cpu", *, threads: int = 0, limit: int = LIMIT_SIDE
    ) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.threads = threads  # onnxruntime's intra-op threads; 0: its default (all cores)
        self.limit = limit
        super().__init__()
        self._session: Any = None
        self._input = "x"

    @property
    def available(self) -> bool:
        path = self.model_dir / MODEL_FILE
        return path.is_file() and path.stat().st_size > 0

    def memory_bytes(self) -> dict[str, int]:
        """onnxruntime's memory is not visible from Python: the measured estimate."""
        return {self.memory_device: self.estimate_bytes()} if self.loaded else {}

    def estimate_bytes(self) -> int:
        path = self.model_dir / MODEL_FILE
        size = path.stat().st_size if path.is_file() else 0
        return size * SESSION_FACTOR + ACTIVATION_BYTES_PER_PIXEL * self.limit * self.limit

    def _load_locked(self) -> None:
        session = open_model_session(
            self.name, self.model_dir, MODEL_FILE, self.device, self.threads
        )
        self._input = session.get_inputs()[0].name
        self._session = session

    @in_use
    def detect(self, image: Image.Image) -> TextDetection:
        """Text lines of an image: boxes in its pixels, in reading order, and the map."""
        self.load()
        started = time.perf_counter()
        rgb = np.asarray(image.convert("RGB"))
        height, width = rgb.shape[:2]
        (out,) = self._session.run(
            None, {self._input: preprocess(rgb, network_size(width, height, self.limit))}
        )
        prob = np.clip(np.asarray(out, dtype=np.float32).reshape(out.shape[-2:]), 0.0, 1.0)
        regions = db_regions(prob, (width, height))
        full = cv2.resize(prob, (width, height), interpolation=cv2.INTER_LINEAR)
        return TextDetection(regions, full, time.perf_counter() - started)
