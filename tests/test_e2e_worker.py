"""The bot with its model worker in a process of its own (MODEL_WORKER=process, the default):
a /tag overtakes a running edit, and a worker killed mid-job costs that job only."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from bot.storage import JobStatus
from services.worker.process import ProcessEngine
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e
Json = dict[str, Any]


def _action(keyboard: Json, action: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(keyboard) if d.endswith(f":{action}"))


async def test_worker_process_lanes_and_death(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    # an edit long enough that the /tag below (its first CLIP load included) always overtakes
    # it on a loaded machine: the edit never finishes, the worker is killed under it
    app = await start_bot(MODEL_WORKER="process", EDIT_STEPS="5000", EDIT_MAX_SIDE="64")
    engine = app.services.engine
    assert isinstance(engine, ProcessEngine) and engine.pid != os.getpid()
    user = emulator.user(50)
    sent = user.send_photo(photos["coffee"])
    keyboard = await user.wait_for_message(
        lambda r: r["reply_to_message_id"] == sent["message_id"] and r["reply_markup"],
        timeout=30,
    )
    before = len(emulator.bot_messages)
    user.press_button(keyboard, _action(keyboard, "night"))
    progress = await user.wait_for_message(lambda r: "Ночь" in (r["text"] or ""), after=before)
    await emulator.wait_for_edit(
        progress["message_id"], lambda r: "шаг" in (r["text"] or ""), timeout=120
    )
    # the edit is denoising in the worker process; a /tag now is answered before it ends
    user.press_button(keyboard, _action(keyboard, "tag"))
    tags = await user.wait_for_message(
        lambda r: "Теги" in (r["text"] or "") and "•" in (r["text"] or ""),
        after=before,
        timeout=60,
    )
    assert tags["text"].count("•") == 5
    night = await app.db.get_job(1)
    assert night is not None and night.op == "night" and night.status is JobStatus.RUNNING

    # the worker dies mid-edit (the OOM killer, a segfault): that job fails with a short
    # answer, a new worker starts, and the bot goes on serving
    first_pid = engine.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    await emulator.wait_for_edit(
        progress["message_id"], lambda r: "не получилось" in (r["text"] or ""), timeout=30
    )
    assert (await app.db.get_job(1)).status is JobStatus.FAILED  # type: ignore[union-attr]
    after_death = len(emulator.bot_messages)
    user.press_button(keyboard, _action(keyboard, "tag"))
    again = await user.wait_for_message(
        lambda r: "Теги" in (r["text"] or "") and "•" in (r["text"] or ""),
        after=after_death,
        timeout=120,
    )
    assert again["text"] == tags["text"]
    assert engine.pid not in (None, first_pid) and engine.restarts == 1
