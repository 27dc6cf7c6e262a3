"""The liveness half of `vitrina worker` (a mixin of `RedisWorker`): its heartbeat, and
what it learns from everybody else's.

Every visibility/4 seconds a worker publishes what it serves and holds (`worker:<id>`),
keeps its own unacknowledged messages fresh so a long diffusion is never reclaimed, kicks a
no-op message when another worker's message went stale (so a free reader reclaims it), and
cancels the jobs it runs for a bot whose heartbeat (`alive:<bot>`) has lapsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from taskiq.kicker import AsyncKicker
from taskiq_redis import RedisStreamBroker

from services.operations import OperationSet
from services.worker.messages import Cancel, RunBatch
from services.worker.redis_protocol import (
    BOT_BEAT_S,
    GROUP,
    PING,
    RemoteOrder,
    bot_alive_key,
    live_worker_states,
    stream,
    worker_key,
)
from services.worker.runner import BatchRunner

log = logging.getLogger("vitrina.worker")


def free_device_memory(device: str) -> int | None:
    """Free bytes on a CUDA device (None on CPU: no budget to check)."""
    if not device.startswith("cuda"):
        return None
    import torch  # the worker owns torch; imported lazily

    free, _total = torch.cuda.mem_get_info(torch.device(device))
    return int(free)


class WorkerLiveness:
    """Heartbeats out and in; `RedisWorker` provides the attributes declared here."""

    id: str
    device: str
    ops: set[str]
    lanes: tuple[str, ...]
    operations: OperationSet
    visibility_s: float
    identity: dict[str, Any] | None
    redis: aioredis.Redis
    brokers: dict[str, RedisStreamBroker]
    runner: BatchRunner
    served: dict[str, int]
    busy: dict[str, str | None]
    _local: dict[tuple[str, int], RemoteOrder]
    _remote: dict[tuple[str, int], int]
    _orphaned: set[tuple[str, int]]
    _bot_missing: dict[str, float]

    async def _heartbeat(self) -> None:
        interval = max(0.2, self.visibility_s / 4)
        while True:
            with contextlib.suppress(Exception):  # Redis away for a moment: try again
                await self._beat(interval)
            await asyncio.sleep(interval)

    async def _beat(self, interval: float) -> None:
        free = await asyncio.to_thread(free_device_memory, self.device)
        missing = {op: self.operations[op].missing_weights() for op in sorted(self.ops)}
        state = {
            "missing": missing,
            "models": await asyncio.to_thread(self._models),
            "identity": self.identity,
            "id": self.id,
            "device": self.device,
            "ops": sorted(self.ops),
            "lanes": list(self.lanes),
            "served": self.served,
            "busy": self.busy,
            "free_bytes": free,
            "at": time.time(),
        }
        await self.redis.set(
            worker_key(self.id), json.dumps(state), ex=max(2, int(interval * 3 + 1))
        )
        await self._cancel_orphans()
        for lane, broker in self.brokers.items():  # keep what we hold from being reclaimed
            pending = await self.redis.xpending_range(
                stream(lane), GROUP, min="-", max="+", count=10, consumername=broker.consumer_name
            )
            ids = [entry["message_id"] for entry in pending]
            if ids:
                await self.redis.xclaim(
                    stream(lane), GROUP, broker.consumer_name, 0, ids, justid=True
                )
            elif await self._orphans(lane):
                # taskiq-redis reclaims (XAUTOCLAIM) only right after its XREADGROUP got a
                # new message: a no-op message wakes a free worker's reader up to do it.
                await AsyncKicker(PING, broker, {}).kiq()

    def _models(self) -> list[dict[str, Any]]:
        """The models loaded now (read from the heartbeat thread; a model being loaded or
        unloaded at this moment may be missed until the next beat)."""
        residency = self.operations.residency
        if residency is None:
            return []
        try:
            return [dataclasses.asdict(m) for m in residency.snapshot() if m.loaded]
        except Exception:  # a model changing under us: next beat
            return []

    async def _cancel_orphans(self) -> None:
        """Cancel the running batches whose bot stopped beating (it re-runs them itself).
        Missing for a few of its beats, not once: Redis may just have come back empty."""
        now = time.monotonic()
        for (bot, batch), local in list(self._remote.items()):
            if (bot, batch) in self._orphaned:
                continue
            if await self.redis.exists(bot_alive_key(bot)):
                self._bot_missing.pop(bot, None)
                continue
            if now - self._bot_missing.setdefault(bot, now) < 3 * BOT_BEAT_S:
                continue
            payload = self._local.get(("batch", local))
            if payload is None or not isinstance(payload.order, RunBatch):
                continue
            log.info("cancelling %s batch %s: its bot %s is gone", payload.op, batch, bot)
            self._orphaned.add((bot, batch))
            self._bot_missing.pop(bot, None)
            for job_id in payload.order.job_ids:
                self.runner.submit(Cancel(local, job_id))

    async def _orphans(self, lane: str) -> bool:
        """A message some worker has held silently for longer than the visibility timeout."""
        stale = await self.redis.xpending_range(
            stream(lane), GROUP, min="-", max="+", count=1, idle=int(self.visibility_s * 1000)
        )
        return bool(stale)

    async def _bot_alive(self, bot: str) -> bool:
        """Its heartbeat is there, or comes back within a few of its beats (Redis was just
        restarted empty: the bot sets it again and sends its orders again)."""
        for attempt in range(3):
            if await self.redis.exists(bot_alive_key(bot)):
                return True
            if attempt < 2:
                await asyncio.sleep(BOT_BEAT_S * 1.5)
        return False

    async def _others_serving(self, payload: RemoteOrder) -> int:
        """Live workers besides this one that serve the order's op in its lane."""
        return sum(
            state.get("id") != self.id
            and payload.op in state.get("ops", ())
            and payload.lane in state.get("lanes", ())
            for state in await live_worker_states(self.redis)
        )


async def ping() -> None:
    """The no-op task that wakes a reader up (see `_beat`)."""
