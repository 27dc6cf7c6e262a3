"""The model worker's loop: one thread that owns the models and runs orders in lane order.

Quick orders (tags, descriptions, cut-outs, calls from an async finish) go first. While a
diffusion batch runs, its step callback asks `RunContext.cancelled()` between steps; that is
where the runner also runs the quick orders that arrived meanwhile (preemption at step
granularity), so a /tag waits at most one denoising step, never a whole edit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from services.errors import ServiceError
from services.features import OWNERS
from services.jobs import JobRequest
from services.models.residency import BudgetFull, preloading
from services.operations import Op, OperationSet, RunContext
from services.worker.messages import (
    LANE_DIFFUSION,
    BatchDone,
    Call,
    CallDone,
    Cancel,
    Event,
    Order,
    Progress,
    RunBatch,
    Shutdown,
    WarmedUp,
    WarmUp,
)

log = logging.getLogger("vitrina.worker")


class BatchRunner:
    """Thread-safe inbox (`submit`) in front of one serving thread (`serve`)."""

    def __init__(self, operations: OperationSet, emit: Callable[[Event], None]) -> None:
        self.operations = operations
        self._emit = emit
        self._ready = threading.Condition()
        self._quick: deque[Order] = deque()
        self._diffusion: deque[Order] = deque()
        self._warm: deque[str] = deque()  # models to preload when nothing else waits
        self._cancelled: dict[int, set[int]] = {}  # batch id -> cancelled job ids
        self._stopping = False
        self._in_quick = False  # a quick order is running (no nested preemption)

    # ---- any thread

    def submit(self, order: Order) -> None:
        with self._ready:
            if isinstance(order, Cancel):
                self._cancelled.setdefault(order.batch_id, set()).add(order.job_id)
                return
            if isinstance(order, Shutdown):
                self._stopping = True
            elif isinstance(order, WarmUp):
                self._warm.extend(order.ops)
            elif isinstance(order, RunBatch) and order.lane == LANE_DIFFUSION:
                self._diffusion.append(order)
            else:
                self._quick.append(order)
            self._ready.notify()

    def stop(self) -> None:
        self.submit(Shutdown())

    # ---- the serving thread

    def serve(self) -> None:
        """Run orders until `stop()`; what is still queued then is dropped (not started).
        Preloading runs one model at a time and only while no job waits: a job never waits
        for a model it does not need."""
        while True:
            with self._ready:
                while not (self._quick or self._diffusion or self._warm or self._stopping):
                    self._ready.wait()
                if self._stopping:
                    return
                if self._quick or self._diffusion:
                    order = self._quick.popleft() if self._quick else self._diffusion.popleft()
                else:
                    order = WarmUp((self._warm.popleft(),))
            self._execute(order)

    def run_quick_now(self) -> None:
        """Run the quick orders waiting now; called between two diffusion steps."""
        if self._in_quick:
            return
        while True:
            with self._ready:
                if not self._quick or self._stopping:
                    return
                order = self._quick.popleft()
            self._execute(order)

    def _execute(self, order: Order) -> None:
        if isinstance(order, RunBatch):
            quick = order.lane != LANE_DIFFUSION
            self._in_quick = quick
            try:
                self._emit(self._run_batch(order))
            finally:
                self._in_quick = False
                with self._ready:
                    self._cancelled.pop(order.batch_id, None)
        elif isinstance(order, Call):
            self._in_quick = True
            try:
                self._emit(self._call(order))
            finally:
                self._in_quick = False
        elif isinstance(order, WarmUp):
            for name in order.ops:
                self._emit(self._warm_up(name))

    def _run_batch(self, order: RunBatch) -> BatchDone:
        operation = self.operations[order.op]
        wanted = set(order.job_ids)

        def is_cancelled() -> bool:
            with self._ready:
                return wanted <= self._cancelled.get(order.batch_id, set())

        context = RunContext(
            report=lambda fraction, step, total: self._emit(
                Progress(order.batch_id, fraction, step, total)
            ),
            is_cancelled=is_cancelled,
            between_steps=self.run_quick_now if order.lane == LANE_DIFFUSION else _nothing,
        )
        started = time.perf_counter()
        owners = OWNERS.set(_owners(order.requests))
        try:
            outcomes = list(operation.run(list(order.requests), context))
        except ServiceError as exc:
            outcomes = [exc] * len(order.requests)
        except Exception as exc:  # a model bug fails the batch's jobs, not the worker
            log.exception("operation %s crashed", order.op)
            outcomes = [exc] * len(order.requests)
        finally:
            OWNERS.reset(owners)
        if len(outcomes) != len(order.requests):
            error = ServiceError(f"operation {order.op} returned {len(outcomes)} outcomes")
            outcomes = [error] * len(order.requests)
        return BatchDone(order.batch_id, outcomes, time.perf_counter() - started)

    def _call(self, order: Call) -> CallDone:
        try:
            if not order.op:  # about the worker itself
                return CallDone(order.call_id, value=self._worker_call(order.method))
            value = self.operations[order.op].call_on_worker(order.method, order.args)
            return CallDone(order.call_id, value=value)
        except Exception as exc:
            return CallDone(order.call_id, error=exc)

    def _worker_call(self, method: str) -> object:
        if method == "resident_models":  # /stats: what this worker holds in memory
            residency = self.operations.residency
            return residency.snapshot() if residency is not None else []
        raise AttributeError(f"the worker has no call {method!r}")

    def _warm_up(self, name: str) -> WarmedUp:
        operation = self.operations[name]
        started = time.perf_counter()
        try:
            if operation.missing_weights():
                return WarmedUp(name, 0.0, "missing weights")
            with preloading():  # fills the memory budget, never unloads for it
                operation.warm_up()
        except BudgetFull as exc:  # loads at its first job, making room then
            return WarmedUp(name, time.perf_counter() - started, f"not preloaded: {exc}")
        except Exception as exc:  # the first job reports it to its user
            return WarmedUp(name, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return WarmedUp(name, time.perf_counter() - started)


def _nothing() -> None:
    return None


def _owners(requests: Sequence[JobRequest]) -> dict[str, set[int]]:
    """photo (sha256) -> the users a batch's requests are for: its own photo, or the photos
    a library request names (features.OWNERS: a new embedding goes to their /find file)."""
    owners: dict[str, set[int]] = {}
    for request in requests:
        photos = request.params.get("photos") if request.op == Op.GROUP else None
        keys = [request.photo_sha256, *(photos if isinstance(photos, list) else ())]
        for key in keys:
            if isinstance(key, str) and key:
                owners.setdefault(key, set()).add(request.user_id)
    return owners
