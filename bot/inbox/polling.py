"""Long polling on getUpdates, with the inbox between fetching and confirming.

The same loop as aiogram's `Dispatcher.start_polling` (its timeout, allowed updates and
exponential backoff on errors), except for the order: a batch is stored in the inbox in
one transaction BEFORE the next getUpdates sends the offset that confirms it. A process
killed at any point loses nothing: what Telegram forgot is in the inbox, and what is not in
the inbox Telegram sends again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.methods import GetUpdates
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.inbox.inbox import Inbox

log = logging.getLogger("vitrina.inbox")


class Poller:
    def __init__(
        self,
        bot: Bot,
        inbox: Inbox,
        *,
        allowed_updates: list[str] | None,
        timeout_s: int = 10,
        backoff: BackoffConfig = DEFAULT_BACKOFF_CONFIG,
    ) -> None:
        self.bot = bot
        self.inbox = inbox
        self.allowed_updates = allowed_updates
        self.timeout_s = timeout_s
        self.backoff = backoff

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set (a long poll in flight is abandoned: its updates, not
        confirmed, come again at the next start)."""
        me = await self.bot.me()
        log.info("polling for updates as @%s", me.username)
        backoff = Backoff(config=self.backoff)
        request = GetUpdates(timeout=self.timeout_s, allowed_updates=self.allowed_updates)
        options = {}
        if self.bot.session.timeout:  # the request waits longer than the long poll itself
            options["request_timeout"] = int(self.bot.session.timeout + self.timeout_s)
        failed = False
        while not stop.is_set():
            fetch = asyncio.ensure_future(self.bot(request, **options))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetch
                break
            try:
                updates = fetch.result()
                fresh = await self.inbox.accept(updates)
            except Exception as exc:  # unreachable API, a full disk: nothing is confirmed
                failed = True
                delay = next(backoff)
                name = type(exc).__name__
                log.error("polling failed (%s: %s); again in %.1fs", name, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            if failed:
                log.info("polling works again (after %d tries)", backoff.counter)
                backoff.reset()
                failed = False
            if updates:
                # stored: the next getUpdates may confirm them
                newest = max(update.update_id for update in updates)
                request.offset = max(request.offset or 0, newest + 1)
                self.inbox.dispatch(fresh)
        log.info("polling stopped")
