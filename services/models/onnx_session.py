"""Opening an ONNX Runtime session the same way for every ONNX model (ISNet, the text
detector, the CLIP image tower): CUDA first when asked for and installed, else the CPU;
quiet logs (fp16-weight models warn about every cast); a file onnxruntime cannot read
becomes `ModelUnavailable` naming the folder, never a traceback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from services.errors import ModelUnavailable

log = logging.getLogger("vitrina.onnx")


def float32_graph(path: Path) -> bytes | None:
    """The model at `path` with its float16 weights, constants and casts made float32
    (serialised), or None when it has no float16 weights. ONNX Runtime's CPU kernels are
    float32: an fp16 graph (ISNet from @imgly) runs with casts around the convolutions;
    the float32 copy computes the same network without them (ISNet 1024²: 5-10 % faster
    on the CPU, saliency within 4e-4, issue 31 C1 in benchmarks/PROFILE.md)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    if not any(init.data_type == TensorProto.FLOAT16 for init in graph.initializer):
        return None

    def widened(tensor: Any) -> Any:
        array = numpy_helper.to_array(tensor).astype(np.float32)
        return numpy_helper.from_array(array, tensor.name)

    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT16:
            init.CopyFrom(widened(init))
    for node in graph.node:
        for attribute in node.attribute:
            if node.op_type == "Cast" and attribute.name == "to":
                if attribute.i == TensorProto.FLOAT16:
                    attribute.i = TensorProto.FLOAT
            elif (
                attribute.type == onnx.AttributeProto.TENSOR
                and attribute.t.data_type == TensorProto.FLOAT16
            ):
                attribute.t.CopyFrom(widened(attribute.t))
    for value in [*graph.value_info, *graph.input, *graph.output]:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT16:
            value.type.tensor_type.elem_type = TensorProto.FLOAT
    return model.SerializeToString()


def open_session(path: Path | bytes, device: str = "cpu", threads: int = 0) -> Any:
    """An `onnxruntime.InferenceSession` for `path` (or a serialised model); `threads`:
    intra-op threads (0: its default, all cores)."""
    import onnxruntime as ort

    wanted = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        wanted.insert(0, "CUDAExecutionProvider")
    providers = [p for p in wanted if p in ort.get_available_providers()]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = max(0, threads)
    options.inter_op_num_threads = 1
    # Without the memory pattern (a plan per input shape, allocated beside the arena) the
    # same runs hold less and take as long: ISNet 1024² 808 vs 1338 MB after 5 runs, the
    # PP-OCR detector over 8 shapes 185 vs 311 MB, CLIP's tower the same (issue 31)
    options.enable_mem_pattern = False
    model = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(model, sess_options=options, providers=providers)


def open_model_session(
    name: str,
    folder: Path,
    file: str,
    device: str = "cpu",
    threads: int = 0,
    *,
    float32_on_cpu: bool = False,
    runtime: str = "onnxruntime",
) -> Any:
    """`open_session` for WEIGHTS_DIR/<name>/<file>, with a clear `ModelUnavailable` when the
    folder or file is missing or unreadable, and one warning when CUDA was asked for but
    onnxruntime has no CUDA provider here. `float32_on_cpu`: an fp16 graph is opened as
    its float32 copy on the CPU (`float32_graph`; the file as it is when that fails).
    `runtime` (auto, onnxruntime, openvino): where `wants_openvino` says so, an
    `OpenVinoSession` with the same API instead."""
    from services.models.openvino_session import OpenVinoSession, wants_openvino

    path = folder / file
    if not folder.is_dir():
        raise ModelUnavailable(name, folder, "missing")
    if not path.is_file() or path.stat().st_size == 0:
        raise ModelUnavailable(name, folder, f"no {file}")
    openvino = wants_openvino(runtime, device)
    model: Path | bytes = path
    if float32_on_cpu and not openvino and not device.startswith("cuda"):
        try:
            model = float32_graph(path) or path
        except Exception as exc:  # the file as it is: onnxruntime says what is wrong with it
            log.info("%s: no float32 copy (%s: %s)", name, type(exc).__name__, exc)
    try:  # OpenVINO reads the file as it is (fp16 included)
        session = (
            OpenVinoSession(path, threads) if openvino else open_session(model, device, threads)
        )
    except Exception as exc:  # truncated or foreign file
        reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
        raise ModelUnavailable(name, folder, reason) from exc
    if openvino:
        log.info("%s: OpenVINO on the CPU (%s)", name, session.get_providers()[0])
    elif device.startswith("cuda") and "CUDAExecutionProvider" not in session.get_providers():
        log.warning("onnxruntime has no CUDA provider here: %s runs on the CPU", name)
    return session
