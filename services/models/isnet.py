"""Salient-object maps with ISNet (DIS) as ONNX, run by onnxruntime.

The real weights are imgly's ISNet export (npm ``@imgly/background-removal-data``,
``/models/medium``, fp16 inside, float32 in and out), written as WEIGHTS_DIR/isnet/model.onnx
by ``vitrina weights download isnet``. The contract: one input [1, 3, S, S] float32, RGB
resized to S², ``(x - 128) / 256``; output ``output`` [1, 1, S, S] in 0..1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.models.onnx_session import open_model_session
from services.models.openvino_session import OpenVinoSession
from services.models.resident import ResidentModel, in_use

log = logging.getLogger("vitrina.isnet")
MODEL_FILE = "model.onnx"
DEFAULT_SIZE = 1024
#: RSS a CPU session holds per byte of this fp16 file once it has run: what an unload frees
#: after four 1200×1600 photos with the real 84 MiB ISNet, onnxruntime (a float32 copy and
#: its arena) 1.22 GB, OpenVINO bf16 0.68 GB (issue 31; the load alone is a third of it).
#: The memory budget counts it so, rounded up.
CPU_FACTOR = {"onnxruntime": 15, "openvino": 9}


@dataclass(frozen=True)
class SaliencyMap:
    probability: np.ndarray  # float32 H×W in 0..1 at the size asked for
    seconds: float


class IsnetSaliency(ResidentModel):
    """ISNet loaded lazily (once, under a lock) from WEIGHTS_DIR/isnet/model.onnx."""

    name = "isnet"
    _held = ("_session",)

    def __init__(self, model_dir: Path, device: str = "cpu", runtime: str = "auto") -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.runtime = runtime  # ISNET_RUNTIME: auto, onnxruntime or openvino (CPU only)
        super().__init__()
        self._session: Any = None
        self._input = "input"
        self._output = "output"
        self._size = (DEFAULT_SIZE, DEFAULT_SIZE)
        #: the runtime a load opened (`auto` decides only then: asking earlier would import
        #: OpenVINO, e.g. for /stats on the event loop)
        self._opened: str | None = None

    @property
    def available(self) -> bool:
        path = self.model_dir / MODEL_FILE
        return path.is_file() and path.stat().st_size > 0

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers()) if self._session is not None else []

    def memory_bytes(self) -> dict[str, int]:
        """A runtime's memory is not visible from Python: the file's size times what a
        session was measured to hold (`CPU_FACTOR`)."""
        return {self.memory_device: self.estimate_bytes()} if self.loaded else {}

    def estimate_bytes(self) -> int:
        path = self.model_dir / MODEL_FILE
        size = path.stat().st_size if path.is_file() else 0
        if self.memory_device != "cpu":
            return size
        # before the first load `auto` counts as onnxruntime, the larger: a budget errs safe
        runtime = self._opened or ("openvino" if self.runtime == "openvino" else "onnxruntime")
        return size * CPU_FACTOR[runtime]

    def _load_locked(self) -> None:
        session = open_model_session(
            self.name,
            self.model_dir,
            MODEL_FILE,
            self.device,
            float32_on_cpu=True,
            runtime=self.runtime,
        )
        inputs, outputs = session.get_inputs(), session.get_outputs()
        self._input = inputs[0].name
        names = [o.name for o in outputs]
        self._output = "output" if "output" in names else names[0]
        shape = inputs[0].shape  # [1, 3, S, S]; a dynamic axis keeps the default
        size = [s if isinstance(s, int) and s > 0 else DEFAULT_SIZE for s in shape[-2:]]
        self._size = (int(size[0]), int(size[1]))
        self._session = session
        self._opened = "openvino" if isinstance(session, OpenVinoSession) else "onnxruntime"

    @in_use
    def predict(self, image: Image.Image, size: tuple[int, int] | None = None) -> SaliencyMap:
        """Saliency of an RGB image, resized back to ``size`` (W, H; default: the image's)."""
        import time

        self.load()
        started = time.perf_counter()
        height, width = self._size
        rgb = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
        x = (np.asarray(rgb, dtype=np.float32) - 128.0) / 256.0
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        (out,) = self._session.run([self._output], {self._input: x})
        prob = np.asarray(out, dtype=np.float32).reshape(out.shape[-2:])
        prob = np.clip(prob, 0.0, 1.0)  # a sigmoid already; no min-max stretch of "nothing"
        target = size or image.size
        if (prob.shape[1], prob.shape[0]) != tuple(target):
            resized = Image.fromarray(prob).resize(target, Image.Resampling.BILINEAR)
            prob = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        return SaliencyMap(prob, time.perf_counter() - started)
