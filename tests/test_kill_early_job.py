"""kill -9 after a captioned photo's job was submitted and before the photo's row (and so
the job's) was stored (issue 21: the job starts as soon as the image is checked): after a
restart the update is replayed from the inbox and answered exactly once."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.emulator import BotAPIEmulator
from tests.test_kill import _env, _start
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The bot, except that storing a fetched photo's row waits until a job was submitted to the
# model service, then kills the process (SIGKILL: nothing runs after it).
DIES_BEFORE_THE_ROW = r"""
import asyncio, os, signal
from services.scheduler import ModelServices
submitted = asyncio.Event()
_submit = ModelServices.submit
def submit(self, request):
    handle = _submit(self, request)
    submitted.set()
    return handle
ModelServices.submit = submit
import bot.intake
async def keep(db, incoming):
    await submitted.wait()
    os.kill(os.getpid(), signal.SIGKILL)
bot.intake.keep = keep
from bot.__main__ import run
raise SystemExit(run([]))
"""


def _rows(database: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(database) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


async def test_kill_between_the_job_start_and_its_rows_answers_once(
    tmp_path: Path, tiny_weights: Path, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    database = tmp_path / "data" / "vitrina.sqlite3"
    env = _env(emulator, tiny_weights, database) | {"MODEL_WORKER": "thread"}
    log = (tmp_path / "bot.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DIES_BEFORE_THE_ROW, cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        emulator.user(1, "en").send_text("/start")
        await emulator.wait_for_message(lambda r: r["chat_id"] == 1, timeout=90)
        user = emulator.user(400, "en")
        sent = user.send_photo(photos["coffee"], caption="/tag")
        await asyncio.wait_for(process.wait(), 90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL
    # died with the job submitted and nothing of it stored: no photo row, no job row
    assert _rows(database, "SELECT * FROM photos") == []
    assert _rows(database, "SELECT * FROM jobs") == []
    assert not [r for r in emulator.bot_messages if r["chat_id"] == 400]

    process = await _start(env, tmp_path)  # the bot as it is
    try:
        await eventually(
            lambda: _rows(database, "SELECT status, delivered FROM jobs") == [("done", 1)],
            120,
            interval=0.1,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    answers = Counter(
        r["reply_to_message_id"] for r in emulator.bot_messages if "•" in (r["text"] or "")
    )
    assert answers == {sent["message_id"]: 1}  # answered, exactly once
    assert len(_rows(database, "SELECT * FROM photos")) == 1
    assert _rows(database, "SELECT state FROM inbox WHERE state != 'done'") == []
