"""The service layer: one scheduler in front of one model worker that owns the device.

`submit()` puts a job in the fair queue and returns a handle at once. The scheduler takes
jobs in fair order, gathers a batch of compatible jobs where the operation allows (waiting
up to BATCH_WINDOW_MS for a burst to join), and hands it to the worker
(`services.worker`): a thread of this process or a process of its own (MODEL_WORKER).
Two lanes: a diffusion batch and a quick batch may be in the worker at once, and the
worker runs the quick one between two denoising steps of the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Hashable, Mapping
from typing import Any

from services.availability import Availability
from services.cache_keys import CacheKeys
from services.config import ServiceConfig
from services.errors import (
    JobCancelled,
    ModelUnavailable,
    QueueFull,
    ServiceError,
    UnknownOperation,
)
from services.finishing import Finishing
from services.imaging.decode import ImageInfo, inspect_image
from services.jobs import JobHandle, JobRequest
from services.metrics import ServiceMetrics
from services.models.residency import ModelResidency, ResidentInfo
from services.operations import ALL_OPS, Operation, OperationSet
from services.operations.base import check_lane, validate
from services.queue import FairQueue
from services.wiring import default_operations
from services.worker import LANE_DIFFUSION, LANE_QUICK, Engine
from services.worker.backends import engine_for
from services.worker.engine import ThreadEngine
from services.worker.process import OperationsFactory

log = logging.getLogger("vitrina.jobs")
STOP_WAIT_S = 30.0  # how long stop() waits for the model worker's current work


class ModelServices:
    def __init__(
        self,
        config: ServiceConfig,
        operations: Mapping[str, Operation] | None = None,
        *,
        operations_factory: OperationsFactory | None = None,
    ) -> None:
        """`operations` given: they run in a thread of this process. Otherwise they are
        built by `operations_factory` (default: `default_operations`), here for scheduling
        and, with ``config.worker == "process"``, again inside the worker process."""
        self.config = config
        self.residency = ModelResidency.from_gb(
            config.gpu_memory_budget_gb, config.cpu_memory_budget_gb
        )  # the worker's when it is a thread; a worker process builds its own
        factory: OperationsFactory | None = None  # None: ready-made, run in a thread here
        if operations is None:
            factory = operations_factory or default_operations
            built = factory(config, self.residency)
        else:
            built = OperationSet(dict(operations), self.residency)
        self.operations: dict[str, Operation] = dict(built)
        self.engine: Engine = engine_for(config, built, factory)
        self._availability = Availability(self.operations, self.engine)
        self._cache_keys = CacheKeys(config, self.engine)
        self._queue: FairQueue[JobHandle] = FairQueue(
            config.queue_max_size, config.queue_max_per_user
        )
        # lane -> the batches out in the worker(s), each with its op: engine.admits decides
        self._lanes: dict[str, dict[asyncio.Task[None], str]] = {
            LANE_QUICK: {},
            LANE_DIFFUSION: {},
        }
        self._choosing = dict.fromkeys(self._lanes, 0)  # lane tasks still gathering a batch
        self.engine.on_capacity = self._pump
        self._running: dict[JobHandle, int] = {}  # running handle -> its batch id
        # (lane, batch key) of each queued job, computed once at submit: a batch key may
        # read the photo's header, and the scheduler compares keys for every queued job
        self._sorting: dict[JobHandle, tuple[str, Hashable]] = {}
        self._finishing = Finishing(self.engine, self._log)  # async finish steps running
        self.metrics = ServiceMetrics()  # served on METRICS_PORT by the bot when set
        self.metrics.queue_depths = self.queue_depths
        self._started = False
        self._draining = False

    # ---- lifecycle

    async def start(self) -> None:
        """Check the operations against their contract (InvalidOperation names what is
        wrong), then start the worker (never waits for models: with `preload` they load in
        the worker while the bot already answers)."""
        if self._started:
            return
        validate(self.operations)
        self._started = True
        try:
            await self.engine.start()
        except BaseException:  # e.g. Redis unreachable: nothing was started
            self._started = False
            raise
        if self.config.preload:
            ready = [name for name, op in self.operations.items() if not op.missing_weights()]
            self.engine.warm_up(ready)
        self._pump()

    async def stop(self) -> None:
        """Stop taking jobs. Queued handles stay unresolved: storage re-queues them later."""
        if not self._started:
            return
        self._started = False
        for handle, batch_id in list(self._running.items()):
            handle.cancel_requested.set()
            with contextlib.suppress(ServiceError):
                self.engine.cancel(batch_id, handle.id)
        lanes = [task for tasks in self._lanes.values() for task in tasks]
        for task in lanes:
            task.cancel()
        self._finishing.cancel_all()
        for task in lanes:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.engine.stop(STOP_WAIT_S)

    async def drain(self, timeout: float) -> bool:
        """Start no more jobs; wait up to `timeout` s for the running batches to finish.

        True when nothing is left running. Queued jobs stay queued (their rows too), and a
        batch still running after the grace period is stopped by `stop()`; storage then
        queues both again at the next start.
        """
        self._draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._running and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return not self._running

    async def __aenter__(self) -> ModelServices:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- what callers use

    def missing_weights(self, op: str) -> list[str] | None:
        """None if `op` is not built yet, [] if it can run, else its absent model folders
        (kept for a few seconds: `services.availability`)."""
        return self._availability.missing_weights(op)

    def missing_weights_for(self, op: str, params: Mapping[str, Any]) -> list[str] | None:
        """`missing_weights(op)`, plus what this job's params need beyond it (a generated
        background needs the inpainting model; a colour does not)."""
        return self._availability.missing_weights_for(op, params)

    def availability(self) -> dict[str, list[str] | None]:
        """`missing_weights` of every operation the bot offers."""
        return {op: self.missing_weights(op) for op in ALL_OPS}

    def cache_key(self, op: str, params: Mapping[str, Any], photo_sha256: str) -> str | None:
        """The result-cache key of `op` on this photo with these params (None: not cacheable,
        or the cache is off): see `services.cache_keys`."""
        operation = self.operations.get(op)
        if operation is None:
            return None
        return self._cache_keys.key(operation, params, photo_sha256)

    def workers(self) -> list[dict[str, Any]] | None:
        """Live worker machines' heartbeats (SERVICE_BACKEND=redis://); None in-process."""
        live = self.engine.live_workers
        return None if live is None else list(live)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def queue_depths(self) -> dict[str, int]:
        """Jobs waiting in the fair queue, per lane (the metrics)."""
        depths = dict.fromkeys(self._lanes, 0)
        for lane, _ in list(self._sorting.values()):
            depths[lane] = depths.get(lane, 0) + 1
        return depths

    async def resident_models(self, timeout: float = 2.0) -> list[ResidentInfo] | None:
        """Each model of the worker: loaded or not, its memory, when last used (/stats).
        Asked of the worker itself (a process has its own copies); None if it is too busy
        to answer within `timeout` (a load or a cut does not yield)."""
        if isinstance(self.engine, ThreadEngine):
            return self.residency.snapshot()
        try:
            return list(await asyncio.wait_for(self.engine.call("", "resident_models"), timeout))
        except (TimeoutError, ServiceError):
            return None

    def submit(self, request: JobRequest) -> JobHandle:
        """Queue a job; raises QueueFull or UnknownOperation at once."""
        if request.op not in self.operations:
            raise UnknownOperation(request.op)
        handle = JobHandle(request, asyncio.get_running_loop())
        self._sorting[handle] = (self.lane_of(request), self._batch_key(handle))
        try:
            self._queue.put(request.user_id, handle)
        except QueueFull:
            del self._sorting[handle]
            raise
        handle._on_cancel = self._cancel
        self._publish_positions()
        self._pump()
        return handle

    def _batch_key(self, handle: JobHandle) -> Hashable:
        request = handle.request
        try:
            return (request.op, self.operations[request.op].batch_key(request))
        except Exception:  # odd params: the job runs alone and fails there, with its reason
            log.warning("job %s: no batch key for params %r", handle.id, dict(request.params))
            return ("alone", id(handle))

    def lane_of(self, request: JobRequest) -> str:
        """ "diffusion" for jobs that run a denoising loop; "quick" for everything else
        (InvalidOperation when the operation answers a lane it does not declare)."""
        return check_lane(self.operations[request.op], request)

    async def inspect_image(self, data: bytes) -> ImageInfo:
        """Validate uploaded bytes off the loop (not on the model thread: no waiting on GPU)."""
        return await asyncio.to_thread(inspect_image, data, self.config.max_pixels)

    # ---- the scheduler: at most one batch per lane in the worker at a time

    def _cancel(self, handle: JobHandle) -> None:
        if self._queue.remove(handle):
            self._sorting.pop(handle, None)
            handle._finish(JobCancelled("cancelled while queued"))
            self._log(handle)
            self._publish_positions()
        elif handle in self._running:
            with contextlib.suppress(ServiceError):  # a stopped worker: nothing to stop
                self.engine.cancel(self._running[handle], handle.id)
        elif handle in self._finishing:
            self._finishing.cancel(handle)

    def _publish_positions(self) -> None:
        """Each queued job learns how many jobs of its own lane are ahead of it."""
        places: dict[str, int] = {}
        for handle in self._queue:
            lane = self._sorting[handle][0]
            handle._set_position(places.get(lane, 0))
            places[lane] = places.get(lane, 0) + 1

    def _pump(self) -> None:
        """Start a batch in every lane that is free and has work: the first job in fair order
        that the engine admits beside the batches out (a job no free worker serves is
        skipped for one that a free worker does)."""
        if not self._started or self._draining:
            return
        for lane in (LANE_QUICK, LANE_DIFFUSION):
            running = self._lanes[lane]
            while len(running) < self.engine.capacity(lane):
                out = list(running.values())

                def startable(h: JobHandle, lane: str = lane, out: list[str] = out) -> bool:
                    return self._sorting[h][0] == lane and self.engine.admits(
                        lane, out, h.request.op
                    )

                first = self._queue.pop_first(startable)
                if first is None:
                    break
                self._choosing[lane] += 1
                task = asyncio.create_task(self._run_lane(lane, first), name=f"vitrina-{lane}")
                running[task] = first.request.op
                task.add_done_callback(lambda done, lane=lane: self._lane_done(lane, done))

    def _lane_done(self, lane: str, task: asyncio.Task[None]) -> None:
        self._lanes[lane].pop(task, None)
        self._pump()

    async def _run_lane(self, lane: str, first: JobHandle) -> None:
        operation = self.operations[first.request.op]
        key = self._sorting.pop(first)[1]

        def same_batch(h: JobHandle) -> bool:
            return self._sorting[h][1] == key

        room = operation.max_batch - 1
        window = self.config.batch_window_ms / 1000
        try:
            # A burst under way (another compatible job queued already, room for more): let
            # it join this batch. A lone job starts at once: the window would only delay it
            # (jobs arriving while it runs gather into the next batch anyway).
            if window > 0 and 0 < sum(map(same_batch, self._queue)) < room:
                await asyncio.sleep(window)
            choosing = self._choosing[lane]
            if self.engine.capacity(lane) > 1 and choosing > 1:
                # several workers free at once: the burst is shared out between the batches
                # being gathered now, not all of it one worker's batch
                share = -(-(sum(map(same_batch, self._queue)) + choosing) // choosing)
                room = min(room, share - 1)
            batch = [first, *self._queue.pop_matching(same_batch, room)]
            for handle in batch[1:]:
                del self._sorting[handle]
        finally:
            self._choosing[lane] -= 1
        self._publish_positions()
        if first.cancel_requested.is_set():  # cancelled during the window
            batch.remove(first)
            first._finish(JobCancelled("cancelled while queued"))
            self._log(first)
            if not batch:
                return
        await self._run_batch(lane, batch)

    async def _run_batch(self, lane: str, batch: list[JobHandle]) -> None:
        operation = self.operations[batch[0].request.op]
        batch_id = self.engine.new_batch_id()
        for handle in batch:
            handle._set_running()
            self._running[handle] = batch_id

        def report(fraction: float, step: int | None, total: int | None) -> None:
            for handle in batch:
                handle._progress(fraction, step, total)

        try:
            outcomes = await self.engine.run_batch(
                batch_id,
                operation.name,
                [h.request for h in batch],
                [h.id for h in batch],
                lane,
                report,
            )
        except ServiceError as exc:  # the worker had stopped
            outcomes = [exc] * len(batch)
        finally:
            for handle in batch:
                self._running.pop(handle, None)
        for outcome in outcomes:
            if isinstance(outcome, ModelUnavailable):  # only this feature goes unavailable
                self._availability.failed_to_load(operation.name, outcome.model)
        for handle, outcome in zip(batch, outcomes, strict=True):
            if handle.cancel_requested.is_set() and not isinstance(outcome, BaseException):
                outcome = JobCancelled("cancelled while running")
            if operation.has_finish and not isinstance(outcome, BaseException):
                # its async step, off the worker: the next batch is already running
                self._finishing.start(handle, operation, outcome)
                continue
            handle._finish(outcome)
            self._log(handle)

    def _log(self, handle: JobHandle) -> None:
        request = handle.request
        self.metrics.job_finished(request.op, handle.state.value, handle.wait_s, handle.run_s)
        error = f" error={type(handle.error).__name__}" if handle.error is not None else ""
        log.info(
            "job=%s user=%s op=%s wait=%.3fs run=%.3fs status=%s%s",
            handle.job_id if handle.job_id is not None else handle.id,
            request.user_id,
            request.op,
            handle.wait_s,
            handle.run_s,
            handle.state.value,
            error,
        )
