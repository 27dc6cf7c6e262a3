"""SERVICE_BACKEND=redis://: the bot is SIGKILLed while a worker runs its job.

The bot's SQLite rows are what the user is owed: the restarted bot queues the job again and
answers it once. The worker notices that the bot which sent the running job stopped beating
and cancels it, rather than spending the GPU on a result nobody will read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest
import redis

from services.config import ServiceConfig
from services.errors import JobCancelled
from services.jobs import JobRequest, JobState
from services.scheduler import ModelServices
from services.worker.redis_protocol import GROUP, PREFIX, stream, unpack
from tests.emulator import BotAPIEmulator
from tests.redis_server import free_port, redis_server, start_worker, stop_worker, wait_for_workers
from tests.test_kill import PROMPT, _env, _result_jobs, _start
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
VISIBILITY_S = 2.0  # a bot silent for 5 s (twice this, 5 s at least) is presumed dead
SLOW = "4000"  # the first worker's diffusion outlasts the bot's death by far (~45 s idle)


def _holder(client: redis.Redis) -> str | None:
    pending = client.xpending_range(stream("diffusion"), GROUP, min="-", max="+", count=1)
    return pending[0]["consumer"].decode().split(":")[0] if pending else None


def _job(database: Path) -> tuple[str, int] | None:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT status, delivered FROM jobs").fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


async def test_a_bot_killed_mid_job_answers_it_once_after_restart(
    tmp_path: Path,
    tiny_weights: Path,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    redis_url: str,
) -> None:
    url = redis_url[:-1] + "4"  # a database of its own
    client = redis.Redis.from_url(url)
    worker = start_worker(
        url,
        tiny_weights,
        "slow",
        visibility_s=VISIBILITY_S,
        env={"BACKGROUND_STEPS": SLOW},
        log=tmp_path / "worker.log",
    )
    database = tmp_path / "data" / "vitrina.sqlite3"
    env = _env(emulator, tiny_weights, database) | {
        "SERVICE_BACKEND": url,
        "REDIS_VISIBILITY_S": str(VISIBILITY_S),
    }
    bot = None
    try:
        await asyncio.to_thread(wait_for_workers, url, {"slow"}, 90, (worker,))
        bot = await _start(env, tmp_path)
        emulator.user(300, "en").send_photo(photos["coffee"], caption=PROMPT)
        await eventually(
            lambda: _holder(client) == "slow",
            90,
            interval=0.05,
            message="the job never reached the worker",
        )
        bot.kill()  # SIGKILL: no shutdown, no Cancel sent; the job stays in Redis
        await bot.wait()
        bot = None
        # unfinished in SQLite (the bot may not have marked it running before it died)
        assert _job(database) in (("queued", 0), ("running", 0))

        # the worker sees the bot's heartbeat lapse and cancels the orphan (acknowledged)
        await eventually(
            lambda: _holder(client) is None,
            30,
            interval=0.05,
            message="the orphaned job kept running",
        )
        results = client.keys(PREFIX + "result:*:batch:*")
        assert len(results) == 1, results
        answered_by, outcomes = unpack(client.get(results[0]))
        assert answered_by == "slow" and isinstance(outcomes[0], JobCancelled), outcomes

        # a quicker worker replaces it (the re-run need not take its time), then the bot
        # restarts: SQLite says the job is owed
        stop_worker(worker)
        worker = start_worker(
            url,
            tiny_weights,
            "quick",
            visibility_s=VISIBILITY_S,
            env={"BACKGROUND_STEPS": "20"},
            log=tmp_path / "worker.log",
        )
        await asyncio.to_thread(wait_for_workers, url, {"quick"}, 90, (worker,))
        bot = await _start(env, tmp_path)
        await eventually(
            lambda: _job(database) == ("done", 1),
            180,
            interval=0.05,
            message=lambda: f"not answered after the restart: {_job(database)}",
        )
    finally:
        if bot is not None:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 60)
        stop_worker(worker)
        client.close()
    assert list(_result_jobs(emulator).values()) == [1]  # one result image, sent once
    texts = [t or "" for r in emulator.bot_messages for t in [r["text"], *r.get("edits", [])]]
    assert any("restarted" in text for text in texts)  # the user was told it resumed


async def test_the_bot_and_a_worker_carry_on_after_redis_restarts(
    tmp_path: Path,
    tiny_weights: Path,
    photos: dict[str, bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis (append-only file, as in the README's compose) goes down and comes back on its
    port: a job sent meanwhile waits (its send is retried), the worker's readers and
    Cancel/notice subscriptions reconnect, and later jobs run as before."""
    photo = tmp_path / "coffee.img"
    photo.write_bytes(photos["coffee"])
    port, folder = free_port(), tmp_path / "redis"
    server = redis_server(folder, port=port, persist=True)
    url = server.__enter__()
    worker = start_worker(
        url, tiny_weights, "phoenix", visibility_s=VISIBILITY_S, edit_max_side=192
    )
    config = ServiceConfig(tiny_weights, backend=url, redis_visibility_s=VISIBILITY_S)
    try:
        await asyncio.to_thread(wait_for_workers, url, {"phoenix"}, 90, (worker,))
        async with ModelServices(config) as services:
            first = await services.submit(JobRequest("tag", 1, photo)).result()
            server.__exit__(None, None, None)  # Redis stops
            during = services.submit(JobRequest("tag", 2, photo))
            await asyncio.sleep(1.0)  # the outage lasts a second (the scenario, not a wait)
            server = redis_server(folder, port=port, persist=True)
            server.__enter__()  # ... and is back, with its data
            assert (await asyncio.wait_for(during.result(), 60)).tags == first.tags
            for user in (3, 4):
                handle = services.submit(JobRequest("tag", user, photo))
                assert (await asyncio.wait_for(handle.result(), 30)).tags == first.tags
            night = services.submit(JobRequest("night", 5, photo, {"steps": 100}))
            await eventually(
                lambda: night.state is JobState.RUNNING and night.run_s > 0, 60, interval=0.02
            )
            night.cancel()  # reaches the worker over the re-made Cancel subscription
            with pytest.raises(JobCancelled):
                await asyncio.wait_for(night.result(), 60)

            # Redis comes back *empty*: the bot sees its heartbeat gone and sends again what
            # it had sent, so a job Redis lost is still answered
            os.kill(worker.pid, signal.SIGSTOP)  # the job waits in Redis, untaken
            client = redis.Redis.from_url(url)
            queued = client.xlen(stream("quick"))
            lost = services.submit(JobRequest("tag", 6, photo))
            await eventually(
                lambda: client.xlen(stream("quick")) > queued,
                30,
                interval=0.05,
                message="never queued",
            )
            client.close()
            server.__exit__(None, None, None)
            shutil.rmtree(folder)
            server = redis_server(folder, port=port, persist=True)
            server.__enter__()
            os.kill(worker.pid, signal.SIGCONT)
            assert (await asyncio.wait_for(lost.result(), 60)).tags == first.tags
            assert "sending 1 orders again" in caplog.text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGCONT)
        stop_worker(worker)
        server.__exit__(None, None, None)
