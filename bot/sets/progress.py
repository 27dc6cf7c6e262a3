"""A set run's one progress message: «⚙️ Теги для набора: 7/18» with one Cancel, edited at
most once per PROGRESS_INTERVAL_S; at the end what was done, and what failed."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot

from bot import keyboards, replies
from bot.jobs.delivery import SEND_ERRORS
from bot.ops import op_label
from bot.sets.delivery import Outcome
from bot.sets.feeding import RunState, Settlement
from bot.sets.throttle import Throttle
from bot.storage import JobStatus, SetItem, Storage
from bot.texts import t

log = logging.getLogger("vitrina.bot")
#: the state of a run -> the text of its progress message
PROGRESS_KEYS = {
    "running": "set.progress",
    "measuring": "set.measuring",
    "resumed": "set.resumed",
    "done": "set.done",
    "cancelled": "set.cancelled",
}


async def say(
    bot: Bot, chat_id: int, text: str, reply_to: int | None, markup: Any = None
) -> int | None:
    """Send `text` (replying to `reply_to` when it still exists); the message id, or None."""
    reply = replies.reply_to(reply_to)
    try:
        sent = await bot.send_message(chat_id, text, reply_markup=markup, reply_parameters=reply)
    except SEND_ERRORS as exc:
        log.warning("could not send to chat %s: %s", chat_id, exc)
        return None
    return sent.message_id


async def edit(bot: Bot, chat_id: int, message_id: int, text: str, markup: Any) -> bool:
    try:
        await bot.edit_message_text(
            text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except SEND_ERRORS as exc:
        return "not modified" in str(exc)
    return True


class RunProgress:
    """The run's one progress message: «⚙️ Теги: 7/18» with Cancel, edited at most once per
    PROGRESS_INTERVAL_S; at the end what was done (and what failed)."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        interval: float,
        state: RunState,
        total: int,
        reply_to: int | None,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.state = state
        self.reply_to = reply_to
        self.total = total
        self.done = 0
        self.failed = 0
        self.measuring = False
        self.message_id = state.run.progress_message_id
        self.throttle = Throttle(interval, self._show)

    def _text(self, stage: str) -> str:
        lang = self.state.lang
        fields = {"op": op_label(lang, self.state.run.op), "done": self.done, "total": self.total}
        text = t(lang, PROGRESS_KEYS[stage], **fields)
        if self.failed:
            text += "\n" + t(lang, "set.progress_failed", failed=self.failed)
        return text

    async def open(self, resumed: bool) -> None:
        text = self._text("resumed" if resumed else "running")
        markup = keyboards.cancel_set_run(self.state.run.id, self.state.lang)
        run = self.state.run
        if self.message_id is not None and await edit(
            self.bot, run.chat_id, self.message_id, text, markup
        ):
            return
        self.message_id = await say(self.bot, run.chat_id, text, self.reply_to, markup)
        await self.storage.set_run_progress_message(run.id, self.message_id)

    def phase(self, *, measuring: bool, done: int) -> None:
        self.measuring, self.done, self.failed = measuring, done, 0
        self.throttle.poke()

    async def measured(self, settlement: Settlement) -> None:
        await self.settled(settlement)

    async def settled(self, settlement: Settlement) -> None:
        self.done += 1
        self.failed += settlement.kind == "failed"
        self.throttle.poke()

    async def _show(self) -> None:
        if self.message_id is None or self.state.cancelled:
            return
        stage = "measuring" if self.measuring else "running"
        markup = keyboards.cancel_set_run(self.state.run.id, self.state.lang)
        await edit(self.bot, self.state.run.chat_id, self.message_id, self._text(stage), markup)

    async def close(self, outcomes: list[Outcome]) -> None:
        """The message says what came out; the results follow it."""
        await self.throttle.cancel()
        self.done = sum(o.result is not None for o in outcomes)
        self.failed = sum(_failed(o.item) for o in outcomes)
        await self._final(self._text("cancelled" if self.state.cancelled else "done"))

    async def fail(self) -> None:
        await self.throttle.cancel()
        await self._final(
            t(self.state.lang, "job.failed", op=op_label(self.state.lang, self.state.run.op))
        )

    async def _final(self, text: str) -> None:
        run = self.state.run
        if self.message_id is None or not await edit(
            self.bot, run.chat_id, self.message_id, text, None
        ):
            await say(self.bot, run.chat_id, text, self.reply_to)


def _failed(item: SetItem) -> bool:
    return JobStatus.FAILED in (item.status, item.measure_status)
