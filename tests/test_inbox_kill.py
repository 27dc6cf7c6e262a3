"""kill -9 at the moment getUpdates has confirmed a burst of photos: after a restart every
photo is answered, once. Before the inbox, aiogram's polling confirmed a batch before its
handlers had stored anything, and a kill right then lost those photos for good."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.emulator import BotAPIEmulator
from tests.test_kill import _env, _start
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PHOTOS = 8


def _rows(database: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(database) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


async def test_kill_at_the_confirming_getupdates_loses_no_photo(
    tmp_path: Path, tiny_weights: Path, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    database = tmp_path / "data" / "vitrina.sqlite3"
    env = _env(emulator, tiny_weights, database) | {"MODEL_WORKER": "thread"}
    process = await _start(env, tmp_path)
    killed: list[int] = []
    try:
        emulator.user(1, "en").send_text("/start")
        await emulator.wait_for_message(lambda r: r["chat_id"] == 1, timeout=90)
        user = emulator.user(300, "en")
        images = [photos[name] for name in ("coffee", "chelsea", "astronaut", "rocket")] * 2
        sent = [user.send_photo(image, caption="/tag") for image in images]  # one batch
        pid = process.pid

        def kill() -> None:  # inside the emulator, before that getUpdates is answered
            os.kill(pid, signal.SIGKILL)
            killed.append(len(_rows(database, "SELECT * FROM inbox")))

        emulator.on_confirmed(emulator.last_update_id, kill)
        await asyncio.wait_for(process.wait(), 90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert killed, "the bot died before it confirmed the burst"
    # the moment Telegram forgot them, every update of the burst was in the inbox
    assert killed[0] >= PHOTOS + 1
    answered_before = sum("•" in (r["text"] or "") for r in emulator.bot_messages)

    def settled() -> bool:
        jobs = _rows(database, "SELECT status, delivered FROM jobs")
        inbox = _rows(database, "SELECT state FROM inbox")
        return (
            len(jobs) == PHOTOS
            and all(job == ("done", 1) for job in jobs)
            and all(state == ("done",) for state in inbox)
        )

    def state() -> str:
        log = tmp_path / "bot.log"
        tail = log.read_text()[-3000:] if log.exists() else ""
        return f"{_rows(database, 'SELECT id, status, delivered FROM jobs')}\n{tail}"

    process = await _start(env, tmp_path)
    try:
        await eventually(settled, 180, interval=0.1, message=state)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    answers = Counter(
        r["reply_to_message_id"] for r in emulator.bot_messages if "•" in (r["text"] or "")
    )
    assert {m["message_id"] for m in sent} == set(answers), answers
    assert all(count == 1 for count in answers.values()), answers  # each exactly once
    assert len(_rows(database, "SELECT * FROM photos")) == PHOTOS
    assert answered_before < PHOTOS
