"""What the seller sees of an upload: its one progress message (edited at most every
PROGRESS_INTERVAL_S) and the summary with each failed card's reason."""

from __future__ import annotations

import asyncio
import contextlib
import html

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.storage import Storage
from bot.storage.publish_queries import DONE, FAILED, SKIPPED, PublishCard, PublishItem, PublishRun
from bot.texts import t, tn

#: a card's error kept as a code (the reason shown in the user's language at the summary)
NOT_FOUND, NOT_SAVED, FILE_GONE, OVER = "not_found", "not_saved", "file_gone", "over"


def summary_text(cards: list[PublishCard], items: list[PublishItem], lang: str) -> str:
    """«Загружено 46 фото в 12 карточек», then each card that failed with its reason."""
    ok = [card for card in cards if card.status == DONE]
    ok_ids = {card.nm_id for card in ok}
    photos = sum(item.state == DONE and item.nm_id in ok_ids for item in items)
    lines = [tn(lang, "publish.summary", len(ok), photos=photos, cards=len(ok))]
    failed = [card for card in cards if card.status == FAILED]
    if failed:
        lines.append(tn(lang, "publish.summary_failed", len(failed), cards=len(failed)))
        for card in failed:
            reason = html.escape(_reason(lang, card.error or ""))
            lines.append(
                t(
                    lang,
                    "publish.card_error",
                    article=html.escape(card.article),
                    nm_id=card.nm_id,
                    reason=reason,
                )
            )
    skipped = sum(item.state == SKIPPED for item in items)
    if skipped:
        lines.append(tn(lang, "publish.skipped", skipped, count=skipped))
    gone = sum(item.error == FILE_GONE for item in items)
    if gone:
        lines.append(t(lang, "publish.files_gone", count=gone))
    return "\n".join(lines)


def _reason(lang: str, error: str) -> str:
    code, _, rest = error.partition(":")
    if code == "wb":
        return rest
    if code == NOT_SAVED:
        got, _, expected = rest.partition(":")
        return t(lang, "publish.not_saved", got=got, expected=expected)
    if code == NOT_FOUND:
        return t(lang, "publish.card_gone")
    return error


class Progress:
    """The run's one progress message, edited at most every PROGRESS_INTERVAL_S."""

    def __init__(
        self, bot: Bot, db: Storage, run: PublishRun, lang: str, total: int, interval_s: float
    ) -> None:
        self.bot, self.db, self.run, self.lang, self.total = bot, db, run, lang, total
        self.interval_s = interval_s
        self.message_id = run.progress_message_id
        self.done = 0
        self._last = -1.0e9

    async def show(self, done: int, *, force: bool = False) -> None:
        self.done = done
        loop = asyncio.get_running_loop()
        if not force and loop.time() - self._last < self.interval_s:
            return
        self._last = loop.time()
        text = t(self.lang, "publish.progress", done=done, total=self.total)
        bot = self.bot
        with contextlib.suppress(TelegramAPIError):
            if self.message_id is None:
                sent = await bot.send_message(self.run.chat_id, text)
                self.message_id = sent.message_id
                await self.db.set_publish_run(self.run.id, progress_message_id=sent.message_id)
            else:
                await bot.edit_message_text(
                    text=text, chat_id=self.run.chat_id, message_id=self.message_id
                )
