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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services import runtimes
from services.errors import JobCancelled, ModelUnavailable, ServiceError, UnknownOperation
from services.imaging.decode import ImageInfo, inspect_image
from services.jobs import JobHandle, JobRequest
from services.models.blip import Captioner
from services.models.clip import ClipTagger
from services.models.gpt import GptCopywriter
from services.models.inpaint import BackgroundPainter
from services.models.pix2pix import Pix2PixEditor
from services.operations import ALL_OPS, FinishContext, Operation, Outcome, RunContext
from services.operations.background import BackgroundOperation
from services.operations.cutout import ObjectCutter
from services.operations.describe import DescribeOperation
from services.operations.edit import EditDefaults, EditOperation
from services.operations.tag import TagOperation
from services.queue import FairQueue
from services.translation import Translators
from services.weights import missing_models, model_dir

log = logging.getLogger("vitrina.jobs")
AVAILABILITY_TTL_S = 5.0
LOAD_FAILURE_TTL_S = 60.0  # a model that failed to load is not tried again for this long
STOP_WAIT_S = 30.0  # how long stop() waits for the model thread's current work


@dataclass(frozen=True)
class ServiceConfig:
    weights_dir: Path
    device: str = "cpu"
    queue_max_size: int = 200
    queue_max_per_user: int = 20
    tag_top_k: int = 5
    tag_min_probability: float | None = None
    background_steps: int = 25  # diffusion steps of a generated background
    #: ru -> en for background prompts (opus-mt-ru-en, wired by the lead); None = as typed
    sam_model: str | None = None  # SAM_MODEL: forces vit_h / vit_l / vit_b for the cut
    preload: bool = False  # load every available model when the worker starts
    max_pixels: int = 50_000_000  # the intake gate's pixel budget (MAX_PIXELS)
    # /describe: the GPT path is on when a key is given (never printed: repr=False)
    openai_api_key: str = field(default="", repr=False)
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o"
    openai_timeout_s: float = 30.0
    openai_backoff_s: float = 1.0
    describe_gpt_language: str = "ru"  # "ru": GPT writes Russian; "en": English + opus-mt
    edit_steps: int = 20
    edit_guidance: float = 7.5
    edit_image_guidance: float = 1.5
    edit_max_side: int = 512  # the model's working size: long side, a multiple of 8
    # CPU runtimes (services/runtimes.py): auto = the converted, checked folder on the CPU
    translation_runtime: str = "auto"  # auto | transformers | ctranslate2
    clip_runtime: str = "auto"  # auto | torch | onnx


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
        self._finishing: dict[JobHandle, asyncio.Task[None]] = {}
        self._missing: dict[str, tuple[float, list[str]]] = {}
        self._draining = False
        self._load_failures: dict[str, tuple[float, str]] = {}  # op -> (when, model)

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
        for task in list(self._finishing.values()):
            task.cancel()
        if self._executor is not None:
            # Let the model thread finish what it is doing (a load cannot be interrupted;
            # a diffusion loop stops at its next step), off the loop and bounded: a model
            # still loading in a stray thread could race another load in this process.
            executor, self._executor = self._executor, None
            stopping = asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
            try:
                await asyncio.wait_for(stopping, STOP_WAIT_S)
            except TimeoutError:
                log.warning("the model worker did not stop within %.0fs", STOP_WAIT_S)

    async def drain(self, timeout: float) -> bool:
        """Start no more jobs; wait up to `timeout` s for the running batch to finish.

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
        """None if `op` is not built yet, [] if it can run, else its absent model folders.

        Asked on every request, so the answer (a few file checks) is kept for a few seconds;
        weights an operator adds while the bot runs are seen within that time.
        """
        operation = self.operations.get(op)
        if operation is None:
            return None
        now = time.monotonic()
        failure = self._load_failures.get(op)
        if failure is not None and now - failure[0] < LOAD_FAILURE_TTL_S:
            return [failure[1]]
        cached = self._missing.get(op)
        if cached is None or now - cached[0] > AVAILABILITY_TTL_S:
            cached = (now, operation.missing_weights())
            self._missing[op] = cached
        return list(cached[1])

    def missing_weights_for(self, op: str, params: Mapping[str, Any]) -> list[str] | None:
        """`missing_weights(op)`, plus what this job's params need beyond it (a generated
        background needs the inpainting model; a colour does not)."""
        missing = self.missing_weights(op)
        operation = self.operations.get(op)
        extra = getattr(operation, "missing_weights_for", None)
        if missing is None or extra is None:
            return missing
        return list(dict.fromkeys([*missing, *extra(params)]))

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
        return await asyncio.to_thread(inspect_image, data, self.config.max_pixels)

    # ---- the scheduler

    def _cancel_queued(self, handle: JobHandle) -> None:
        if self._queue.remove(handle):
            handle._finish(JobCancelled("cancelled while queued"))
            self._log(handle)
            self._publish_positions()
        elif handle in self._finishing:
            self._finishing[handle].cancel()

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
            if not self._queue or self._draining:
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
        for outcome in outcomes:
            if isinstance(outcome, ModelUnavailable):  # only this feature goes unavailable
                self._load_failures[operation.name] = (time.monotonic(), outcome.model)
        finish = getattr(operation, "finish", None)
        for handle, outcome in zip(batch, outcomes, strict=True):
            if handle.cancel_requested.is_set() and not isinstance(outcome, BaseException):
                outcome = JobCancelled("cancelled while running")
            if finish is not None and not isinstance(outcome, BaseException):
                task = asyncio.create_task(self._finish_async(handle, finish, outcome))
                self._finishing[handle] = task
                task.add_done_callback(lambda _, h=handle: self._finishing.pop(h, None))
                continue
            handle._finish(outcome)
            self._log(handle)

    async def _finish_async(self, handle: JobHandle, finish: Callable[..., object],
                            outcome: Outcome) -> None:  # fmt: skip
        """The operation's async step, off the worker: the next batch is already running."""
        context = FinishContext(report=handle._progress, on_worker=self._on_worker)
        try:
            outcome = await finish(handle.request, outcome, context)  # type: ignore[misc]
        except asyncio.CancelledError:
            handle._finish(JobCancelled("cancelled while finishing"))
            self._log(handle)
            raise
        except ServiceError as exc:
            outcome = exc
        except Exception as exc:  # a bug in one job's finish fails that job only
            log.exception("operation %s crashed while finishing", handle.request.op)
            outcome = exc
        if handle.cancel_requested.is_set() and not isinstance(outcome, BaseException):
            outcome = JobCancelled("cancelled while finishing")
        handle._finish(outcome)
        self._log(handle)

    async def _on_worker(self, function: Callable[[], object]) -> object:
        if self._executor is None:
            raise ServiceError("the model worker has stopped")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

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
    tagger = ClipTagger(
        model_dir(weights, "clip"), device=config.device,
        image_encoder=runtimes.clip_image_encoder(weights, config.device, config.clip_runtime),
    )  # fmt: skip
    translators = default_translators(config)
    gpt = None
    if config.openai_api_key:
        gpt = GptCopywriter(
            config.openai_api_key, base_url=config.openai_base_url, model=config.openai_model,
            language=config.describe_gpt_language, timeout_s=config.openai_timeout_s,
            backoff_s=config.openai_backoff_s,
        )  # fmt: skip
    return {
        "tag": TagOperation(
            tagger,
            missing=lambda: missing_models(weights, ["clip"]),
            top_k=config.tag_top_k,
            min_probability=config.tag_min_probability,
        ),
        "describe": DescribeOperation(
            Captioner(model_dir(weights, "blip"), device=config.device),
            tagger,  # the same instance /tag uses: one CLIP in memory
            translators,
            missing=lambda names: missing_models(weights, names),
            gpt=gpt,
        ),
        "background": BackgroundOperation(
            ObjectCutter(weights, device=config.device, sam_variant=config.sam_model),
            BackgroundPainter(model_dir(weights, "inpaint"), device=config.device),
            painter_missing=lambda: missing_models(weights, ["inpaint"]),
            steps=config.background_steps,
            translate_to_english=english_or_as_is(translators),
        ),
        **edit_operations(config, english_or_as_is(translators)),
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


def english_or_as_is(translators: Translators) -> Callable[[str], str]:
    """The Russian -> English hook of the diffusion prompts: opus-mt-ru-en when its weights
    are there; without them the prompt goes to the model as the user wrote it."""

    def to_english(text: str) -> str:
        try:
            return translators.to_english(text)
        except ModelUnavailable:
            log.warning("opus-mt-ru-en is missing: a Russian prompt goes to the model as typed")
            return text

    return to_english


def default_translators(config: ServiceConfig) -> Translators:
    """opus-mt both ways. ``Translators.to_english`` is the hook /edit and /background take
    for Russian prompts (thread-safe; English passes through; loads ru-en on first use)."""
    weights, device, runtime = config.weights_dir, config.device, config.translation_runtime
    return Translators(
        runtimes.translator(weights, "opus-mt-en-ru", device, runtime).translate,
        runtimes.translator(weights, "opus-mt-ru-en", device, runtime).translate,
    )
