"""`vitrina worker`: one process per device that serves the bot's jobs from Redis.

It runs the same `BatchRunner` and operations as the in-process engines; taskiq's
`Receiver` reads one message per lane at a time from the lane streams (so a quick job runs
between the steps of a diffusion here too) and acknowledges it once the outcome is stored.
Its heartbeat (`redis_liveness.WorkerLiveness`) publishes what it holds and keeps its own
unacknowledged messages fresh (XCLAIM to itself): only a worker that stopped beating loses
its job to another. A job it cannot take (an op it does not serve, too little GPU memory)
goes back to the queue for another; a job whose bot is gone is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import itertools
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskiq import Context, TaskiqDepends
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from services.errors import ServiceError
from services.operations import LANE_DIFFUSION, OperationSet
from services.worker.messages import (
    BatchDone,
    Call,
    CallDone,
    Cancel,
    Event,
    Progress,
    RunBatch,
    Shutdown,
)
from services.worker.redis_liveness import WorkerLiveness, free_device_memory, ping
from services.worker.redis_protocol import (
    CANCEL_CHANNEL,
    LANES,
    MAX_REFUSALS,
    MAX_REQUEUES,
    PING,
    REFUSAL_PAUSE_S,
    RESULT_TTL_S,
    TASK,
    Notice,
    RemoteOrder,
    bot_channel,
    cancelled_key,
    check_reachable,
    client,
    listen_forever,
    make_broker,
    pack,
    photo_key,
    result_key,
    unpack,
    worker_key,
)
from services.worker.redis_shared import shared_photo
from services.worker.redis_url import redacted
from services.worker.runner import BatchRunner

if TYPE_CHECKING:
    from services.metrics import ServiceMetrics

log = logging.getLogger("vitrina.worker")


class RedisWorker(WorkerLiveness):
    """Consumes the lane streams; `await run()` until `stop()`."""

    def __init__(
        self,
        url: str,
        operations: OperationSet,
        *,
        device: str = "cpu",
        ops: Sequence[str] | None = None,
        visibility_s: float = 60.0,
        diffusion_min_free_mb: int = 0,
        worker_id: str | None = None,
        identity: Mapping[str, Any] | None = None,
        shared_dir: Path | None = None,
    ) -> None:
        self.url = url
        self.operations = operations
        self.ops = set(ops) if ops else set(operations)
        self.device = device
        self.visibility_s = visibility_s
        self.shared_dir = shared_dir  # SHARED_DIR: photos read, result images written there
        #: what its results depend on (cache_keys.result_identity): the bot's cache keys use it
        self.identity = dict(identity) if identity is not None else None
        self.diffusion_min_free_mb = diffusion_min_free_mb
        self.id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.runner = BatchRunner(operations, self._emit_threadsafe)
        self.redis = client(url)
        # only the streams its operations use: a tag-only worker never reads a diffusion
        # job, and the bot counts it in the quick lane's capacity only
        served_lanes = {lane for op in self.ops for lane in operations[op].lanes}
        self.lanes = tuple(lane for lane in LANES if lane in served_lanes)
        self.brokers = {
            lane: make_broker(url, lane, visibility_s=visibility_s, consumer=f"{self.id}:{lane}")
            for lane in self.lanes
        }
        for broker in self.brokers.values():
            broker.is_worker_process = True
            broker.register_task(self._task_function(), task_name=TASK)
            broker.register_task(ping, task_name=PING)
        self._ids = itertools.count(1)
        self._waiting: dict[tuple[str, int], asyncio.Future[Event]] = {}
        self._local: dict[tuple[str, int], RemoteOrder] = {}  # local id -> order
        self._remote: dict[tuple[str, int], int] = {}  # (bot, batch) -> local batch id
        self._photos = Path(tempfile.mkdtemp(prefix="vitrina-worker-"))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finish = asyncio.Event()
        self.served: dict[str, int] = {}  # op -> batches run (the models it holds, roughly)
        self.busy: dict[str, str | None] = dict.fromkeys(self.lanes)
        self._orphaned: set[tuple[str, int]] = set()  # (bot, batch) cancelled: its bot died
        self._bot_missing: dict[str, float] = {}  # bot -> when its heartbeat was first missed
        self.metrics: ServiceMetrics | None = None  # --metrics-port: served by the CLI

    # ---- lifecycle

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await check_reachable(self.redis, self.url)
        thread = asyncio.create_task(asyncio.to_thread(self.runner.serve))
        receivers = [
            asyncio.create_task(self._serve_lane(lane, broker))
            for lane, broker in self.brokers.items()
        ]
        cancels = listen_forever(self.redis, CANCEL_CHANNEL, self._cancel)
        side = [asyncio.create_task(self._heartbeat()), asyncio.create_task(cancels)]
        log.info(
            "worker %s serving %s on %s (%s)",
            self.id,
            sorted(self.ops),
            self.device,
            redacted(self.url),
        )
        try:
            await self._finish.wait()
            await asyncio.gather(*receivers, return_exceptions=True)
        finally:
            for task in side:
                task.cancel()
            self.runner.submit(Shutdown())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(thread, 30)
            for broker in self.brokers.values():
                with contextlib.suppress(Exception):
                    await broker.shutdown()
            with contextlib.suppress(Exception):
                await self.redis.delete(worker_key(self.id))
            await self.redis.aclose()

    async def _serve_lane(self, lane: str, broker: RedisStreamBroker) -> None:
        """taskiq's Receiver for one lane, listening again after Redis was lost (it ends
        when its connection breaks; without this the worker would beat on, serving nothing).
        Redis may also have come back empty: the consumer group is declared again."""
        pause = 0.5
        while not self._finish.is_set():
            try:
                await Receiver(broker, max_async_tasks=1, max_prefetch=0).listen(self._finish)
            except Exception as exc:
                log.warning("lane %s lost Redis (%s); listening again", lane, exc)
            if self._finish.is_set():
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)
            with contextlib.suppress(Exception):
                await broker.startup()  # declares the consumer group if Redis lost it
                pause = 0.5

    def stop(self) -> None:
        """Take no new message; the running ones finish and are acknowledged."""
        self._finish.set()

    # ---- one task: a RunBatch or a Call from a bot

    def _task_function(self) -> Any:
        """A plain function per broker (taskiq renames what it registers)."""

        async def run(
            payload: RemoteOrder,
            context: Context = TaskiqDepends(),  # noqa: B008 - taskiq's dependency injection
        ) -> None:
            await self._run_task(payload, context)

        return run

    async def _run_task(self, payload: RemoteOrder, context: Context) -> None:
        refusal = self._refusal(payload)
        if refusal is not None:
            count = int(context.message.labels.get("X-Taskiq-requeue", 0))
            others = await self._others_serving(payload)
            if count < (MAX_REQUEUES if others else MAX_REFUSALS):
                log.log(
                    logging.INFO if count == 0 else logging.DEBUG,
                    "refused %s %s (%d others serve it): %s",
                    payload.kind,
                    payload.op,
                    others,
                    refusal,
                )
                await asyncio.sleep(REFUSAL_PAUSE_S)  # one that can take it gets there first
                await context.requeue()  # raises NoResultError: acked, queued again
            await self._store_error(payload, ServiceError(f"no worker can run it: {refusal}"))
            return
        key = result_key(payload.bot, payload.kind, payload.number)
        if await self.redis.exists(key):  # a redelivered job already answered: nothing to do
            return
        if not await self._bot_alive(payload.bot):
            # its bot died (or stopped) after sending it: the restarted bot queues the job
            # again from its SQLite rows, so running this one would be wasted work
            log.info("dropped %s %s: its bot %s is gone", payload.kind, payload.op, payload.bot)
            await self._store_error(payload, ServiceError("the bot that sent it is gone"))
            return
        lane = payload.lane
        self.busy[lane] = f"{payload.op}"
        try:
            order = await self._localise(payload)
            event = await self._execute(payload, order)
        except Exception as exc:  # an expired photo, Redis away: this job fails, not silently
            log.warning("%s %s failed before running: %s", payload.kind, payload.op, exc)
            error = exc if isinstance(exc, ServiceError) else ServiceError(str(exc))
            if isinstance(payload.order, RunBatch):
                event = BatchDone(payload.number, [error] * len(payload.order.requests))
            else:
                event = CallDone(payload.number, error=error)
        finally:
            self.busy[lane] = None
        if isinstance(event, BatchDone):
            self.served[payload.op] = self.served.get(payload.op, 0) + 1
            if self.metrics is not None:
                self.metrics.batch_finished(payload.op, event.outcomes, event.run_s)
            await self._store(payload, event.outcomes)
        elif isinstance(event, CallDone):
            await self._store(payload, event)

    async def _store_error(self, payload: RemoteOrder, error: ServiceError) -> None:
        if isinstance(payload.order, RunBatch):
            await self._store(payload, [error] * len(payload.order.requests))
        else:
            await self._store(payload, CallDone(payload.number, error=error))

    def _refusal(self, payload: RemoteOrder) -> str | None:
        if payload.op not in self.ops or payload.op not in self.operations:
            return f"this worker does not serve {payload.op}"
        if payload.lane == LANE_DIFFUSION and self.diffusion_min_free_mb > 0:
            free = free_device_memory(self.device)
            if free is not None and free < self.diffusion_min_free_mb * 2**20:
                return f"{free // 2**20} MB free on {self.device}"
        return None

    async def _localise(self, payload: RemoteOrder) -> RunBatch | Call:
        """The order with its photos: read in place from SHARED_DIR, or fetched from Redis
        into this worker's folder."""
        order = payload.order
        if not isinstance(order, RunBatch):
            return order
        requests = []
        for request in order.requests:
            digest = payload.photos.get(str(request.image_path))
            if digest is None:
                requests.append(request)
                continue
            local = self._photos / f"{digest}.img"
            if self.shared_dir is not None:
                shared = shared_photo(self.shared_dir, digest)
                if await asyncio.to_thread(shared.exists):
                    local = shared
            if not local.exists():
                data = await self.redis.get(photo_key(digest))
                if data is None:
                    raise ServiceError("the photo expired in Redis before a worker took it")
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ServiceError("the photo in Redis does not match its hash")
                partial = local.with_suffix(f".{uuid.uuid4().hex}.part")
                await asyncio.to_thread(partial.write_bytes, data)
                partial.replace(local)
            requests.append(dataclasses.replace(request, image_path=local))
        return dataclasses.replace(order, requests=tuple(requests))

    async def _execute(self, payload: RemoteOrder, order: RunBatch | Call) -> Event:
        assert self._loop is not None
        number = next(self._ids)
        if isinstance(order, RunBatch):
            local: RunBatch | Call = dataclasses.replace(order, batch_id=number)
            kind = "batch"
        else:
            local = dataclasses.replace(order, call_id=number)
            kind = "call"
        future: asyncio.Future[Event] = self._loop.create_future()
        self._waiting[(kind, number)] = future
        self._local[(kind, number)] = payload
        if kind == "batch":
            self._remote[(payload.bot, payload.number)] = number
        try:
            self.runner.submit(local)
            if kind == "batch":  # Cancel orders that arrived while the job was queued
                cancelled = await self.redis.smembers(cancelled_key(payload.bot, payload.number))
                for job_id in cancelled:
                    self.runner.submit(Cancel(number, int(job_id)))
            return await future
        finally:
            self._waiting.pop((kind, number), None)
            self._local.pop((kind, number), None)
            self._remote.pop((payload.bot, payload.number), None)
            self._orphaned.discard((payload.bot, payload.number))

    async def _store(self, payload: RemoteOrder, outcome: Any) -> None:
        """Store the outcome once (a redelivered job's second answer is dropped), then
        tell its bot. Outcomes that do not pickle become a plain error for their job."""
        try:  # PNG encoding (and with SHARED_DIR, files): off the loop that beats
            data = await asyncio.to_thread(pack, (self.id, outcome), self.shared_dir)
        except Exception as exc:
            data = pack((self.id, _plain(outcome, exc)))
        key = result_key(payload.bot, payload.kind, payload.number)
        if await self.redis.set(key, data, nx=True, ex=RESULT_TTL_S):
            notice = Notice("done", payload.kind, payload.number, worker=self.id)
            await self.redis.publish(bot_channel(payload.bot), pack(notice))

    # ---- events from the runner thread

    def _emit_threadsafe(self, event: Event) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_event, event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            payload = self._local.get(("batch", event.batch_id))
            if payload is not None:
                notice = Notice(
                    "progress",
                    "batch",
                    payload.number,
                    event.fraction,
                    event.step,
                    event.total,
                    worker=self.id,
                )
                asyncio.ensure_future(self.redis.publish(bot_channel(payload.bot), pack(notice)))
            return
        key = ("batch", event.batch_id) if isinstance(event, BatchDone) else None
        if isinstance(event, CallDone):
            key = ("call", event.call_id)
        future = self._waiting.get(key) if key is not None else None
        if future is not None and not future.done():
            future.set_result(event)

    # ---- side loops

    async def _cancel(self, data: bytes) -> None:
        bot, batch_id, job_id = unpack(data)
        local = self._remote.get((bot, batch_id))
        if local is not None:
            self.runner.submit(Cancel(local, job_id))


def _plain(outcome: Any, error: Exception) -> Any:
    if isinstance(outcome, list):
        return [_plain(item, error) for item in outcome]
    try:
        pack(outcome)
    except Exception:
        return ServiceError(f"unpicklable result {type(outcome).__name__}: {error}")
    return outcome


__all__ = ["RedisWorker"]
