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
