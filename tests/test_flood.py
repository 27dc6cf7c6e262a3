"""One user floods the bot; another user's work goes on as if nothing happened."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator, FakeUser
from tests.set_photos import action, catalogue, is_set_message, is_zip

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


async def test_a_burst_of_forty_photos_is_all_stored_in_one_set(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    """Flood control never drops a photo: 40 in a burst (past RATE_LIMIT_BURST's 15) are all
    stored and all in the set; a text right after them is not refused either."""
    app = await start_bot()
    user = emulator.user(9003, "en")
    for name, data in catalogue(40):
        user.send_document(data, name, "image/png")
    await user.wait_for_message(is_set_message(40), timeout=60)
    user.send_text("/help")
    await user.wait_for_message(lambda r: "What I can do" in (r["text"] or ""))
    photo_set = await app.db.last_set(9003, 9003)
    assert photo_set is not None and len(await app.db.set_members(photo_set.id)) == 40
    assert not any("Too many messages" in (r["text"] or "") for r in user.bot_messages)


async def test_photos_past_the_unprocessed_limit_are_refused_once_naming_it(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot(MAX_UNPROCESSED_PHOTOS="30")
    user = emulator.user(9004, "en")
    for name, data in catalogue(36):
        user.send_document(data, name, "image/png")
    await user.wait_for_message(is_set_message(30), timeout=60)
    refusal = await user.wait_for_message(lambda r: "not stored" in (r["text"] or ""))
    assert "30 unprocessed photos" in refusal["text"]
    await asyncio.sleep(0.5)  # nothing more arrives: the counts below are final
    assert sum("not stored" in (r["text"] or "") for r in user.bot_messages) == 1
    photo_set = await app.db.last_set(9004, 9004)
    assert photo_set is not None and len(await app.db.set_members(photo_set.id)) == 30
    # processing makes room again: Tags for the set, then more photos are taken
    message = next(r for r in user.bot_messages if is_set_message(30)(r))
    user.press_button(message, action(message, "tag"))
    await user.wait_for_message(is_zip, timeout=60)
    before = len(emulator.bot_messages)
    for name, data in catalogue(3, first=100):
        user.send_document(data, name, "image/png")
    await user.wait_for_message(is_set_message(3), after=before, timeout=30)
