"""Faults inside: a full disk, a read-only database, a model that fails to load."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "failure",
    [
        sqlite3.OperationalError("attempt to write a readonly database"),
        sqlite3.OperationalError("database or disk is full"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
    ids=["read-only database", "database full", "disk full"],
)
async def test_storage_failures_say_temporarily_unavailable(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    app = await start_bot()

    async def failing(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(app.db, "add_photo", failing)
    user = emulator.user(9301, "en")
    user.send_photo(photos["coffee"])
    answer = await user.wait_for_message()
    assert answer["text"].startswith("Temporarily unavailable")
    assert "sqlite" not in answer["text"].lower() and "errno" not in answer["text"].lower()
    monkeypatch.undo()  # the disk is fine again: the next photo works
    user.send_photo(photos["coffee"], caption="/tag")
    await user.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=20)


async def test_a_model_that_fails_to_load_marks_only_its_feature_unavailable(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    tiny_weights: Path,
    tmp_path: Path,
) -> None:
    import shutil

    weights = tmp_path / "weights"
    shutil.copytree(tiny_weights, weights)
    (weights / "clip" / "config.json").write_text("{ not json")  # a corrupt download
    app = await start_bot(WEIGHTS_DIR=str(weights), ADMIN_IDS="9400")
    admin = emulator.user(9400, "en")
    admin.send_text("/start")
    await admin.wait_for_message()
    user = emulator.user(9401, "en")
    user.send_photo(photos["coffee"], caption="/tag")
    answer = await user.wait_for_message(lambda r: "unavailable" in (r["text"] or ""))
    assert "Traceback" not in answer["text"]
    before = len(emulator.bot_messages)
    user.send_text("/tag")  # refused at once now, without a job
    await user.wait_for_message(lambda r: "unavailable" in (r["text"] or ""), after=before)
    assert len(await app.db._jobs("1 = 1", ())) == 1
    alerts = [r for r in admin.bot_messages if "clip" in (r["text"] or "").lower()]
    assert len(alerts) == 1  # told once


async def test_a_full_disk_when_a_result_is_stored_is_not_silence(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = await start_bot()

    async def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(app.db, "save_result", full)
    user = emulator.user(9310, "en")
    user.send_photo(photos["coffee"], caption="/tag")
    answer = await user.wait_for_message(lambda r: "Temporarily unavailable" in (r["text"] or ""))
    assert "sqlite" not in answer["text"].lower()


async def test_a_button_whose_handler_fails_is_answered_once_with_the_error(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiogram's CallbackAnswerMiddleware answers a press after its handler; when the handler
    raises, the error handler's alert is the one answer (not an empty one and a refused one)."""
    app = await start_bot()
    user = emulator.user(9320, "en")
    sent = user.send_photo(photos["coffee"])
    keyboard = await emulator.wait_for_message(
        lambda r: r["reply_to_message_id"] == sent["message_id"] and r["reply_markup"]
    )
    tag = next(data for _, data in emulator.buttons(keyboard) if data.endswith(":tag"))

    async def failing(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(app.db, "get_photo", failing)
    query = user.press_button(keyboard, tag)
    answer = await emulator.wait_for_callback_answer(query)
    assert answer["text"].startswith("Temporarily unavailable")
    assert answer.get("show_alert") in (True, "true")
    calls = [
        params
        for method, params in emulator.calls
        if method == "answerCallbackQuery" and str(params.get("callback_query_id")) == query
    ]
    assert len(calls) == 1
