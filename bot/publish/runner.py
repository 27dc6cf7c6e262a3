"""An upload to Wildberries as a stored run: one progress message, the photos card by card,
each card read back afterwards; resumed after a crash without sending a photo twice.

Before a card's first photo its count is read and kept (`base`): each photo's
X-Photo-Number follows from it (services/publishing/planner.py). A step is marked 'sending'
before its request and 'done' after; a resumed run reads the card back first, and a step
that adds is skipped when the card already holds its number. A card ends read back: fewer
photos than planned (WB's "200, nothing saved") is that card's error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.publish.planning import inspect
from bot.publish.report import FILE_GONE, NOT_FOUND, NOT_SAVED, OVER, Progress, summary_text
from bot.publish.tokens import TokenKeeper
from bot.storage import Storage
from bot.storage.publish_queries import (
    CANCELLED,
    DONE,
    FAILED,
    SENDING,
    SKIPPED,
    PublishCard,
    PublishItem,
    PublishRun,
)
from bot.texts import t
from services.publishing import limits, planner
from services.publishing.wb_client import TokenRevoked, WbClient, WbError, WbUnreachable

log = logging.getLogger("vitrina.publish")

#: WB unreachable (network, 5xx): the run goes on from its stored steps after these waits
RUN_RETRY_S = (5.0, 15.0, 60.0, 300.0)


class PublishRunner:
    def __init__(
        self, bot: Bot, db: Storage, tokens: TokenKeeper, progress_interval_s: float
    ) -> None:
        self.bot, self.db, self.tokens = bot, db, tokens
        self.progress_interval_s = progress_interval_s
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def start(self, run_id: int, mode: str) -> bool:
        """The seller chose the mode: the run goes (False: it was not waiting for one)."""
        if not await self.db.start_publish_run(run_id, mode):
            return False
        self._spawn(run_id)
        return True

    async def resume_unfinished(self) -> int:
        runs = await self.db.running_publish_runs()
        for run in runs:
            self._spawn(run.id)
        return len(runs)

    async def cancel_user(self, user_id: int) -> None:
        for run_id, task in list(self._tasks.items()):
            run = await self.db.get_publish_run(run_id)
            if run is not None and run.user_id == user_id:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def running(self, run_id: int) -> asyncio.Task[None] | None:
        return self._tasks.get(run_id)

    def _spawn(self, run_id: int) -> None:
        if run_id in self._tasks:
            return
        task = asyncio.create_task(self._run(run_id), name=f"publish-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    # ---- one run

    async def _run(self, run_id: int) -> None:
        run = await self.db.get_publish_run(run_id)
        if run is None or run.mode is None:
            return
        lang = await self._lang(run.user_id)
        try:
            for wait in (*RUN_RETRY_S, None):
                try:
                    await self._upload(run, lang)
                    break
                except WbUnreachable as exc:
                    if wait is None:
                        raise
                    log.warning("publish run %s: %s; going on in %.0f s", run.id, exc, wait)
                    await asyncio.sleep(wait * self.tokens.scale)
                    run = await self.db.get_publish_run(run.id) or run  # its progress message
        except WbUnreachable:
            await self.db.set_publish_run(run.id, status=FAILED, error="unreachable")
            await self._say(run, t(lang, "publish.unreachable"))
        except TokenRevoked:
            await self.db.set_publish_run(run.id, status=FAILED, error="revoked")
            await self._say(run, t(lang, "connect.revoked"))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("publish run %s failed", run.id)
            await self.db.set_publish_run(run.id, status=FAILED, error="crash")
            await self._say(run, t(lang, "publish.crashed"))

    async def _upload(self, run: PublishRun, lang: str) -> None:
        token = await self.tokens.token(run.user_id)
        if token is None:
            await self.db.set_publish_run(run.id, status=CANCELLED, error="no token")
            await self._say(run, t(lang, "publish.not_connected"))
            return
        items = await self.db.publish_items(run.id)
        progress = Progress(self.bot, self.db, run, lang, len(items), self.progress_interval_s)
        await progress.show(sum(item.state in (DONE, SKIPPED) for item in items), force=True)
        async with self.tokens.client(token) as client:
            for card in await self.db.publish_cards(run.id):
                if card.status in (DONE, FAILED):
                    continue
                mine = [item for item in items if item.nm_id == card.nm_id]
                try:
                    await self._card(client, run, card, mine, progress)
                except (TokenRevoked, WbUnreachable):
                    raise  # the run stops (revoked) or goes on later from the stored steps
                except WbError as exc:
                    await self.db.set_publish_card(
                        run.id, card.nm_id, status=FAILED, error=f"wb:{exc.reason}"
                    )
        await progress.show(progress.done, force=True)
        await self.db.set_publish_run(run.id, status=DONE)
        await self._summary(run, lang)

    async def _card(
        self,
        client: WbClient,
        run: PublishRun,
        card: PublishCard,
        items: list[PublishItem],
        progress: Progress,
    ) -> None:
        mode = planner.Mode(run.mode or "add")
        back = await client.card(card.nm_id)
        if back is None:
            await self.db.set_publish_card(run.id, card.nm_id, status=FAILED, error=NOT_FOUND)
            return
        base = card.base
        if base is None:
            base = back.photo_count
            await self.db.set_publish_card(run.id, card.nm_id, base=base)
        count_now = back.photo_count
        room = limits.room(mode, base)
        sent = 0  # this card's photos of the run on it so far: the next one's place
        for item in items:
            if item.state == DONE:
                sent += 1
                continue
            if item.state in (SKIPPED, FAILED):
                continue
            if sent >= room:  # beyond 30 with the photos that stay
                await self.db.set_publish_item(run.id, item.position, state=SKIPPED, error=OVER)
                continue
            if planner.already_on_card(mode, sent, base, count_now):  # a crash after WB took it
                await self.db.set_publish_item(run.id, item.position, state=DONE)
                sent += 1
                await progress.show(progress.done + 1)
                continue
            loaded = await asyncio.to_thread(_read, Path(item.source))
            if loaded is None:
                await self.db.set_publish_item(
                    run.id, item.position, state=FAILED, error=FILE_GONE
                )
                continue
            data, content_type = loaded
            number = planner.photo_number(mode, sent, base)
            await self.db.set_publish_item(run.id, item.position, state=SENDING)
            await client.upload_photo(card.nm_id, number, data, item.name, content_type)
            await self.db.set_publish_item(run.id, item.position, state=DONE)
            count_now = max(count_now, number)
            sent += 1
            await progress.show(progress.done + 1)
        await self._confirm(client, run, card, mode, base, sent)

    async def _confirm(
        self,
        client: WbClient,
        run: PublishRun,
        card: PublishCard,
        mode: planner.Mode,
        base: int,
        sent: int,
    ) -> None:
        """Read the card back: its count must be what the photos sent make it."""
        back = await client.card(card.nm_id)
        if back is not None and mode is planner.Mode.REPLACE_ALL and back.photo_count > sent > 0:
            await client.save_media(card.nm_id, list(back.photos[:sent]))
            back = await client.card(card.nm_id)
        got = back.photo_count if back is not None else 0
        expected = planner.expected_count(mode, sent, base)
        if got < expected or (mode is planner.Mode.REPLACE_ALL and sent and got != expected):
            await self.db.set_publish_card(
                run.id,
                card.nm_id,
                status=FAILED,
                count_after=got,
                error=f"{NOT_SAVED}:{got}:{expected}",
            )
            return
        await self.db.set_publish_card(run.id, card.nm_id, status=DONE, count_after=got)

    # ---- what the seller sees

    async def _summary(self, run: PublishRun, lang: str) -> None:
        cards = await self.db.publish_cards(run.id)
        items = await self.db.publish_items(run.id)
        await self._say(run, summary_text(cards, items, lang))
        await self.db.set_publish_run(run.id, summary_sent=1)

    async def _say(self, run: PublishRun, text: str) -> None:
        with contextlib.suppress(TelegramAPIError):
            await self.bot.send_message(run.chat_id, text)

    async def _lang(self, user_id: int) -> str:
        user = await self.db.get_user(user_id)
        return user.language if user is not None else "ru"


def _read(path: Path) -> tuple[bytes, str] | None:
    if not path.is_file():
        return None
    _, content_type = inspect(path)
    return path.read_bytes(), content_type
