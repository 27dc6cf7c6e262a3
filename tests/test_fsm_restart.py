"""Dialogue state lives in SQLite: the Edit button's question survives a restart (it lived
in aiogram's MemoryStorage and was lost at every deploy)."""

from __future__ import annotations

import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.test_e2e_edits import FAST, _action, _size, contains, keyboard_for

pytestmark = pytest.mark.e2e


async def test_edit_pressed_restart_instruction_edited_image(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(**FAST)
    user = emulator.user(61, "en")
    sent = user.send_photo(photos["chelsea"])
    keyboard = await keyboard_for(emulator, sent)
    before = len(emulator.bot_messages)
    user.press_button(keyboard, _action(keyboard, "edit"))
    await user.wait_for_message(contains("next message"), after=before)
    await app.stop()  # a deploy

    app = await start_bot(**FAST)
    before = len(emulator.bot_messages)
    user.send_text("put a vase of tulips on the table")
    result = await user.wait_for_message(
        lambda r: r["method"] == "sendPhoto", after=before, timeout=30
    )
    assert result["reply_to_message_id"] == sent["message_id"]
    assert _size(result["photo_bytes"]) == _size(photos["chelsea"])
    job = await app.db.get_job(1)
    assert job.op == "edit" and job.params == {"prompt": "put a vase of tulips on the table"}
    assert await app.db.db.execute_fetchall("SELECT * FROM fsm") == []  # answered: cleared


async def test_a_sets_edit_question_survives_a_restart(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(**FAST)
    user = emulator.user(62, "en")
    user.send_album([photos["coffee"], photos["chelsea"]])
    menu = await user.wait_for_message(contains("2 photos"), timeout=20)
    before = len(emulator.bot_messages)
    user.press_button(menu, next(d for _, d in emulator.buttons(menu) if d.endswith(":edit")))
    await user.wait_for_message(after=before)
    await app.stop()

    await start_bot(**FAST)
    before = len(emulator.bot_messages)
    user.send_text("make it snowy")
    images = await user.wait_for_messages(
        lambda r: r["method"] in ("sendPhoto", "sendMediaGroup"), 2, after=before, timeout=60
    )
    assert len(images) == 2
