"""The async face of the model worker: `Engine` (shared bookkeeping) and `ThreadEngine`.

An engine turns orders into awaitables: `run_batch` resolves with one outcome per request,
`call` with a method's return value. Events from the worker (progress, results) are routed
on the event loop. If the worker dies, everything in flight fails with `WorkerDied`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.errors import ServiceError
from services.jobs import JobRequest
from services.operations import OperationSet
from services.worker.messages import (
    BatchDone,
    Call,
    CallDone,
    Cancel,
    Event,
    Order,
    Progress,
    RunBatch,
    WarmedUp,
    WarmUp,
)
from services.worker.runner import BatchRunner

log = logging.getLogger("vitrina.worker")
#: (fraction, step, total): a batch's progress, as the operation reported it
OnProgress = Callable[[float, int | None, int | None], None]


class WorkerDied(ServiceError):
    """The worker process ended while running this job (a crash, the OOM killer)."""


@dataclass
class _Pending:
    future: asyncio.Future[Any]
    on_progress: OnProgress | None = None
    size: int = 1  # requests in a batch: each gets its own outcome when the worker dies


class Engine:
    """Bookkeeping shared by the thread and the process engine; subclasses deliver orders."""

    kind = "abstract"

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.warmed: dict[str, str | None] = {}  # op -> None (ready) or why it failed
        #: Called when `capacity()` or `admits()` may say yes to more (a worker joined, or
        #: one serving other operations): the scheduler pumps.
        self.on_capacity: Callable[[], None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self, wait_s: float) -> None:
        raise NotImplementedError

    def _send(self, order: Order) -> None:
        raise NotImplementedError

    # ---- what the scheduler uses (on the event loop)

    def capacity(self, lane: str) -> int:
        """How many batches of this lane the scheduler may hand over at once (one worker
        here; the Redis engine: one per live worker)."""
        return 1

    def admits(self, lane: str, out: Sequence[str], op: str) -> bool:
        """Whether a batch of `op` may go out in `lane` beside the batches already out there
        (their operations, `out`). Here: while the lane has room."""
        return len(out) < self.capacity(lane)

    # ---- worker machines elsewhere (SERVICE_BACKEND=redis://; here: the worker runs here)

    #: the worker machines' heartbeats; None: the worker runs on this machine
    live_workers: list[dict[str, Any]] | None = None

    def missing_weights(self, op: str) -> list[str] | None:
        """What the workers lack to run `op`; None: judge by this machine's weights."""
        return None

    def result_identity(self, op: str) -> dict[str, Any] | None:
        """What the worker machines compute `op` with (`cache_keys.result_identity`); None: not
        one identity now (results not cacheable). Asked only when `live_workers` is set."""
        return None

    def new_batch_id(self) -> int:
        return next(self._ids)

    async def run_batch(
        self,
        batch_id: int,
        op: str,
        requests: Sequence[JobRequest],
        job_ids: Sequence[int],
        lane: str,
        on_progress: OnProgress | None = None,
    ) -> list[Any]:
        """One outcome per request (a result or the exception that request failed with)."""
        future = self._track(("batch", batch_id), on_progress, len(requests))
        self._send(RunBatch(batch_id, op, tuple(requests), tuple(job_ids), lane))
        return await future

    def cancel(self, batch_id: int, job_id: int) -> None:
        self._send(Cancel(batch_id, job_id))

    async def call(self, op: str, method: str, *args: Any) -> Any:
        call_id = next(self._ids)
        future = self._track(("call", call_id))
        self._send(Call(call_id, op, method, tuple(args)))
        return await future

    def warm_up(self, ops: Sequence[str]) -> None:
        """Load these operations' models in the worker, before any job (fire and forget)."""
        if ops:
            self._send(WarmUp(tuple(ops)))

    # ---- events, on the event loop

    def _track(
        self, key: tuple[str, int], on_progress: OnProgress | None = None, size: int = 1
    ) -> asyncio.Future[Any]:
        assert self._loop is not None, "start() the engine first"
        future = self._loop.create_future()
        self._pending[key] = _Pending(future, on_progress, size)
        future.add_done_callback(lambda _: self._pending.pop(key, None))
        return future

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Progress):
            pending = self._pending.get(("batch", event.batch_id))
            if pending is not None and pending.on_progress is not None:
                pending.on_progress(event.fraction, event.step, event.total)
        elif isinstance(event, BatchDone):
            self._resolve(("batch", event.batch_id), event.outcomes)
        elif isinstance(event, CallDone):
            pending = self._pending.get(("call", event.call_id))
            if pending is not None and not pending.future.done():
                if event.error is not None:
                    pending.future.set_exception(event.error)
                else:
                    pending.future.set_result(event.value)
        elif isinstance(event, WarmedUp):
            self.warmed[event.op] = event.error
            if event.error is None:
                log.info("%s ready in %.1fs (%s worker)", event.op, event.seconds, self.kind)
            elif event.error != "missing weights":
                log.warning("could not preload %s: %s", event.op, event.error)

    def _resolve(self, key: tuple[str, int], value: Any) -> None:
        pending = self._pending.get(key)
        if pending is not None and not pending.future.done():
            pending.future.set_result(value)

    def _fail_all(self, error: BaseException) -> None:
        for key, pending in list(self._pending.items()):
            if pending.future.done():
                continue
            if key[0] == "batch":  # a batch resolves with outcomes: each job fails alone
                pending.future.set_result([error] * pending.size)
            else:
                pending.future.set_exception(error)

    def _emit_threadsafe(self, event: Event) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed under a late event
                loop.call_soon_threadsafe(self._dispatch, event)


class ThreadEngine(Engine):
    """The runner in a daemon thread of this process (tests, the CLI, small deployments)."""

    kind = "thread"

    def __init__(self, operations: OperationSet) -> None:
        super().__init__()
        self.runner = BatchRunner(operations, self._emit_threadsafe)
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        await super().start()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.runner.serve, name="model-worker", daemon=True
            )
            self._thread.start()

    def _send(self, order: Order) -> None:
        self.runner.submit(order)

    async def stop(self, wait_s: float) -> None:
        """Let the model thread finish its order (a load cannot be interrupted; a diffusion
        stops at its next step once cancelled): a model still loading in a stray thread
        could race another load in this process."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self.runner.stop()
        await asyncio.to_thread(thread.join, wait_s)
        if thread.is_alive():
            log.warning("the model thread did not stop within %.0fs", wait_s)
