"""What every local model class shares: load once, lazily, under a lock; unload on demand.

A model class subclasses ``ResidentModel``, calls ``super().__init__()``, names the
attributes that hold what it loaded in ``_held`` (the first one decides ``loaded``; a dict
there is a cache of loaded tensors and is cleared on unload) and implements
``_load_locked()``, which sets them. Public methods that use the loaded objects are
decorated with ``@in_use``: while one runs, the model counts as busy and is never unloaded,
whoever asks. An unloaded model loads again on its next use, from the same files, so it
gives the same results.

A model registered with a ``ModelResidency`` (services/models/residency.py) asks it before
each load, so that least-recently-used idle models are unloaded when a memory budget would
be exceeded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, ParamSpec, TypeVar

from services.models.loading import LOADING, LoadGate

log = logging.getLogger("vitrina.models")
P = ParamSpec("P")
R = TypeVar("R")

#: weight files, by suffix; what a loader reads of a folder (a safety checker is never loaded)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".onnx")
SKIPPED_FOLDERS = ("safety_checker",)
_DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


class ResidentModel:
    """Load once under a lock; ``unload()`` when idle; memory by device; last use."""

    name: str = "model"
    device: str = "cpu"
    model_dir: Path
    #: attributes holding what ``_load_locked`` loaded; the first one is None when unloaded
    _held: ClassVar[tuple[str, ...]] = ("_model",)

    def __init__(self) -> None:
        self._lock = threading.Lock()  # loads, and the subclass's own caches
        self._uses_lock = threading.Lock()
        self._uses = 0
        self.last_used = 0.0  # time.monotonic() of the last use; 0 = never used
        self.load_s = 0.0  # seconds the last load took
        self.loads = 0
        self.unloads = 0
        self.measured: dict[str, int] = {}  # memory_bytes() right after the last load
        self.residency: LoadGate | None = None  # a ModelResidency, once registered

    # ---- state

    @property
    def loaded(self) -> bool:
        return getattr(self, self._held[0], None) is not None

    @property
    def busy(self) -> bool:
        """A call on this model is running: it must not be unloaded now."""
        return self._uses > 0

    @property
    def memory_device(self) -> str:
        """The device type whose memory the weights use: ``cuda`` or ``cpu``."""
        return "cuda" if self.device.startswith("cuda") else "cpu"

    def touch(self) -> None:
        self.last_used = time.monotonic()

    @contextlib.contextmanager
    def using(self) -> Any:
        """Marks a call as running (the model cannot be unloaded meanwhile)."""
        with self._uses_lock:
            self._uses += 1
        self.touch()
        try:
            yield
        finally:
            with self._uses_lock:
                self._uses -= 1
            self.touch()

    # ---- load / unload

    def load(self) -> None:
        """Load once; idempotent and thread-safe. ModelUnavailable when files are missing."""
        self.touch()
        if self.loaded:
            return
        residency = self.residency
        with residency.loading(self) if residency is not None else contextlib.nullcontext():
            with self._lock:
                if self.loaded:
                    return
                started = time.perf_counter()
                with LOADING:
                    self._load_locked()
                self.load_s = time.perf_counter() - started
                self.loads += 1
            self.measured = self.memory_bytes()

    def _load_locked(self) -> None:
        raise NotImplementedError

    def unload(self) -> bool:
        """Drop what was loaded and free its memory; False when busy or not loaded."""
        with self._lock, self._uses_lock:
            if self._uses or not self.loaded:
                return False
            for attribute in self._held:
                value = getattr(self, attribute, None)
                if isinstance(value, dict):
                    value.clear()
                else:
                    setattr(self, attribute, None)
            self.unloads += 1
        free_memory(self.device)
        return True

    # ---- memory

    def memory_bytes(self) -> dict[str, int]:
        """Bytes of the parameters, buffers and cached tensors held now, by device type."""
        seen: set[int] = set()
        sizes: dict[str, int] = {}
        for attribute in self._held:
            _tensor_bytes(getattr(self, attribute, None), seen, sizes, depth=0)
        return sizes

    def weight_bytes_per_element(self) -> int:
        """Bytes per floating-point weight once loaded: fp16 on CUDA, fp32 elsewhere; a
        ``dtype`` setting (BLIP, Marian) wins."""
        dtype = getattr(self, "dtype", None)
        if isinstance(dtype, str) and dtype in _DTYPE_BYTES:
            return _DTYPE_BYTES[dtype]
        return 2 if self.memory_device == "cuda" else 4

    def estimate_bytes(self) -> int:
        """Memory this model will need on ``memory_device``: what its last load measured, or
        its weight files on disk at the dtype it loads in."""
        if self.measured:
            return self.measured.get(self.memory_device, 0)
        return estimate_folder_bytes(self.model_dir, self.weight_bytes_per_element())


def in_use(method: Callable[P, R]) -> Callable[P, R]:
    """Decorates a ResidentModel method that uses the loaded model (see ``using``)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0].using():  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return wrapper


def process_rss_bytes() -> int:
    """This process's resident memory (Linux /proc; 0 where it cannot be read)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def free_memory(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


# ---- sizes


def _tensor_bytes(value: Any, seen: set[int], sizes: dict[str, int], depth: int) -> None:
    """Adds the bytes of every tensor reachable from ``value`` (modules, diffusers pipelines,
    dicts, sequences, dataclasses), each storage counted once."""
    if value is None or depth > 4 or isinstance(value, str | bytes | int | float):
        return
    import torch

    if isinstance(value, torch.Tensor):
        storage = value.untyped_storage()
        key = storage.data_ptr()
        if key in seen or value.device.type == "meta":
            return
        seen.add(key)
        device = value.device.type
        sizes[device] = sizes.get(device, 0) + storage.nbytes()
        return
    if isinstance(value, torch.nn.Module):
        for tensor in (*value.parameters(), *value.buffers()):
            _tensor_bytes(tensor, seen, sizes, depth)
        return
    components = getattr(value, "components", None)  # a diffusers pipeline
    if isinstance(components, Mapping):
        for part in components.values():
            _tensor_bytes(part, seen, sizes, depth + 1)
        return
    if isinstance(value, Mapping):
        for part in value.values():
            _tensor_bytes(part, seen, sizes, depth + 1)
    elif isinstance(value, list | tuple):
        for part in value:
            _tensor_bytes(part, seen, sizes, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _tensor_bytes(getattr(value, item.name), seen, sizes, depth + 1)


def weight_files(folder: Path) -> list[Path]:
    """The weight files a loader reads from ``folder``: safetensors win over .bin in one
    folder, and an ``x.fp16.safetensors`` next to ``x.safetensors`` is the same weights."""
    if not folder.is_dir():
        return []
    by_dir: dict[Path, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        skipped = any(part in SKIPPED_FOLDERS for part in path.relative_to(folder).parts)
        if path.suffix in WEIGHT_SUFFIXES and path.is_file() and not skipped:
            by_dir.setdefault(path.parent, []).append(path)
    chosen: list[Path] = []
    for files in by_dir.values():
        if any(f.suffix == ".safetensors" for f in files):
            files = [f for f in files if f.suffix != ".bin"]
        names = {f.name for f in files}
        chosen += [
            f
            for f in files
            if f.name.replace(".fp16.", ".") == f.name
            or f.name.replace(".fp16.", ".") not in names
        ]
    return chosen


def estimate_folder_bytes(folder: Path, bytes_per_element: int) -> int:
    """Memory the weights in ``folder`` take once loaded with ``bytes_per_element`` per float.

    A safetensors header lists every tensor's shape and dtype (exact); other files count
    at their size on disk scaled from fp32 (SAM's .pth, pytorch_model.bin); ONNX as is.
    """
    total = 0
    for path in weight_files(folder):
        if path.suffix == ".safetensors":
            total += _safetensors_bytes(path, bytes_per_element)
        elif path.suffix == ".onnx":
            total += path.stat().st_size
        else:
            total += path.stat().st_size * bytes_per_element // 4
    return total


def _safetensors_bytes(path: Path, bytes_per_element: int) -> int:
    try:
        with path.open("rb") as file:
            length = int.from_bytes(file.read(8), "little")
            header = json.loads(file.read(length))
    except (OSError, ValueError):
        return path.stat().st_size
    total = 0
    for key, entry in header.items():
        if key == "__metadata__" or not isinstance(entry, dict):
            continue
        count = _product(entry.get("shape", []))
        dtype = str(entry.get("dtype", "F32"))
        floating = dtype.startswith(("F", "BF"))
        total += count * (bytes_per_element if floating else _SAFETENSORS_BYTES.get(dtype, 4))
    return total


_SAFETENSORS_BYTES = {
    "I64": 8,
    "U64": 8,
    "I32": 4,
    "U32": 4,
    "I16": 2,
    "U16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}


def _product(shape: Iterable[int]) -> int:
    count = 1
    for side in shape:
        count *= int(side)
    return count
