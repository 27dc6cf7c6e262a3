"""The service layer: one scheduler, one worker thread that owns the model device.

`submit()` puts a job in the fair queue and returns a handle at once. A single asyncio task
takes jobs in fair order, gathers a batch of compatible jobs where the operation allows,
and runs the batch on a one-thread executor, so torch never runs on the event loop and
only one thread ever touches the GPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from services.errors import JobCancelled, ServiceError, UnknownOperation
from services.imaging.decode import ImageInfo, inspect_image
from services.jobs import JobHandle, JobRequest
from services.models.clip import ClipTagger
from services.models.pix2pix import Pix2PixEditor
from services.operations import ALL_OPS, Operation, RunContext
from services.operations.edit import EditDefaults, EditOperation
from services.operations.tag import TagOperation
from services.queue import FairQueue
from services.weights import missing_models, model_dir

log = logging.getLogger("vitrina.jobs")
AVAILABILITY_TTL_S = 5.0


@dataclass(frozen=True)
class ServiceConfig:
    weights_dir: Path
    device: str = "cpu"
    queue_max_size: int = 200
    queue_max_per_user: int = 20
    tag_top_k: int = 5
    tag_min_probability: float | None = None
    preload: bool = False  # load every available model when the worker starts
    edit_steps: int = 20
    edit_guidance: float = 7.5
    edit_image_guidance: float = 1.5
    edit_max_side: int = 512  # the model's working size: long side, a multiple of 8


class ModelServices:
    def __init__(
        self, config: ServiceConfig, operations: Mapping[str, Operation] | None = None
    ) -> None:
        self.config = config
        self.operations: dict[str, Operation] = dict(
            operations if operations is not None else default_operations(config)
        )
        self._queue: FairQueue[JobHandle] = FairQueue(
            config.queue_max_size, config.queue_max_per_user
        )
        self._wakeup = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Task[None] | None = None
        self._running: list[JobHandle] = []
        self._missing: dict[str, tuple[float, list[str]]] = {}

    # ---- lifecycle

    async def start(self) -> None:
        if self._worker is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-worker")
        self._worker = asyncio.create_task(self._work(), name="vitrina-model-worker")

    async def stop(self) -> None:
        """Stop taking jobs. Queued handles stay unresolved: storage re-queues them later."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        for handle in self._running:
            handle.cancel_requested.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def __aenter__(self) -> ModelServices:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- what callers use

    def missing_weights(self, op: str) -> list[str] | None:
        """None if `op` is not built yet, [] if it can run, else its absent model folders.

        Asked on every request, so the answer (a few file checks) is kept for a few seconds;
        weights an operator adds while the bot runs are seen within that time.
        """
        operation = self.operations.get(op)
        if operation is None:
            return None
        now = time.monotonic()
        cached = self._missing.get(op)
        if cached is None or now - cached[0] > AVAILABILITY_TTL_S:
            cached = (now, operation.missing_weights())
            self._missing[op] = cached
        return list(cached[1])

    def availability(self) -> dict[str, list[str] | None]:
        """`missing_weights` of every operation the bot offers."""
        return {op: self.missing_weights(op) for op in ALL_OPS}

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, request: JobRequest) -> JobHandle:
        """Queue a job; raises QueueFull or UnknownOperation at once."""
        if request.op not in self.operations:
            raise UnknownOperation(request.op)
        handle = JobHandle(request, asyncio.get_running_loop())
        self._queue.put(request.user_id, handle)
        handle._on_cancel = self._cancel_queued
        self._publish_positions()
        self._wakeup.set()
        return handle

    async def inspect_image(self, data: bytes) -> ImageInfo:
        """Validate uploaded bytes off the loop (not on the model thread: no waiting on GPU)."""
        return await asyncio.to_thread(inspect_image, data)

    # ---- the scheduler

    def _cancel_queued(self, handle: JobHandle) -> None:
        if self._queue.remove(handle):
            handle._finish(JobCancelled("cancelled while queued"))
            self._log(handle)
            self._publish_positions()

    def _publish_positions(self) -> None:
        for place, handle in enumerate(self._queue):
            handle._set_position(place)

    def _next_batch(self) -> list[JobHandle]:
        first = self._queue.pop()
        operation = self.operations[first.request.op]
        key = operation.batch_key(first.request)
        others = self._queue.pop_matching(
            lambda h: h.request.op == first.request.op and operation.batch_key(h.request) == key,
            operation.max_batch - 1,
        )
        return [first, *others]

    async def _warm_up(self) -> None:
        loop = asyncio.get_running_loop()
        for name, operation in self.operations.items():
            if operation.missing_weights():
                continue
            started = time.perf_counter()
            try:
                await loop.run_in_executor(self._executor, operation.warm_up)
            except Exception as exc:  # the first job will report it to its user
                log.warning("could not preload %s: %s", name, exc)
                continue
            log.info("%s ready in %.1fs", name, time.perf_counter() - started)

    async def _work(self) -> None:
        if self.config.preload:
            await self._warm_up()
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._next_batch()
            self._publish_positions()
            await self._run_batch(batch)

    async def _run_batch(self, batch: list[JobHandle]) -> None:
        loop = asyncio.get_running_loop()
        operation = self.operations[batch[0].request.op]
        for handle in batch:
            handle._set_running()
        self._running = batch

        def report(fraction: float, note: str | None) -> None:
            for handle in batch:
                loop.call_soon_threadsafe(handle._progress, fraction, note)

        context = RunContext(
            report=report, is_cancelled=lambda: all(h.cancel_requested.is_set() for h in batch)
        )
        requests = [handle.request for handle in batch]
        assert self._executor is not None
        try:
            outcomes = await loop.run_in_executor(self._executor, operation.run, requests, context)
        except ServiceError as exc:
            outcomes = [exc] * len(batch)
        except Exception as exc:  # a model bug must fail the jobs, not kill the worker
            log.exception("operation %s crashed", operation.name)
            outcomes = [exc] * len(batch)
        finally:
            self._running = []
        for handle, outcome in zip(batch, outcomes, strict=True):
            if handle.cancel_requested.is_set() and not isinstance(outcome, BaseException):
                outcome = JobCancelled("cancelled while running")
            handle._finish(outcome)
            self._log(handle)

    def _log(self, handle: JobHandle) -> None:
        request = handle.request
        error = f" error={type(handle.error).__name__}" if handle.error is not None else ""
        log.info(
            "job=%s user=%s op=%s wait=%.2fs run=%.2fs status=%s%s",
            handle.id, request.user_id, request.op, handle.wait_s, handle.run_s,
            handle.state.value, error,
        )  # fmt: skip


def default_operations(config: ServiceConfig) -> dict[str, Operation]:
    """The operations this build implements, wired to their models (loaded lazily)."""
    weights = config.weights_dir
    tagger = ClipTagger(model_dir(weights, "clip"), device=config.device)
    return {
        "tag": TagOperation(
            tagger,
            missing=lambda: missing_models(weights, ["clip"]),
            top_k=config.tag_top_k,
            min_probability=config.tag_min_probability,
        ),
        **edit_operations(config),
    }


def edit_operations(
    config: ServiceConfig, translate_to_english: Callable[[str], str] | None = None
) -> dict[str, Operation]:
    """night, tulips and edit: three operations over one instruct-pix2pix pipeline.

    ``translate_to_english`` turns a Russian instruction into English (None: as written).
    """
    weights = config.weights_dir
    editor = Pix2PixEditor(model_dir(weights, "pix2pix"), device=config.device)
    defaults = EditDefaults(
        steps=config.edit_steps,
        guidance=config.edit_guidance,
        image_guidance=config.edit_image_guidance,
        max_side=config.edit_max_side,
    )
    return {
        op: EditOperation(
            op,
            editor,
            lambda: missing_models(weights, ["pix2pix"]),
            defaults,
            translate_to_english=translate_to_english,
        )  # fmt: skip
        for op in ("night", "tulips", "edit")
    }
