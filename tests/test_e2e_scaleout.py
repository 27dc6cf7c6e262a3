"""SERVICE_BACKEND=redis://: the real bot against the emulator, two `vitrina worker`
processes (CPU, tiny weights, one torch thread each) and a real redis-server.

Mixed jobs are all answered once and spread over both workers; a worker SIGKILLed mid-job
loses nothing (its job is reclaimed by the other after REDIS_VISIBILITY_S); Cancel pressed
in Telegram reaches the job running on a worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.storage import JobStatus
from services.worker.redis_engine import RedisEngine
from services.worker.redis_protocol import GROUP, stream
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.redis_server import (
    free_port,
    next_heartbeats,
    start_worker,
    stop_worker,
    wait_for_workers,
)
from tests.test_metrics import scrape
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
Json = dict[str, Any]
WORKERS = ("w1", "w2")
VISIBILITY_S = 3.0
EDIT_STEPS = "100"  # the workers' (and the bot's) nights: long enough to catch and cancel
METRICS_PORT = {"w1": free_port(), "w2": free_port()}  # each worker's /metrics


@pytest.fixture
def workers(redis_url: str, tiny_weights: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    url = redis_url[:-1] + "2"  # a database of its own
    processes = {
        name: start_worker(
            url,
            tiny_weights,
            name,
            visibility_s=VISIBILITY_S,
            env={"EDIT_STEPS": EDIT_STEPS, "METRICS_PORT": str(METRICS_PORT[name])},
        )
        for name in WORKERS
    }
    try:
        wait_for_workers(url, set(WORKERS), 90, tuple(processes.values()))
        yield url, processes
    finally:
        for process in processes.values():
            stop_worker(process)


def _action(keyboard: Json, action: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(keyboard) if d.endswith(f":{action}"))


def _is_tags(record: Json) -> bool:
    return "Теги" in (record["text"] or "") and "•" in (record["text"] or "")


def _busy_worker(url: str, lane: str) -> str | None:
    """The worker holding a message of this lane (read, not yet acknowledged)."""
    client = redis.Redis.from_url(url)
    try:
        pending = client.xpending_range(stream(lane), GROUP, min="-", max="+", count=1)
    finally:
        client.close()
    return pending[0]["consumer"].decode().split(":")[0] if pending else None


async def _all_finished(app: Any, ids: range, timeout: float) -> list[JobStatus]:
    statuses: list[JobStatus | None] = []

    async def finished() -> bool:
        jobs = [await app.db.get_job(i) for i in ids]
        statuses[:] = [job.status if job is not None else None for job in jobs]
        return all(s in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED) for s in statuses)

    await eventually(
        finished, timeout, interval=0.1, message=lambda: f"jobs {list(ids)} still {statuses}"
    )
    return statuses  # type: ignore[return-value]


async def test_two_workers_share_jobs_survive_a_kill_and_cancel(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    workers: tuple[str, dict[str, subprocess.Popen[bytes]]],
) -> None:
    url, processes = workers
    app = await start_bot(
        SERVICE_BACKEND=url,
        REDIS_VISIBILITY_S=str(VISIBILITY_S),
        EDIT_STEPS=EDIT_STEPS,
        EDIT_MAX_SIDE="64",
        ADMIN_IDS="99",
    )
    engine = app.services.engine
    assert isinstance(engine, RedisEngine)
    assert {w["id"] for w in engine.live_workers} == set(WORKERS)
    admin = emulator.user(99, "en")
    admin.send_text("/stats")
    stats = (await admin.wait_for_message(lambda r: "Workers" in (r["text"] or "")))["text"]
    assert "Workers (2):" in stats and "• w1 · cpu · idle" in stats and "• w2 · cpu" in stats

    # 10 mixed jobs from 5 users: a /tag and a /night each
    users, keyboards = [], []
    for number, name in enumerate(["coffee", "chelsea", "astronaut", "rocket", "coffee"]):
        user = emulator.user(70 + number)
        sent = user.send_photo(photos[name])
        keyboards.append(
            await user.wait_for_message(
                lambda r, s=sent: (
                    r["reply_to_message_id"] == s["message_id"] and r["reply_markup"]
                ),
                timeout=30,
            )
        )
        users.append(user)
    for user, keyboard in zip(users, keyboards, strict=True):
        user.press_button(keyboard, _action(keyboard, "tag"))
        user.press_button(keyboard, _action(keyboard, "night"))
    statuses = await _all_finished(app, range(1, 11), 240)
    assert statuses == [JobStatus.DONE] * 10
    for keyboard in keyboards:
        chat = [r for r in emulator.bot_messages if r["chat_id"] == keyboard["chat_id"]]
        assert sum(map(_is_tags, chat)) == 1, "a tag answered twice or not at all"
        assert sum(r["method"] == "sendPhoto" for r in chat) == 1, "a night answered twice"
    assert set(engine.answered_by) == set(WORKERS), engine.answered_by  # both worked
    # each worker's /metrics counts the jobs it ran and the models it loaded
    counted = 0.0
    for name in WORKERS:
        _, samples = await scrape(METRICS_PORT[name])
        counted += sum(
            value
            for (metric, labels), value in samples.items()
            if metric == "vitrina_jobs_total" and ("outcome", "done") in labels
        )
        loads = [v for (m, _), v in samples.items() if m == "vitrina_model_loads_total"]
        assert loads and sum(loads) >= 1, samples
    assert counted == 10
    await next_heartbeats(engine)  # the models each worker loaded for these jobs
    before = len(emulator.bot_messages)
    admin.send_text("/stats")
    stats = (await admin.wait_for_message(lambda r: "Workers" in (r["text"] or ""), after=before))[
        "text"
    ]
    assert "w1/clip" in stats or "w2/clip" in stats, stats  # the models each worker holds

    # a worker dies mid-edit: the other one finishes that job; nothing is answered twice
    user, keyboard = users[0], keyboards[0]
    user.press_button(keyboard, _action(keyboard, "night"))

    async def running_on() -> str | None:
        victim = _busy_worker(url, "diffusion")
        if victim is None:
            job = await app.db.get_job(11)
            assert job is None or job.status is not JobStatus.DONE, f"never seen running: {job}"
        return victim

    victim = await eventually(running_on, 60, message="the night never seen running on a worker")
    os.kill(processes[victim].pid, signal.SIGKILL)
    survivor = next(name for name in WORKERS if name != victim)
    before = engine.answered_by[survivor]
    assert await _all_finished(app, range(11, 12), 120) == [JobStatus.DONE]
    assert engine.answered_by[survivor] == before + 1
    chat = [r for r in emulator.bot_messages if r["chat_id"] == keyboard["chat_id"]]
    assert sum(r["method"] == "sendPhoto" for r in chat) == 2  # the first night and this one

    # Cancel pressed in Telegram reaches the night running on the surviving worker
    before = len(emulator.bot_messages)
    user.press_button(keyboard, _action(keyboard, "night"))
    progress = await user.wait_for_message(lambda r: "Ночь" in (r["text"] or ""), after=before)
    running = await emulator.wait_for_edit(
        progress["message_id"], lambda r: "шаг" in (r["text"] or ""), timeout=60
    )
    cancel = next(d for _, d in BotAPIEmulator.buttons(running) if d.startswith("cj:"))
    user.press_button(running, cancel)
    assert await _all_finished(app, range(12, 13), 60) == [JobStatus.CANCELLED]
