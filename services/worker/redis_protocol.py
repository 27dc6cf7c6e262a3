"""What the bot and `vitrina worker` machines share over Redis (SERVICE_BACKEND=redis://).

Jobs are taskiq tasks on two RedisStreamBrokers, one stream per lane, read by the consumer
group of all workers and acknowledged after completion: a worker takes one message per lane
at a time (``xread_count=1``, one task at a time per lane), so the bot's FairQueue keeps
deciding who goes next. A message whose worker died (no ack, no heartbeat refreshing it)
is reclaimed by another worker after `visibility_s` (XAUTOCLAIM in taskiq-redis).

Keys (all under ``vitrina:``):
- ``photo:<sha256>``: a photo's bytes, with a TTL; workers keep a local copy by hash.
- ``result:<bot>:<kind>:<id>``: a pickled outcome, stored once (SET NX) with a TTL.
- ``bot:<bot>`` (pub/sub): progress and "result stored" notices for one bot process.
- ``cancel`` (pub/sub) + ``cancelled:<bot>:<batch>`` (set, TTL): Cancel orders.
- ``worker:<id>``: a worker's heartbeat (JSON, TTL): ops, lanes, models, free memory.
- ``alive:<bot>``: a bot process's heartbeat (TTL: 2 x visibility, 5..30 s). A worker drops
  the orders of a bot that stopped beating (its restart queues them again from SQLite) and
  cancels the one it is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import pickle
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from PIL import Image
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq.serializers import PickleSerializer
from taskiq_redis import RedisStreamBroker

from services.errors import BackendUnreachable
from services.operations import LANE_DIFFUSION, LANE_QUICK
from services.worker.messages import Call, RunBatch
from services.worker.redis_shared import take_result_png, write_result_png
from services.worker.redis_url import password, redacted

log = logging.getLogger("vitrina.worker")
PREFIX = "vitrina:"
GROUP = "vitrina-workers"
TASK = "vitrina.run"
PING = "vitrina.ping"  # a no-op message: wakes a reader up to reclaim a dead worker's job
LANES = (LANE_QUICK, LANE_DIFFUSION)
PHOTO_TTL_S = 24 * 3600
RESULT_TTL_S = 3600
CANCEL_CHANNEL = PREFIX + "cancel"
STREAM_MAXLEN = 10_000
BOT_BEAT_S = 1.0  # a bot's heartbeat: often, so that Redis losing it is noticed at once
REFUSAL_PAUSE_S = 0.3  # a refusing worker waits this long: one that can take it gets there
MAX_REFUSALS = 50  # re-queued this often while no other live worker could take it: it fails
MAX_REQUEUES = 2000  # the guard against two workers refusing one job to each other forever


def connection_options() -> dict[str, Any]:
    """For every Redis client here: a command that meets a dropped connection (Redis
    restarted, a network blip) reconnects and is retried instead of failing its job."""
    return {
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.1), 6),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def client(url: str) -> aioredis.Redis:
    return aioredis.from_url(url, **connection_options())


async def check_reachable(client: Any, url: str) -> None:
    """PING, or BackendUnreachable naming the server (never its password)."""
    try:
        await client.ping()
    except Exception as exc:
        reason = str(exc).replace(password(url), "***") if password(url) else str(exc)
        raise BackendUnreachable(f"cannot reach Redis at {redacted(url)}: {reason}") from None


async def subscribe(client: aioredis.Redis, channel: str) -> Any:
    """A pub/sub subscribed to `channel` (subscribe before sending what it answers)."""
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    return pubsub


async def listen_forever(
    client: aioredis.Redis,
    channel: str,
    handle: Callable[[bytes], Awaitable[None]],
    first: Any = None,
) -> None:
    """Hand every message on `channel` to `handle`, subscribing again whenever Redis is
    lost (a pub/sub does not survive a reconnect; `first`: one already subscribed)."""
    pubsub, pause = first, 0.5
    while True:
        try:
            if pubsub is None:
                pubsub = await subscribe(client, channel)
            pause = 0.5
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    await handle(message["data"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s: lost Redis (%s); subscribing again", channel, exc)
        finally:
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            pubsub = None
        await asyncio.sleep(pause)
        pause = min(pause * 2, 10.0)


def stream(lane: str) -> str:
    return f"{PREFIX}lane:{lane}"


def photo_key(digest: str) -> str:
    return f"{PREFIX}photo:{digest}"


def result_key(bot: str, kind: str, number: int) -> str:
    return f"{PREFIX}result:{bot}:{kind}:{number}"


def bot_channel(bot: str) -> str:
    return f"{PREFIX}bot:{bot}"


def cancelled_key(bot: str, batch_id: int) -> str:
    return f"{PREFIX}cancelled:{bot}:{batch_id}"


def worker_key(worker_id: str) -> str:
    return f"{PREFIX}worker:{worker_id}"


async def live_worker_states(redis: aioredis.Redis) -> list[dict[str, Any]]:
    """Every live worker's heartbeat (`worker:<id>`), sorted by worker id."""
    keys = [key async for key in redis.scan_iter(match=worker_key("*"))]
    values = await redis.mget(keys) if keys else []
    states = (json.loads(v) for v in values if v is not None)
    return sorted(states, key=lambda state: str(state.get("id")))


def bot_alive_key(bot: str) -> str:
    return f"{PREFIX}alive:{bot}"


def alive_ttl_s(visibility_s: float) -> int:
    """How long a bot's heartbeat (every BOT_BEAT_S) lasts: a bot silent this long is
    presumed dead. Twice the visibility timeout, within 5..30 s: a busy moment of the bot
    must never cost its jobs, and a crashed bot's job should not hold a GPU for long."""
    return max(5, min(30, int(2 * visibility_s + 0.999)))


@dataclass(frozen=True)
class RemoteOrder:
    """One RunBatch or Call as a task payload; photos travel as ``{path: sha256}``."""

    bot: str
    order: RunBatch | Call
    photos: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "batch" if isinstance(self.order, RunBatch) else "call"

    @property
    def number(self) -> int:
        order = self.order
        return order.batch_id if isinstance(order, RunBatch) else order.call_id

    @property
    def op(self) -> str:
        return self.order.op

    @property
    def lane(self) -> str:
        return self.order.lane if isinstance(self.order, RunBatch) else LANE_QUICK


@dataclass(frozen=True)
class Notice:
    """Published on the bot's channel: progress of a batch, or "its result is stored"."""

    kind: str  # "progress" | "done"
    result_kind: str  # "batch" | "call"
    number: int
    fraction: float = 0.0
    step: int | None = None
    total: int | None = None
    worker: str = ""


def make_broker(
    url: str,
    lane: str,
    *,
    visibility_s: float,
    consumer: str | None = None,
    xread_block_ms: int = 1000,
) -> RedisStreamBroker:
    """The lane's broker: ack after completion, one message at a time, reclaim after
    `visibility_s` of silence from the worker holding it."""
    broker = RedisStreamBroker(
        url,
        queue_name=stream(lane),
        consumer_group_name=GROUP,
        consumer_name=consumer,
        consumer_id="0",  # a group made after jobs were queued still sees them
        xread_block=xread_block_ms,
        xread_count=1,
        maxlen=STREAM_MAXLEN,  # acked entries are trimmed (approximately) past this
        idle_timeout=int(visibility_s * 1000),
        unacknowledged_batch_size=1,
        unacknowledged_lock_timeout=max(1.0, visibility_s),
        **connection_options(),
    )
    return broker.with_serializer(PickleSerializer())


# ---- outcomes: pickled, images as PNG bytes


def _png_image(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy() if image.mode == "P" else image  # type: ignore[return-value]


PNG_MODES = {"RGB", "RGBA", "L", "LA", "1"}


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, shared: Path | None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def persistent_id(self, obj: Any) -> Any:
        """With a shared folder an image is a PNG file there, named in the pickle."""
        if self.shared is None or not isinstance(obj, Image.Image) or obj.mode not in PNG_MODES:
            return None
        return ("png", write_result_png(self.shared, obj))

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Image.Image) and obj.mode in PNG_MODES:
            buffer = io.BytesIO()
            obj.save(buffer, format="PNG", compress_level=1)
            return _png_image, (buffer.getvalue(),)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: Path | None) -> None:
        super().__init__(file)
        self.shared = shared

    def persistent_load(self, pid: Any) -> Any:
        kind, name = pid
        if kind != "png" or self.shared is None:
            raise pickle.UnpicklingError("a result image in a SHARED_DIR this bot lacks")
        return take_result_png(self.shared, name)


def pack(value: Any, shared: Path | None = None) -> bytes:
    """Pickle with PIL images as PNG (lossless, smaller than raw pixels): inside the
    pickle, or with `shared` (SHARED_DIR) as files there, named in it."""
    buffer = io.BytesIO()
    _Pickler(buffer, shared).dump(value)
    return buffer.getvalue()


def unpack(data: bytes, shared: Path | None = None) -> Any:
    """The value `pack` made; images from `shared` are read once and their files removed.
    Decodes PNGs: call it off the event loop."""
    return _Unpickler(io.BytesIO(data), shared).load()  # our own Redis, our own workers
