"""The Bot API misbehaves (429, 5xx, a proxy's HTML page, dropped connections) on sends and
downloads: the bot survives and every result is eventually delivered."""

from __future__ import annotations

import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e


async def test_faults_on_downloads_and_sends_are_survived(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    await start_bot()
    emulator.fail("getFile", "503")
    emulator.fail("file", "drop", "500")
    emulator.fail("sendMessage", "502html", "drop", "500")
    emulator.fail("editMessageText", "drop")
    emulator.flood("sendMessage", times=1, retry_after=1)
    users = [emulator.user(8000 + i, "en") for i in range(3)]
    for user in users:
        user.send_photo(photos["coffee"], caption="/tag")
    for user in users:
        await user.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=40)
    served = {fault for _, fault in emulator.faults_served}
    assert served >= {"503", "drop", "500", "502html"}
    assert emulator.server_errors == []


async def test_a_result_that_cannot_be_sent_stays_and_is_shown_again(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    """sendPhoto keeps failing past every retry: the result stays stored, the progress
    message says so with Show again, and the button delivers it once sending works."""
    app = await start_bot(EDIT_STEPS="2", EDIT_MAX_SIDE="64")
    user = emulator.user(8200, "en")
    emulator.fail("sendPhoto", *["500"] * 5)  # as many as the retry middleware tries
    user.send_photo(photos["coffee"], caption="/night")
    notice = await user.wait_for_message(
        lambda r: "sending it failed" in (r["text"] or ""), timeout=60
    )
    job = await app.db.get_job(1)
    assert job is not None and job.status == "done"
    assert await app.db.get_result(job.id) is not None
    assert not any(r["method"] == "sendPhoto" for r in user.bot_messages)
    show = next(d for t, d in emulator.buttons(notice) if "Show again" in t)
    before = len(emulator.bot_messages)
    await emulator.wait_for_callback_answer(user.press_button(notice, show))
    photo = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert any(d.startswith(f"r:{job.id}:") for _, d in emulator.buttons(photo))
    assert sum(r["method"] == "sendPhoto" for r in user.bot_messages) == 1
