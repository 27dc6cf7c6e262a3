"""`RedisEngine`: the bot's side of SERVICE_BACKEND=redis:// (taskiq + taskiq-redis).

`run_batch` / `call` become taskiq tasks on the lane's stream (photos uploaded first, by
hash, with a TTL); outcomes come back as Redis keys announced on the bot's channel, with a
slow poll as a safety net for a missed notice. Cancel is published to every worker and
remembered in a set for a job no worker has taken yet.

Fairness stays in the bot: `capacity(lane)` is the number of live workers (heartbeats), and
`ModelServices` keeps at most that many batches per lane out in Redis, so the streams never
hold more than the workers can take and the FairQueue decides who goes next.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from taskiq.kicker import AsyncKicker
from taskiq_redis import RedisStreamBroker

from services.errors import ServiceError
from services.models.residency import ResidentInfo
from services.worker.engine import Engine
from services.worker.messages import (
    BatchDone,
    Call,
    CallDone,
    Cancel,
    Order,
    Progress,
    RunBatch,
    WarmUp,
)
from services.worker.placement import placeable
from services.worker.redis_protocol import (
    BOT_BEAT_S,
    CANCEL_CHANNEL,
    LANES,
    PHOTO_TTL_S,
    RESULT_TTL_S,
    TASK,
    Notice,
    RemoteOrder,
    alive_ttl_s,
    bot_alive_key,
    bot_channel,
    cancelled_key,
    check_reachable,
    client,
    listen_forever,
    live_worker_states,
    make_broker,
    pack,
    photo_key,
    result_key,
    subscribe,
    unpack,
)
from services.worker.redis_shared import place_photo, sweep

log = logging.getLogger("vitrina.worker")
POLL_S = 2.0  # results are also polled this often (a notice lost with a reconnect)
WORKERS_POLL_S = 1.0
SWEEP_S = 600.0  # SHARED_DIR is swept this often


class RedisEngine(Engine):
    kind = "redis"

    def __init__(
        self, url: str, *, visibility_s: float = 60.0, shared_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.url = url
        self.shared_dir = shared_dir  # SHARED_DIR: photos and result images go through it
        self._fetching: set[tuple[str, int]] = set()
        self.bot = uuid.uuid4().hex[:12]  # this process: a restarted bot is a new one
        self.visibility_s = visibility_s
        self.redis = client(url)
        self.brokers: dict[str, RedisStreamBroker] = {
            lane: make_broker(url, lane, visibility_s=visibility_s) for lane in LANES
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._orders: dict[tuple[str, int], RunBatch | Call] = {}  # sent, not answered yet
        self.live_workers: list[dict[str, Any]] = []
        self.answered_by: Counter[str] = Counter()  # worker id -> outcomes received
        self._started = False
        self._beaten = False  # a first heartbeat was set (a vanished one means lost data)

    async def start(self) -> None:
        await super().start()
        if self._started:
            return
        await check_reachable(self.redis, self.url)
        self._started = True
        await self._beat()  # before any order: a worker drops orders of a silent bot
        for broker in self.brokers.values():
            await broker.startup()  # declares the consumer group: jobs wait for workers
        channel = bot_channel(self.bot)
        notices = listen_forever(
            self.redis, channel, self._notice, first=await subscribe(self.redis, channel)
        )
        self._tasks = [
            asyncio.create_task(notices, name="vitrina-redis-notices"),
            asyncio.create_task(self._poll_results(), name="vitrina-redis-poll"),
            asyncio.create_task(self._poll_workers(), name="vitrina-redis-workers"),
            asyncio.create_task(self._heartbeat(), name="vitrina-redis-heartbeat"),
            asyncio.create_task(self._sweep(), name="vitrina-redis-sweep"),
        ]
        await self._refresh_workers()

    async def stop(self, wait_s: float) -> None:
        if not self._started:
            return
        self._started = False
        # every step bounded: a stop that hangs on Redis would hang the bot's shutdown
        # (a full-suite run once hung here in the scale-out e2e test's teardown).
        # Orders being sent go out first: the Cancel of each running job among them.
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=min(wait_s, 5))
        for task in [*self._tasks, *self._sending]:
            task.cancel()
        pending = [*self._tasks, *self._sending]
        if pending:
            await asyncio.wait(pending, timeout=wait_s)
        self._fail_all(ServiceError("the bot stopped waiting for its workers"))
        with contextlib.suppress(Exception):  # workers drop what this bot left queued
            await asyncio.wait_for(self.redis.delete(bot_alive_key(self.bot)), 5)
        for broker in self.brokers.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(broker.shutdown(), 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.aclose(), 5)

    # ---- capacity: how many batches per lane the scheduler may have out at once

    def capacity(self, lane: str) -> int:
        return max(1, sum(lane in w.get("lanes", ()) for w in self.live_workers))

    def admits(self, lane: str, out: Sequence[str], op: str) -> bool:
        """Room in the lane, and a worker of its own for every batch out there and this one
        among the live workers serving their operations (`placement.placeable`). An
        operation no live worker serves goes by room alone: the workers refuse it, then it
        fails with a clear "no worker can run it"."""
        if len(out) >= self.capacity(lane):
            return False
        servers = [set(w.get("ops", ())) for w in self.live_workers if lane in w.get("lanes", ())]
        if not any(op in ops for ops in servers):
            return True
        served = [o for o in (*out, op) if any(o in ops for ops in servers)]
        return placeable(served, servers)

    def result_identity(self, op: str) -> dict[str, Any] | None:
        """What every live worker serving `op` computes with (device, runtimes, settings,
        model revisions; `cache_keys.result_identity`); None when none is alive or they differ
        (a result cached now could not be told apart from the other workers')."""
        found = [w.get("identity") for w in self.live_workers if op in w.get("ops", ())]
        if not found or found[0] is None or any(other != found[0] for other in found[1:]):
            return None
        return dict(found[0])

    def missing_weights(self, op: str) -> list[str] | None:
        """What the live workers lack to run `op`: [] when one of them can; None when no
        worker is alive (the bot then judges by its own WEIGHTS_DIR)."""
        serving = [w for w in self.live_workers if op in w.get("ops", ())]
        if not self.live_workers:
            return None
        if not serving:
            return [f"a worker serving {op}"]
        lacks = [list(w.get("missing", {}).get(op, [])) for w in serving]
        return [] if any(not lack for lack in lacks) else lacks[0]

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(min(BOT_BEAT_S, self.visibility_s / 4))
            with contextlib.suppress(Exception):  # Redis away for a moment: try again
                await self._beat()

    async def _beat(self) -> None:
        before = await self.redis.set(
            bot_alive_key(self.bot), b"1", ex=alive_ttl_s(self.visibility_s), get=True
        )
        if before is None and self._beaten:
            self._resend()  # our heartbeat vanished: Redis came back empty (or we stalled)
        self._beaten = True

    def _resend(self) -> None:
        """Send every unanswered order again: Redis lost them with its data. (After a mere
        stall of this bot a job may run twice; it is still answered once, `SET NX`.)"""
        orders = [o for key, o in self._orders.items() if key in self._pending]
        self._orders = {self._key(o): o for o in orders}
        if orders:
            log.warning(
                "Redis lost this bot's state (restarted empty?): sending %d orders again",
                len(orders),
            )
        for order in orders:
            self._start_sending(self._kick(order))

    async def _sweep(self) -> None:
        """SHARED_DIR's photos and unread results expire as Redis keys would."""
        while self.shared_dir is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(sweep, self.shared_dir, PHOTO_TTL_S, RESULT_TTL_S)
            await asyncio.sleep(SWEEP_S)

    async def _poll_workers(self) -> None:
        while True:
            await asyncio.sleep(WORKERS_POLL_S)
            with contextlib.suppress(Exception):
                await self._refresh_workers()

    async def _refresh_workers(self) -> None:
        before = self._fleet()
        self.live_workers = await live_worker_states(self.redis)
        if self._fleet() != before and self.on_capacity:
            self.on_capacity()  # a worker joined, left or changed: more may be admitted now

    def _fleet(self) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
        """Who serves what: what `capacity` and `admits` decide on."""
        return [
            (str(w.get("id")), tuple(w.get("ops", ())), tuple(w.get("lanes", ())))
            for w in self.live_workers
        ]

    # ---- orders

    async def call(self, op: str, method: str, *args: Any) -> Any:
        if op == "" and method == "resident_models":  # each worker's, from its heartbeat
            return [
                ResidentInfo(**{**model, "name": f"{worker.get('id')}/{model['name']}"})
                for worker in self.live_workers
                for model in worker.get("models", ())
            ]
        return await super().call(op, method, *args)

    def _send(self, order: Order) -> None:
        if not self._started:
            raise ServiceError("the Redis engine has stopped")
        if isinstance(order, RunBatch | Call):
            self._orders[self._key(order)] = order
            self._start_sending(self._kick(order))
        elif isinstance(order, Cancel):
            self._start_sending(self._cancel(order))
        elif isinstance(order, WarmUp):
            log.debug("warm-up is the workers' own (vitrina worker --preload)")

    def _start_sending(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    @staticmethod
    def _key(order: RunBatch | Call) -> tuple[str, int]:
        return (
            ("batch", order.batch_id) if isinstance(order, RunBatch) else ("call", order.call_id)
        )

    async def _kick(self, order: RunBatch | Call) -> None:
        key = self._key(order)
        try:
            photos: dict[str, str] = {}
            if isinstance(order, RunBatch):
                for request in order.requests:
                    if request.has_photo:  # a /find or /groups request carries none
                        photos[str(request.image_path)] = await self._upload(request.image_path)
            payload = RemoteOrder(self.bot, order, photos)
            broker = self.brokers[payload.lane]
            await AsyncKicker(TASK, broker, {}).kiq(payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis unreachable, an unreadable photo: this job fails
            log.warning("could not queue %s %s: %s", key[0], order.op, exc)
            error = exc if isinstance(exc, ServiceError) else ServiceError(f"queue: {exc}")
            self._finish(key, error)

    async def _upload(self, path: Path) -> str:
        data = await asyncio.to_thread(path.read_bytes)
        digest = hashlib.sha256(data).hexdigest()
        if self.shared_dir is not None:  # the workers read it there, in place
            await asyncio.to_thread(place_photo, self.shared_dir, path, digest)
            return digest
        key = photo_key(digest)
        if not await self.redis.expire(key, PHOTO_TTL_S):  # already there: TTL renewed
            await self.redis.set(key, data, ex=PHOTO_TTL_S)
        return digest

    async def _cancel(self, order: Cancel) -> None:
        with contextlib.suppress(Exception):
            key = cancelled_key(self.bot, order.batch_id)
            await self.redis.sadd(key, order.job_id)
            await self.redis.expire(key, RESULT_TTL_S)
            await self.redis.publish(
                CANCEL_CHANNEL, pack((self.bot, order.batch_id, order.job_id))
            )

    # ---- results and progress

    async def _notice(self, data: bytes) -> None:
        notice: Notice = unpack(data)
        if notice.kind == "progress":
            self._dispatch(Progress(notice.number, notice.fraction, notice.step, notice.total))
        else:
            await self._fetch((notice.result_kind, notice.number))

    async def _poll_results(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            for key in list(self._pending):
                with contextlib.suppress(Exception):
                    await self._fetch(key)

    async def _fetch(self, key: tuple[str, int]) -> None:
        if key not in self._pending or key in self._fetching:
            return  # answered already, or being read (a notice and the poll both saw it)
        self._fetching.add(key)
        try:
            data = await self.redis.get(result_key(self.bot, *key))
            if data is None:
                return
            worker = ""
            try:  # PNG decoding (and with SHARED_DIR, file reads): off the event loop
                worker, value = await asyncio.to_thread(unpack, data, self.shared_dir)
            except Exception as exc:  # a class this bot cannot load: that job fails
                value = ServiceError(f"unreadable result: {exc}")
            self._finish(key, value, worker)
        finally:
            self._fetching.discard(key)

    def _finish(self, key: tuple[str, int], value: Any, worker: str = "") -> None:
        self._orders.pop(key, None)
        pending = self._pending.get(key)
        if pending is None or pending.future.done():
            return
        if worker:
            self.answered_by[worker] += 1
        if key[0] == "batch":
            if isinstance(value, BaseException):
                value = [value] * pending.size
            self._dispatch(BatchDone(key[1], list(value)))
        elif isinstance(value, CallDone):
            self._dispatch(CallDone(key[1], value.value, value.error))
        else:
            error = value if isinstance(value, BaseException) else ServiceError(str(value))
            self._dispatch(CallDone(key[1], error=error))
