"""Which models stay in memory: one ``ModelResidency`` per model worker.

Every local model registers once (a model shared by two operations, such as the CLIP tagger
of /tag and /describe, is one entry). Before a model loads, the residency estimates what it
needs (the size its last load measured, or its weight files at the dtype it loads in) and,
while the budget of its device would be exceeded, unloads the least recently used model that
no call is using. A budget of 0 (or None) means no limit: nothing is ever unloaded. A model
bigger than the whole budget still loads, with a warning.

Budgets are per device type: ``cuda`` (GPU_MEMORY_BUDGET_GB) and ``cpu``
(CPU_MEMORY_BUDGET_GB, models held in RAM when they run on the CPU).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from services.models.resident import ResidentModel

log = logging.getLogger("vitrina.residency")
GB = 1024**3
M = TypeVar("M", bound=ResidentModel)
T = TypeVar("T")
_local = threading.local()  # .preloading: this thread is preloading (see `preloading`)


class BudgetFull(Exception):  # noqa: N818 - a state, not a failure of a job
    """While preloading, a model that would need others unloaded is not loaded."""


@contextlib.contextmanager
def preloading() -> Iterator[None]:
    """Around a warm-up on the worker: loads fill the memory budget but never unload a
    model for it; one that does not fit raises BudgetFull (it loads at its first job)."""
    before = getattr(_local, "preloading", False)
    _local.preloading = True
    try:
        yield
    finally:
        _local.preloading = before


def _preloading() -> bool:
    return getattr(_local, "preloading", False)


@dataclass(frozen=True)
class ResidentInfo:
    """One registered model as /stats and the benchmark show it."""

    name: str
    device: str  # "cuda" | "cpu"
    loaded: bool
    bytes: int  # measured now when loaded, else the estimate of its next load
    busy: bool
    idle_s: float | None  # seconds since its last use; None = never used
    loads: int
    unloads: int


class ModelResidency:
    def __init__(self, budgets: Mapping[str, float | None] | None = None) -> None:
        """``budgets``: bytes per device type (``{"cuda": 8 * GB}``); 0/None = no limit."""
        self.budgets = {device: int(b) for device, b in (budgets or {}).items() if b}
        self.models: list[ResidentModel] = []
        self.unloads = 0
        self.peak: dict[str, int] = {}  # most bytes in use right after a load, per device
        self.events: deque[tuple[str, str, str]] = deque(maxlen=200)  # (event, model, why)
        self._lock = threading.RLock()  # one load (and its evictions) at a time

    @classmethod
    def from_gb(cls, gpu_gb: float = 0.0, cpu_gb: float = 0.0) -> ModelResidency:
        return cls({"cuda": gpu_gb * GB, "cpu": cpu_gb * GB})

    def register(self, model: M) -> M:
        """Track ``model`` (once, however often it is registered); returns it."""
        with self._lock:
            if not any(m is model for m in self.models):
                self.models.append(model)
            model.residency = self
        return model

    # ---- what is resident

    def used_bytes(self, device: str) -> int:
        return sum(
            m.memory_bytes().get(device, 0)
            for m in self.models
            if m.loaded and m.memory_device == device
        )

    def snapshot(self) -> list[ResidentInfo]:
        now = time.monotonic()
        rows = []
        for m in self.models:
            loaded = m.loaded
            size = m.memory_bytes().get(m.memory_device, 0) if loaded else m.estimate_bytes()
            rows.append(
                ResidentInfo(
                    name=m.name,
                    device=m.memory_device,
                    loaded=loaded,
                    bytes=size,
                    busy=m.busy,
                    idle_s=now - m.last_used if m.last_used else None,
                    loads=m.loads,
                    unloads=m.unloads,
                )
            )
        return rows

    # ---- preloading: fill the budget, never unload for it

    def preload(self, function: Callable[[], T]) -> T:
        """``function()`` (an operation's warm_up) under ``preloading()``."""
        with preloading():
            return function()

    # ---- the budget

    @contextlib.contextmanager
    def loading(self, model: ResidentModel) -> Iterator[None]:
        """Held around one model's load: makes room before it, checks the budget after."""
        with self._lock:
            device = model.memory_device
            budget = self.budgets.get(device)
            if budget and not model.loaded:  # (another thread may have loaded it meanwhile)
                self._make_room(model, device, budget)
            yield
            if budget and model.loaded:
                used = self.used_bytes(device)
                self.peak[device] = max(self.peak.get(device, 0), used)
                if used > budget and not _preloading():  # the estimate was short: measured now
                    why = f"{model.name} measured {_gb(model.measured.get(device, 0))} loaded"
                    self._evict(device, budget, exclude=model, why=why)

    def _make_room(self, model: ResidentModel, device: str, budget: int) -> None:
        need = model.estimate_bytes()
        used = self.used_bytes(device)
        if used + need <= budget:
            return
        if _preloading():
            raise BudgetFull(
                f"{model.name} ({_gb(need)}) does not fit beside {_gb(used)} already loaded "
                f"on {device} (budget {_gb(budget)}): left to load on first use"
            )
        why = f"loading {model.name} needs {_gb(need)}"
        used = self._evict(device, budget - need, exclude=model, why=why)
        if need > budget:
            log.warning(
                "%s needs %s on %s, more than the whole budget of %s: loading it anyway",
                model.name,
                _gb(need),
                device,
                _gb(budget),
            )
        elif used + need > budget:
            busy = [m.name for m in self.models if m.loaded and m.busy and m is not model]
            log.warning(
                "loading %s goes over the %s budget on %s (%s in use, busy: %s)",
                model.name,
                _gb(budget),
                device,
                _gb(used),
                ", ".join(busy) or "none",
            )

    def _evict(self, device: str, limit: int, *, exclude: ResidentModel, why: str) -> int:
        """Unload idle models on ``device``, least recently used first, until at most
        ``limit`` bytes are used there; returns the bytes used then."""
        candidates = sorted(
            (
                m
                for m in self.models
                if m is not exclude and m.loaded and m.memory_device == device and not m.busy
            ),
            key=lambda m: m.last_used,
        )
        used = self.used_bytes(device)
        for victim in candidates:
            if used <= limit:
                break
            size = victim.memory_bytes().get(device, 0)
            idle = time.monotonic() - victim.last_used if victim.last_used else 0.0
            if not victim.unload():  # became busy meanwhile
                continue
            self.unloads += 1
            reason = f"{why}; budget {_gb(self.budgets[device])} on {device}"
            self.events.append(("unload", victim.name, reason))
            log.info(
                "unloaded %s (%s on %s, idle %.0fs, least recently used): %s",
                victim.name,
                _gb(size),
                device,
                idle,
                reason,
            )
            used = self.used_bytes(device)
        return used


def _gb(size: float) -> str:
    return f"{size / GB:.2f} GB"
