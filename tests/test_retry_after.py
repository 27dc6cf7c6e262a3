"""A 429 with a long Retry-After on a result's sendPhoto is waited out, not dropped: the
result arrives late rather than never. Time is scaled (RETRY_AFTER_SCALE, tests only): the
emulator asks for 90 s, the bot waits 0.9 s."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e
SCALE = 0.01


async def test_a_result_waits_out_a_90s_retry_after(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(RETRY_AFTER_SCALE=str(SCALE))
    loop = asyncio.get_running_loop()
    user = emulator.user(91, "en")
    emulator.flood("sendPhoto", times=1, retry_after=90)
    sent = user.send_photo(photos["coffee"], caption="/background white")
    await emulator.wait_for_calls("sendPhoto", timeout=60)  # answered 429
    refused_at = loop.time()
    result = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", timeout=30)
    assert loop.time() - refused_at >= 90 * SCALE * 0.9
    assert result["reply_to_message_id"] == sent["message_id"]
    assert len([m for m, _ in emulator.calls if m == "sendPhoto"]) == 2
    assert app.metrics.api_floods.labels("SendPhoto")._value.get() == 1
    rows = await app.db.db.execute_fetchall("SELECT status, delivered FROM jobs")
    assert [tuple(row) for row in rows] == [("done", 1)]


async def test_a_message_that_is_no_result_keeps_the_60s_bound(
    start_bot: StartBot, emulator: BotAPIEmulator
):
    """/start's answer is no result: a 90 s Retry-After is not waited out for it."""
    await start_bot(RETRY_AFTER_SCALE=str(SCALE))
    emulator.flood("sendMessage", times=1, retry_after=90)
    user = emulator.user(92, "en")
    user.send_text("/start")
    await emulator.wait_for_calls("sendMessage")
    loop = asyncio.get_running_loop()
    refused_at = loop.time()
    # given up at once (the error handler says so), not waited for
    await user.wait_for_message(lambda r: "went wrong" in (r["text"] or ""), timeout=10)
    assert loop.time() - refused_at < 90 * SCALE
    user.send_text("/help")  # the next message goes through
    await user.wait_for_message(lambda r: "What I can do" in (r["text"] or ""), timeout=10)
