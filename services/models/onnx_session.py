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


def open_session(path: Path, device: str = "cpu", threads: int = 0) -> Any:
    """An `onnxruntime.InferenceSession` for `path`; `threads`: intra-op threads (0: its
    default, all cores)."""
    import onnxruntime as ort

    wanted = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        wanted.insert(0, "CUDAExecutionProvider")
    providers = [p for p in wanted if p in ort.get_available_providers()]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = max(0, threads)
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def open_model_session(
    name: str, folder: Path, file: str, device: str = "cpu", threads: int = 0
) -> Any:
    """`open_session` for WEIGHTS_DIR/<name>/<file>, with a clear `ModelUnavailable` when the
    folder or file is missing or unreadable, and one warning when CUDA was asked for but
    onnxruntime has no CUDA provider here."""
    path = folder / file
    if not folder.is_dir():
        raise ModelUnavailable(name, folder, "missing")
    if not path.is_file() or path.stat().st_size == 0:
        raise ModelUnavailable(name, folder, f"no {file}")
    try:
        session = open_session(path, device, threads)
    except Exception as exc:  # truncated or foreign file
        reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
        raise ModelUnavailable(name, folder, reason) from exc
    if device.startswith("cuda") and "CUDAExecutionProvider" not in session.get_providers():
        log.warning("onnxruntime has no CUDA provider here: %s runs on the CPU", name)
    return session
