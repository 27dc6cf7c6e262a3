"""An ONNX model run by OpenVINO on the CPU, behind the part of onnxruntime's session API the
models use (`get_inputs`, `get_outputs`, `run`, `get_providers`).

Why a second runtime: on a CPU that computes bfloat16 natively (AVX512-BF16, AMX) OpenVINO
runs ISNet 1024² in bf16 at ~0.6× onnxruntime's float32 time with the same masks (IoU ≥ 0.998
on the `make quality` photos; issue 31 C1 in benchmarks/PROFILE.md). Without native bf16
OpenVINO computes in float32 and is ~10 % slower than onnxruntime here, so `auto` keeps
onnxruntime on such a CPU. OpenVINO reads the fp16 ONNX file as it is (no float32 copy)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("vitrina.openvino")

#: OpenVINO's short type names, as `get_providers` spells them
PRECISIONS = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}


@lru_cache(maxsize=1)
def openvino_installed() -> bool:
    try:
        import openvino  # noqa: F401
    except Exception:  # not installed, or a wheel this CPU/OS cannot load
        return False
    return True


@lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether OpenVINO is installed and this CPU computes bfloat16 natively."""
    if not openvino_installed():
        return False
    import openvino as ov

    try:
        capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # no CPU plugin: onnxruntime
        return False
    return "BF16" in {str(c).upper() for c in capabilities}


def wants_openvino(runtime: str, device: str) -> bool:
    """The runtime a model's setting picks on `device`: OpenVINO only on the CPU; `auto`
    only where it is faster (native bf16), `openvino` wherever it is installed."""
    if device.startswith("cuda") or runtime == "onnxruntime":
        return False
    if runtime == "openvino":
        return openvino_installed()
    return native_bf16()


@dataclass(frozen=True)
class Port:
    """What onnxruntime's NodeArg gives the models: a name and a shape (str: dynamic)."""

    name: str
    shape: list[int | str]


def _port(node: Any) -> Port:
    shape = [int(d.get_length()) if d.is_static else "?" for d in node.get_partial_shape()]
    return Port(node.get_any_name(), shape)


class OpenVinoSession:
    """A compiled OpenVINO model with onnxruntime's `run(names, feeds)`. One infer request
    under a lock: the worker runs one batch at a time, and a request is not thread-safe."""

    def __init__(self, path: Path, threads: int = 0, precision: str | None = None) -> None:
        import openvino as ov

        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads > 0:
            config["INFERENCE_NUM_THREADS"] = threads
        if precision:  # "f32" or "bf16"; None: the CPU's best (bf16 where native)
            config["INFERENCE_PRECISION_HINT"] = precision
        core = ov.Core()
        self._compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        precision = self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.precision = PRECISIONS.get(precision, precision)
        self._inputs = [_port(node) for node in self._compiled.inputs]
        self._outputs = [_port(node) for node in self._compiled.outputs]
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()

    def get_inputs(self) -> list[Port]:
        return list(self._inputs)

    def get_outputs(self) -> list[Port]:
        return list(self._outputs)

    def get_providers(self) -> list[str]:
        return [f"OpenVINO CPU {self.precision}"]

    def run(self, names: list[str] | None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        wanted = names or [port.name for port in self._outputs]
        index = {port.name: i for i, port in enumerate(self._outputs)}
        inputs = {name: np.ascontiguousarray(array) for name, array in feeds.items()}
        with self._lock:
            results = self._request.infer(inputs)
            # copies: the request's tensors are overwritten by the next run
            return [
                np.array(results[self._compiled.outputs[index[name]]], copy=True)
                for name in wanted
            ]
