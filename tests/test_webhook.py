"""Webhook mode end to end: the emulator POSTs updates to the bot's webhook (WEBHOOK_URL);
each is stored in the inbox before the 200, and handled from there."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.redis_server import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SECRET = "s3cret-token_for-tests"


async def test_webhook_mode_end_to_end(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    app = await start_bot(
        WEBHOOK_URL=url, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port), WEBHOOK_SECRET=SECRET
    )
    assert emulator.webhook == {"url": url, "secret_token": SECRET}
    assert not any(method == "getUpdates" for method, _ in emulator.calls)  # no polling
    user = emulator.user(71, "en")
    user.send_text("/start")
    await user.wait_for_message(timeout=20)
    sent = user.send_photo(photos["coffee"], caption="/tag")
    tags = await user.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=30)
    assert tags["reply_to_message_id"] == sent["message_id"]
    assert all(status == 200 for _, status in emulator.webhook_posts)
    assert await app.db.inbox_state(emulator.last_update_id) in ("new", "done")
    await eventually(lambda: _done(app), 10)

    # Telegram POSTs an update again when our 200 was lost: it is answered, not handled again
    emulator.redeliver(emulator.last_update_id)
    await eventually(lambda: app.metrics.updates.labels("duplicate")._value.get() == 1)
    rows = await app.db.db.execute_fetchall("SELECT COUNT(*) FROM jobs")
    assert list(rows)[0][0] == 1

    # a request without Telegram's secret is refused and stored nowhere
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"update_id": 999_999, "message": {}}) as answer,
    ):
        assert answer.status == 401
    assert await app.db.inbox_state(999_999) is None


async def _done(app: object) -> bool:
    return await app.db.inbox_backlog() == 0  # type: ignore[attr-defined]
