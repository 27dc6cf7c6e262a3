"""What a set's run sends: image results as albums of up to 10 (sendMediaGroup), text
results (tags, descriptions) as one summary message (split past Telegram's 4096 characters),
and always a ZIP with every result at full size and results.csv. Each is marked sent in
storage once it went, so a restart sends the rest, and the ZIP once."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.types import (
    BufferedInputFile,
    FSInputFile,
    InputMediaDocument,
    InputMediaPhoto,
    ReplyParameters,
)

from bot import hotel_rendering, replies
from bot.jobs.delivery import SEND_ERRORS, encode_stored
from bot.ops import op_label
from bot.rendering import TELEGRAM_TEXT_LIMIT
from bot.result_views import summary_of
from bot.retry import patiently
from bot.sets import gallery, room_order
from bot.sets.archive import Member, result_name, write_zip
from bot.storage import JobStatus, Result, SetItem, SetRun, Storage
from bot.texts import t, tn
from services.results_table import csv_text, result_row

log = logging.getLogger("vitrina.bot")
ALBUM_SIZE = 10  # Telegram's most media in one group


@dataclass(frozen=True)
class Outcome:
    """One photo of a finished pass: its item and its stored result (None: it failed)."""

    item: SetItem
    result: Result | None


class SetDelivery:
    def __init__(self, bot: Bot, storage: Storage) -> None:
        self.bot = bot
        self.storage = storage
        self._lock = asyncio.Lock()  # one album at a time per bot: they keep their order

    async def outcomes(self, run: SetRun) -> list[Outcome]:
        found = []
        for item in await self.storage.run_items(run.id):
            done = item.status is JobStatus.DONE and item.job_id is not None
            result = await self.storage.get_result(item.job_id) if done and item.job_id else None
            found.append(Outcome(item, result))
        return found

    # ---- albums

    async def send_albums(
        self, run: SetRun, outcomes: list[Outcome], reply_to: int | None
    ) -> None:
        """Every image result not sent yet, in albums of up to 10 (one photo: on its own)."""
        images = [
            (o, image)
            for o in outcomes
            if o.result is not None and (image := o.result.image) is not None and not o.item.sent
        ]
        for document in (False, True):
            group = [o for o, image in images if image.document == document]
            for start in range(0, len(group), ALBUM_SIZE):
                await self.send_album(run, group[start : start + ALBUM_SIZE], reply_to)
        for outcome in outcomes:  # a gallery per product: its slides, an album each
            if not outcome.item.sent and gallery.gallery_of(outcome) is not None:
                await self.send_gallery(run, outcome, reply_to)

    @patiently
    async def send_gallery(self, run: SetRun, outcome: Outcome, reply_to: int | None) -> bool:
        found = gallery.gallery_of(outcome)
        assert found is not None
        results = self.storage.results_dir
        media = await asyncio.to_thread(gallery.album, results, outcome.item.name, found)
        async with self._lock:
            try:
                if len(media) == 1:
                    await self._send_one(run.chat_id, media[0], replies.reply_to(reply_to))
                elif media:
                    reply = replies.reply_to(reply_to)
                    await self.bot.send_media_group(run.chat_id, media, reply_parameters=reply)
            except (*SEND_ERRORS, OSError) as exc:
                log.warning("set run %s: a gallery could not be sent: %s", run.id, exc)
                return False
            await self.storage.mark_items_sent(run.id, [outcome.item.position])
        return True

    @patiently
    async def send_album(self, run: SetRun, chunk: list[Outcome], reply_to: int | None) -> bool:
        if not chunk:
            return True
        media = await asyncio.to_thread(self._media, run, chunk)
        reply = replies.reply_to(reply_to)
        async with self._lock:
            try:
                if len(media) == 1:
                    await self._send_one(run.chat_id, media[0], reply)
                else:
                    await self.bot.send_media_group(run.chat_id, media, reply_parameters=reply)
            except SEND_ERRORS as exc:
                log.warning("set run %s: an album could not be sent: %s", run.id, exc)
                return False
            await self.storage.mark_items_sent(run.id, [o.item.position for o in chunk])
        return True

    def _media(
        self, run: SetRun, chunk: list[Outcome]
    ) -> list[InputMediaPhoto | InputMediaDocument]:
        """The files of an album (read in a thread): JPEG previews as photos, PNGs as documents."""
        media: list[InputMediaPhoto | InputMediaDocument] = []
        results = self.storage.results_dir
        for outcome in chunk:
            image = outcome.result.image if outcome.result is not None else None
            assert image is not None
            caption = html.escape(outcome.item.name)
            path = results / image.file
            if image.document:  # the stored file as it is: a PNG, a card's JPEG
                name = result_name(outcome.item.name, run.op, path.suffix or ".png")
                file = BufferedInputFile(path.read_bytes(), filename=name)
                media.append(InputMediaDocument(media=file, caption=caption))
                continue
            encoded = encode_stored(path, results / image.preview if image.preview else None)
            name = result_name(outcome.item.name, run.op, ".jpg")
            file = BufferedInputFile(encoded.preview, filename=name)
            media.append(InputMediaPhoto(media=file, caption=caption))
        return media

    async def _send_one(self, chat_id: int, media: Any, reply: ReplyParameters | None) -> None:
        if isinstance(media, InputMediaDocument):
            await self.bot.send_document(
                chat_id, media.media, caption=media.caption, reply_parameters=reply
            )
        else:
            await self.bot.send_photo(
                chat_id, media.media, caption=media.caption, reply_parameters=reply
            )

    # ---- the summary of text results (and of what failed)

    async def _photo_paths(self, outcomes: list[Outcome]) -> dict[str, Path]:
        """item name -> the stored photo (a hotel set's order sends and zips the photos)."""
        paths = {}
        for outcome in outcomes:
            photo = await self.storage.get_photo(outcome.item.photo_id)
            if photo is not None and not photo.deleted:
                paths[outcome.item.name] = photo.path
        return paths

    async def send_order(
        self, run: SetRun, outcomes: list[Outcome], lang: str, reply_to: int | None
    ) -> None:
        """A hotel set's new order: its summary, then the photos as albums in that order."""
        ordering = room_order.ordering_of(outcomes)
        if ordering is None:
            return
        reply = replies.reply_to(reply_to)
        with contextlib.suppress(*SEND_ERRORS):
            await self.bot.send_message(
                run.chat_id, hotel_rendering.render_order(ordering, lang), reply_parameters=reply
            )
        paths = await self._photo_paths(outcomes)
        media = await asyncio.to_thread(room_order.album, ordering, paths)
        for start in range(0, len(media), ALBUM_SIZE):
            chunk = media[start : start + ALBUM_SIZE]
            async with self._lock:
                with contextlib.suppress(*SEND_ERRORS):
                    if len(chunk) == 1:
                        await self._send_one(run.chat_id, chunk[0], reply)
                    else:
                        await self.bot.send_media_group(run.chat_id, chunk, reply_parameters=reply)

    @patiently
    async def send_summary(
        self, run: SetRun, outcomes: list[Outcome], lang: str, reply_to: int | None
    ) -> None:
        texts = [o for o in outcomes if o.result is not None and o.result.image is None]
        sent = texts
        if room_order.is_order(run.op):  # the order says it all: only the failures remain
            await self.send_order(run, outcomes, lang, reply_to)
            texts = []
        failed = [o for o in outcomes if o.result is None and o.item.status is JobStatus.FAILED]
        failed += [o for o in outcomes if o.item.measure_status is JobStatus.FAILED]
        looks = [o for o in outcomes if needs_look(o)]
        if texts or failed or looks:
            shown = sorted(texts + failed + looks, key=_position)
            blocks = [self._block(o, lang) for o in shown]
            head = tn(
                lang,
                "set.summary_head",
                len(outcomes),
                op=op_label(lang, run.op),
                count=len(outcomes),
            )
            for message in _messages(head, blocks):
                with contextlib.suppress(*SEND_ERRORS):
                    await self.bot.send_message(
                        run.chat_id, message, reply_parameters=replies.reply_to(reply_to)
                    )
        await self.storage.mark_items_sent(run.id, [o.item.position for o in sent])
        await self.storage.mark_summary_sent(run.id)

    def _block(self, outcome: Outcome, lang: str) -> str:
        name = f"<b>{html.escape(outcome.item.name)}</b>"
        result = outcome.result
        if result is None:
            why = gallery.failure(outcome.item.error, lang) or t(lang, "set.photo_failed")
            return f"{name}: {why}"
        if needs_look(outcome):
            return f"{name}: {t(lang, 'set.needs_look')}"
        return f"{name}: {summary_of(result.kind, result.payload, lang) or ''}"

    # ---- the ZIP

    @patiently
    async def send_zip(
        self, run: SetRun, outcomes: list[Outcome], lang: str, reply_to: int | None
    ) -> None:
        """Every result at full size + results.csv; marked sent once every part went."""
        ordering = room_order.ordering_of(outcomes) if room_order.is_order(run.op) else None
        if any(gallery.gallery_of(o) is not None for o in outcomes):  # <photo>/01-main.jpg…
            members, table = gallery.zip_contents(self.storage.results_dir, outcomes)
        elif ordering is not None:  # a hotel set: 01-facade.jpg… in the new order
            paths = await self._photo_paths(outcomes)
            members, table = room_order.zip_contents(ordering, paths)
        else:
            members, rows = self._contents(run, outcomes)
            table = csv_text(rows)
        folder = self.storage.results_dir.parent / "sets"
        parts = await asyncio.to_thread(
            write_zip, folder, f"vitrina-set-{run.id}-{run.op}", members, table
        )
        done = sum(o.result is not None for o in outcomes)
        caption = tn(lang, "set.zip_caption", done, op=op_label(lang, run.op), count=done)
        try:
            for path in parts:
                await self.bot.send_document(
                    run.chat_id,
                    FSInputFile(path, filename=path.name),
                    caption=caption,
                    reply_parameters=replies.reply_to(reply_to),
                )
        except SEND_ERRORS as exc:
            log.warning("set run %s: the ZIP could not be sent: %s", run.id, exc)
        finally:
            await asyncio.to_thread(_remove, parts)
        await self.storage.mark_zip_sent(run.id)

    def _contents(
        self, run: SetRun, outcomes: list[Outcome]
    ) -> tuple[list[Member], list[dict[str, str]]]:
        members, rows = [], []
        for outcome in outcomes:
            item, result = outcome.item, outcome.result
            file = ""
            image = result.image if result is not None else None
            if image is not None:
                stored = self.storage.results_dir / image.file
                file = result_name(item.name, run.op, stored.suffix or ".png")
                members.append(Member(file, stored))
            status, error = _status(item)
            kind, payload = (result.kind, result.payload) if result is not None else (None, None)
            rows.append(
                result_row(item.name, run.op, status, kind, payload, result_file=file, error=error)
            )
        return members, rows


def _status(item: SetItem) -> tuple[str, str]:
    """The row's status and reason: the measuring pass's failure counts as the photo's."""
    if item.measure_status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return item.measure_status.value, item.measure_error or ""
    if item.status is None:
        return JobStatus.CANCELLED.value, ""
    return item.status.value, item.error or ""


def needs_look(outcome: Outcome) -> bool:
    """An image result (a Fix card) whose photo held several objects, none clearly the
    product: the summary names it."""
    image = outcome.result.image if outcome.result is not None else None
    return image is not None and bool(image.facts.get("needs_look"))


def _position(outcome: Outcome) -> int:
    return outcome.item.position


def _messages(head: str, blocks: list[str]) -> list[str]:
    """The head and blocks joined into messages of at most TELEGRAM_TEXT_LIMIT characters,
    split between blocks (never inside one's HTML)."""
    messages, current = [], head
    for block in blocks:
        if len(current) + 1 + len(block) > TELEGRAM_TEXT_LIMIT:
            messages.append(current)
            current = block
        else:
            current += "\n" + block
    messages.append(current)
    return messages


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
