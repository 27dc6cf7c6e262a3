"""`Inbox`: store a batch of updates in one transaction, handle each from there, mark it.

Handled the way aiogram's polling handles updates (`handle_as_tasks`): one task per update,
started in update order, running concurrently (the album middleware gathers an album's
messages across them). The difference is when Telegram learns of it: only after `accept`
stored the batch. An update whose handler did not finish (a crash, a kill -9, a stop that
outlasted the grace) is still `new` at the next start and is handled again, before polling
resumes; the handlers' effects are keyed by message (a photo row) or by the update
(`origin.py`: a job, a set run), so nothing is made twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError

from bot.inbox.origin import handling
from bot.storage import Storage

if TYPE_CHECKING:
    from bot.metrics import BotMetrics

log = logging.getLogger("vitrina.inbox")
#: starts that found an update still not done before it is given up (one that kills the
#: process every time must not keep the bot from starting)
MAX_ATTEMPTS = 3
#: how long the start waits for the replayed updates' handlers before polling resumes
REPLAY_WAIT_S = 30.0


class Inbox:
    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        db: Storage,
        metrics: BotMetrics | None = None,
        **context: Any,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.db = db
        self.metrics = metrics
        self.context = context  # what aiogram's polling passes to feed_update as well
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def handling(self) -> int:
        """Updates whose handlers are running now."""
        return len(self._tasks)

    async def accept(self, updates: Sequence[Update]) -> list[Update]:
        """Store `updates` (one transaction); the ones not stored before, in order. Raises
        when the database refuses: the caller must not confirm them then."""
        rows = [
            (u.update_id, u.model_dump_json(exclude_unset=True, by_alias=True), _user_id(u))
            for u in updates
        ]
        fresh = set(await self.db.store_updates(rows))
        if self.metrics is not None:
            self.metrics.received(len(fresh), len(updates) - len(fresh))
        if len(fresh) < len(updates):
            log.info("%d update(s) received again (stored already)", len(updates) - len(fresh))
        return [u for u in updates if u.update_id in fresh]

    def dispatch(self, updates: Sequence[Update]) -> list[asyncio.Task[None]]:
        """A task per stored update, in order."""
        tasks = []
        for update in updates:
            task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            tasks.append(task)
        return tasks

    async def replay(self) -> int:
        """At start: handle again what a previous run stored and did not finish (waiting, up
        to REPLAY_WAIT_S, for their handlers before new updates are fetched)."""
        rows, given_up = await self.db.pending_updates(MAX_ATTEMPTS)
        for update_id in given_up:
            log.error("update %s: not handled after %d starts; given up", update_id, MAX_ATTEMPTS)
        updates = []
        for row in rows:
            try:
                updates.append(Update.model_validate_json(row.payload, context={"bot": self.bot}))
            except ValidationError:
                log.exception("update %s: stored payload does not parse; dropped", row.update_id)
                await self.db.finish_update(row.update_id, failed=True)
        if updates:
            log.info("replaying %d update(s) a previous run had not finished", len(updates))
            tasks = self.dispatch(updates)
            await asyncio.wait(tasks, timeout=REPLAY_WAIT_S)
        return len(updates)

    async def drain(self, timeout: float) -> None:
        """At stop: let running handlers finish (up to `timeout`); the rest are cancelled
        and stay `new`, to be handled again at the next start."""
        tasks = list(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=max(timeout, 0.01))
        for task in pending:
            task.cancel()
        if pending:
            log.warning("%d update(s) still being handled at stop: next start", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)

    async def _handle(self, update: Update) -> None:
        failed = False
        with handling(update.update_id):
            try:
                response = await self.dp.feed_update(self.bot, update, **self.context)
                if isinstance(response, TelegramMethod):  # a handler that returns a method
                    await self.dp.silent_call_request(bot=self.bot, result=response)
            except Exception:  # the error handlers did not take it: it is not retried
                log.exception("update %s: the handler failed", update.update_id)
                failed = True
        try:
            await self.db.finish_update(update.update_id, failed=failed)
        except Exception:  # handled; at worst handled again at the next start (idempotent)
            log.exception("update %s: could not be marked handled", update.update_id)


def _user_id(update: Update) -> int | None:
    """The sender, so /forget_me can erase their handled updates too."""
    for field in ("message", "edited_message", "callback_query", "my_chat_member"):
        event = getattr(update, field, None)
        sender = getattr(event, "from_user", None)
        if sender is not None:
            return int(sender.id)
    return None
