"""One user floods the bot; another user's work goes on as if nothing happened."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator, FakeUser

pytestmark = pytest.mark.e2e
log = logging.getLogger("vitrina.tests")


async def _five_tags(user: FakeUser, photos: dict[str, bytes]) -> float:
    """Seconds until five photos sent with /tag all have their tags."""
    before = len(user.emulator.bot_messages)
    started = time.perf_counter()
    names = ["coffee", "chelsea", "astronaut", "rocket", "coffee"]
    for name in names:
        user.send_photo(photos[name], caption="/tag")
    await user.wait_for_messages(
        lambda r: "•" in (r["text"] or ""), len(names), after=before, timeout=60
    )
    return time.perf_counter() - started


async def test_a_flood_is_throttled_and_does_not_slow_others(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    await start_bot()
    calm, flooder = emulator.user(9001, "en"), emulator.user(9002, "en")
    await _five_tags(calm, photos)  # warm-up: model loaded, caches filled
    idle = await _five_tags(calm, photos)

    for index in range(200):
        flooder.send_text(f"spam {index}")
    loaded = await _five_tags(calm, photos)
    await flooder.wait_for_message(lambda r: "Too many messages" in (r["text"] or ""))
    await asyncio.sleep(0.5)  # nothing more arrives: the bounds below count every reply

    slow_downs = [r for r in flooder.bot_messages if "Too many messages" in (r["text"] or "")]
    log.warning(
        f"flood: idle {idle:.2f}s, during a 200-message flood {loaded:.2f}s "
        f"({loaded / idle:.2f}x); flooder got {len(flooder.bot_messages)} replies, "
        f"{len(slow_downs)} 'slow down'"
    )
    assert 1 <= len(slow_downs) <= 2  # one per burst, not one per message
    assert len(flooder.bot_messages) <= 20  # the bucket's burst + the warning
    assert loaded <= 2 * idle + 0.5
