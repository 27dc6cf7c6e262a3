"""kill -9 in the middle of an upload to Wildberries (issue 30): the bot is a real process
against the emulator and the WB double; WB has taken the 4th photo and the bot is killed
before it hears so. After the restart the run goes on from the stored steps, the card read
back decides the 4th, and no photo reaches a card twice."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.emulator import BotAPIEmulator
from tests.test_e2e_publish import (
    SECRET_KEY,
    connect,
    press_mode,
    publish_menu,
    send_set,
    six_cards,
)
from tests.wb_double import WbDouble, running_wb

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
async def wb() -> AsyncIterator[WbDouble]:
    async with running_wb(six_cards()) as double:
        yield double


def _env(emulator: BotAPIEmulator, wb: WbDouble, weights: Path, database: Path) -> dict:
    return {k: v for k, v in os.environ.items() if k != "WEIGHTS_DIR"} | {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "WEIGHTS_DIR": str(weights),
        "DATABASE_PATH": str(database),
        "DEVICE": "cpu",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "INFO",
        "MODEL_WORKER": "thread",
        "OMP_NUM_THREADS": "1",
        "PROGRESS_INTERVAL_S": "0",
        "SET_WINDOW_S": "2",
        "SECRET_KEY": SECRET_KEY,
        "WB_CONTENT_API_URL": wb.base_url,
        "WB_RATE_SCALE": "0.02",
    }


async def _start(env: dict, cwd: Path) -> asyncio.subprocess.Process:
    log = (cwd / "bot.log").open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env, stdout=log, stderr=log
    )


async def test_sigkill_mid_upload_resumes_and_sends_no_photo_twice(
    tmp_path: Path, tiny_weights: Path, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    env = _env(emulator, wb, tiny_weights, tmp_path / "data" / "vitrina.sqlite3")
    user = emulator.user(7401, "en")
    process = await _start(env, tmp_path)
    try:
        await emulator.wait_for_calls("getUpdates", timeout=90)
        await connect(user, emulator)
        photos = await send_set(user)
        menu = await publish_menu(user, emulator)
        wb.hold_at_upload = 4
        before = len(emulator.bot_messages)
        press_mode(user, emulator, menu, "add")
        await asyncio.wait_for(wb.held.wait(), 60)
    finally:
        process.kill()  # SIGKILL: no shutdown handler runs
        await process.wait()
    assert len(wb.uploads) == 4
    wb.hold_at_upload = None

    process = await _start(env, tmp_path)
    try:
        summary = await user.wait_for_message(
            lambda r: "Photos uploaded" in (r["text"] or ""), after=before, timeout=120
        )
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    assert summary["text"] == "Photos uploaded: 6, to 6 cards."
    assert len(wb.uploads) == 6  # the 4th, which WB had, was not sent again
    for i, data in enumerate(photos, 1):
        assert wb.cards[2000 + i].photos[2:] == [hashlib.sha256(data).hexdigest()]
