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
import hashlib
import json
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services import runtimes
from services.errors import (
    JobCancelled,
    ModelUnavailable,
    QueueFull,
    ServiceError,
    UnknownOperation,
)
from services.features import FeatureStore
from services.imaging.decode import ImageInfo, inspect_image
from services.jobs import JobHandle, JobRequest
from services.models.blip import Captioner
from services.models.clip import ClipTagger
from services.models.gpt import GptCopywriter
from services.models.inpaint import BackgroundPainter
from services.models.pix2pix import Pix2PixEditor
from services.models.residency import ModelResidency, ResidentInfo
from services.models.resident import ResidentModel
from services.operations import ALL_OPS, FinishContext, Operation, OperationSet, Outcome
from services.operations.background import BackgroundOperation
from services.operations.cutout import ObjectCutter
from services.operations.describe import DescribeOperation
from services.operations.edit import EditDefaults, EditOperation
from services.operations.tag import TagOperation
from services.queue import FairQueue
from services.translation import Translators
from services.weights import missing_models, model_dir
from services.weights.manifest import load_manifest
from services.weights.revision import ABSENT, model_revision
from services.worker import LANE_DIFFUSION, LANE_QUICK, Engine
from services.worker.engine import ThreadEngine
from services.worker.process import OperationsFactory, ProcessEngine
from services.worker.redis_url import REDIS_SCHEMES

log = logging.getLogger("vitrina.jobs")
AVAILABILITY_TTL_S = 5.0
LOAD_FAILURE_TTL_S = 60.0  # a model that failed to load is not tried again for this long
STOP_WAIT_S = 30.0  # how long stop() waits for the model worker's current work
#: Part of every result-cache key: bump when a change of code changes results.
CACHE_VERSION = 1
#: ServiceConfig fields a result depends on besides its params, models, device, runtimes
RESULT_SETTINGS = (
    "tag_top_k",
    "tag_min_probability",
    "background_steps",
    "sam_model",
    "describe_gpt_language",
    "edit_steps",
    "edit_guidance",
    "edit_image_guidance",
    "edit_max_side",
)


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
    worker: str = "thread"  # MODEL_WORKER: "process" (the bot's default) or "thread"
    batch_window_ms: float = 0.0  # BATCH_WINDOW_MS: how long a batch waits for a burst
    worker_threads: int = 0  # WORKER_THREADS: torch CPU threads of a worker process; 0 = auto
    # Result cache and per-photo features (issue 9, P5)
    result_cache: bool = True  # RESULT_CACHE: a repeated job is answered from storage
    features_dir: Path | None = None  # CLIP/ISNet/SAM features per photo; None: not kept
    # memory the models may hold (GB; 0 = no limit): least recently used ones are unloaded
    gpu_memory_budget_gb: float = 0.0  # GPU_MEMORY_BUDGET_GB: models on CUDA
    cpu_memory_budget_gb: float = 0.0  # CPU_MEMORY_BUDGET_GB: models on the CPU, in RAM
    # CPU runtimes (services/runtimes.py): auto = the converted, checked folder on the CPU
    translation_runtime: str = "auto"  # auto | transformers | ctranslate2
    clip_runtime: str = "auto"  # auto | torch | onnx
    #: SERVICE_BACKEND: "local" (the worker above) or redis://host:port/db (taskiq workers)
    backend: str = field(default="local", repr=False)  # a redis:// URL may hold a password
    redis_visibility_s: float = 60.0  # REDIS_VISIBILITY_S: a silent worker's job moves on
    shared_dir: Path | None = None  # SHARED_DIR: photos and result images travel through it


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
        factory = operations_factory or default_operations
        self.operations: dict[str, Operation] = dict(
            operations if operations is not None else factory(config, self.residency)
        )
        if config.backend.startswith(REDIS_SCHEMES):
            from services.worker.redis_engine import RedisEngine  # taskiq only when used

            self.engine: Engine = RedisEngine(
                config.backend,
                visibility_s=config.redis_visibility_s,
                shared_dir=config.shared_dir,
            )
        elif config.worker == "process" and operations is None:
            self.engine = ProcessEngine(factory, config)
        else:
            self.engine = ThreadEngine(self.operations)
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
        self._finishing: dict[JobHandle, asyncio.Task[None]] = {}
        self._missing: dict[str, tuple[float, list[str]]] = {}
        self._started = False
        self._draining = False
        self._load_failures: dict[str, tuple[float, str]] = {}  # op -> (when, model)
        self._warned_settings: set[str] = set()  # ops whose workers run other settings

    # ---- lifecycle

    async def start(self) -> None:
        """Start the worker (never waits for models: with `preload` they load in the
        worker while the bot already answers)."""
        if self._started:
            return
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
        for task in [*lanes, *self._finishing.values()]:
            task.cancel()
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
        if (answer := self.engine.missing_weights(op)) is not None:
            return answer  # worker machines have their own weights (SERVICE_BACKEND=redis)
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

    def cache_key(self, op: str, params: Mapping[str, Any], photo_sha256: str) -> str | None:
        """The result-cache key of `op` on this photo with these params (None: not cacheable,
        or the cache is off): sha256 over the photo, the op, what its result depends on
        (``Operation.cache_identity``), the installed revision of each model it uses, the
        device and CACHE_VERSION. Cheap: a few ``stat`` calls, no model is loaded."""
        operation = self.operations.get(op)
        identify = getattr(operation, "cache_identity", None)
        if not self.config.result_cache or not photo_sha256 or identify is None:
            return None
        try:
            identity = identify(params)
        except Exception as exc:  # odd params: run the job, the operation will say what's wrong
            log.debug("no cache key for %s %s: %s", op, dict(params), exc)
            return None
        if identity is None:
            return None
        identity = dict(identity)
        models = list(identity.pop("models", []))
        computes = self._who_computes(op, models)
        if computes is None:
            return None
        revisions = {name: computes["models"].get(name, ABSENT) for name in models}
        blob = {
            "version": CACHE_VERSION,
            "op": op,
            "photo": photo_sha256,
            "params": identity,
            "models": revisions,
            "device": computes["device"],
            "runtimes": computes["runtimes"],
        }
        text = json.dumps(blob, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _who_computes(self, op: str, models: list[str]) -> dict[str, Any] | None:
        """What `op`'s results will be computed with: this machine's `result_identity`, or
        with Redis the one every live worker serving `op` publishes. None (not cacheable):
        no live worker, workers that differ, or settings that differ from the bot's own
        (the bot's operations describe a job by its settings: the key would lie)."""
        if self.engine.live_workers is None:  # the worker runs here
            return result_identity(self.config, models)
        computes = self.engine.result_identity(op)
        if computes is None:
            return None
        own = result_settings(self.config)
        if computes.get("settings") != own:
            if op not in self._warned_settings:
                self._warned_settings.add(op)
                differ = sorted(k for k in own if computes.get("settings", {}).get(k) != own[k])
                log.warning(
                    "the workers serving %s run with other settings than the bot (%s):"
                    " its results are not cached; give every machine the same "
                    "env/.env",
                    op,
                    ", ".join(differ),
                )
            return None
        return computes

    def availability(self) -> dict[str, list[str] | None]:
        """`missing_weights` of every operation the bot offers."""
        return {op: self.missing_weights(op) for op in ALL_OPS}

    def workers(self) -> list[dict[str, Any]] | None:
        """Live worker machines' heartbeats (SERVICE_BACKEND=redis://); None in-process."""
        live = self.engine.live_workers
        return None if live is None else list(live)

    @property
    def queued(self) -> int:
        return len(self._queue)

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
        """ "diffusion" for jobs that run a denoising loop; "quick" for everything else."""
        lane = getattr(self.operations[request.op], "lane", None)
        return LANE_QUICK if lane is None else str(lane(request))

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
            self._finishing[handle].cancel()

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
            if window > 0 and room > 0 and sum(map(same_batch, self._queue)) < room:
                await asyncio.sleep(window)  # let a burst of compatible jobs join this batch
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

        def report(fraction: float, note: str | None) -> None:
            for handle in batch:
                handle._progress(fraction, note)

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

    async def _finish_async(
        self, handle: JobHandle, finish: Callable[..., object], outcome: Outcome
    ) -> None:
        """The operation's async step, off the worker: the next batch is already running."""
        op = handle.request.op

        async def on_worker(method: str, *args: Any) -> Any:
            return await self.engine.call(op, method, *args)

        context = FinishContext(report=handle._progress, on_worker=on_worker)
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

    def _log(self, handle: JobHandle) -> None:
        request = handle.request
        error = f" error={type(handle.error).__name__}" if handle.error is not None else ""
        log.info(
            "job=%s user=%s op=%s wait=%.2fs run=%.2fs status=%s%s",
            handle.id,
            request.user_id,
            request.op,
            handle.wait_s,
            handle.run_s,
            handle.state.value,
            error,
        )


def result_settings(config: ServiceConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in RESULT_SETTINGS}


def result_identity(config: ServiceConfig, models: Iterable[str] | None = None) -> dict[str, Any]:
    """What a machine's results depend on besides the job: device, runtimes, settings and
    the installed revision of each model (`models`; default: every model of the manifest).
    A Redis worker publishes it; the bot's cache keys are made of it."""
    names = list(load_manifest()) if models is None else list(models)
    return {
        "device": config.device,
        "runtimes": [config.clip_runtime, config.translation_runtime],
        "settings": result_settings(config),
        "models": {name: model_revision(config.weights_dir, name) for name in names},
    }


def default_operations(
    config: ServiceConfig, residency: ModelResidency | None = None
) -> OperationSet:
    """The operations this build implements, wired to their models (loaded lazily); every
    model registers with ``residency`` (the worker's memory budget; None: a new one)."""
    weights = config.weights_dir
    features = FeatureStore(config.features_dir) if config.features_dir else None
    residency = residency or ModelResidency.from_gb(
        config.gpu_memory_budget_gb, config.cpu_memory_budget_gb
    )
    tagger = residency.register(
        ClipTagger(
            model_dir(weights, "clip"),
            device=config.device,
            features=features,
            image_encoder=runtimes.clip_image_encoder(weights, config.device, config.clip_runtime),
        )
    )
    translators = default_translators(config, residency)
    cutter = ObjectCutter(
        weights, device=config.device, sam_variant=config.sam_model, features=features
    )
    residency.register(cutter.isnet)
    residency.register(cutter.sam)
    gpt = None
    if config.openai_api_key:
        gpt = GptCopywriter(
            config.openai_api_key,
            base_url=config.openai_base_url,
            model=config.openai_model,
            language=config.describe_gpt_language,
            timeout_s=config.openai_timeout_s,
            backoff_s=config.openai_backoff_s,
        )
    operations = OperationSet(
        {
            "tag": TagOperation(
                tagger,
                missing=lambda: missing_models(weights, ["clip"]),
                top_k=config.tag_top_k,
                min_probability=config.tag_min_probability,
            ),
            "describe": DescribeOperation(
                residency.register(Captioner(model_dir(weights, "blip"), device=config.device)),
                tagger,  # the same instance /tag uses: one CLIP in memory
                translators,
                missing=lambda names: missing_models(weights, names),
                gpt=gpt,
            ),
            "background": BackgroundOperation(
                cutter,
                residency.register(
                    BackgroundPainter(model_dir(weights, "inpaint"), config.device)
                ),
                painter_missing=lambda: missing_models(weights, ["inpaint"]),
                steps=config.background_steps,
                translate_to_english=english_or_as_is(translators),
            ),
            **edit_operations(config, english_or_as_is(translators), residency),
        }
    )
    operations.residency = residency
    return operations


def edit_operations(
    config: ServiceConfig,
    translate_to_english: Callable[[str], str] | None = None,
    residency: ModelResidency | None = None,
) -> dict[str, Operation]:
    """night, tulips and edit: three operations over one instruct-pix2pix pipeline.

    ``translate_to_english`` turns a Russian instruction into English (None: as written).
    """
    weights = config.weights_dir
    editor = Pix2PixEditor(model_dir(weights, "pix2pix"), device=config.device)
    if residency is not None:
        residency.register(editor)
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
        )
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


def default_translators(
    config: ServiceConfig, residency: ModelResidency | None = None
) -> Translators:
    """opus-mt both ways. ``Translators.to_english`` is the hook /edit and /background take
    for Russian prompts (thread-safe; English passes through; loads ru-en on first use)."""
    weights, device, runtime = config.weights_dir, config.device, config.translation_runtime
    en_ru = runtimes.translator(weights, "opus-mt-en-ru", device, runtime)
    ru_en = runtimes.translator(weights, "opus-mt-ru-en", device, runtime)
    if residency is not None:  # a CTranslate2 translator holds no torch model
        for translator in (en_ru, ru_en):
            if isinstance(translator, ResidentModel):
                residency.register(translator)
    return Translators(en_ru.translate, ru_en.translate)
