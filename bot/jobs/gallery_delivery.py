"""/gallery's results in the chat: each slide's JPEG stored as a result file
("<job id>-<n>.jpg"), then an album of the slides in the order the marketplace shows them,
then one message with each slide's check and the buttons Edit text, Another style, ZIP.

The album goes as documents: a marketplace slide must reach the seller byte for byte (a
photo would be recompressed by Telegram); documents in an album still show as previews.
The ZIP button sends `<photo>/01-main.jpg`… and results.csv (services/results/gallery_table.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from aiogram.exceptions import ClientDecodeError, TelegramAPIError
from aiogram.types import BufferedInputFile, InputMediaDocument

from bot import keyboards
from bot.gallery_rendering import asks_again, refused_text, render_gallery
from bot.prompts import ask, dialogue
from bot.replies import reply_to
from bot.storage import Job, Photo, Result
from bot.texts import t
from services.errors import GalleryRefused
from services.results import GALLERY
from services.results.gallery import GalleryResult, StoredGallery, StoredSlide
from services.results.gallery_table import slide_name, slide_paths, slide_rows, slides_csv

if TYPE_CHECKING:
    from bot.jobs.delivery import Delivery

log = logging.getLogger("vitrina.bot")
SEND_ERRORS = (TelegramAPIError, ClientDecodeError)  # as bot/jobs/delivery.py's


class GalleryDelivery:
    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.bot = delivery.bot
        self.storage = delivery.storage

    async def store(self, job_id: int, result: GalleryResult) -> StoredGallery:
        """The slides' files first, then the result row (a result is never shown unsaved)."""
        paths = await self.storage.write_result_files(job_id, [s.data for s in result.slides])
        slides = tuple(
            StoredSlide(
                kind=slide.kind,
                file=path.name,
                grade=slide.grade,
                passed=slide.passed,
                accuracy=slide.accuracy,
                reasons=tuple(slide.reasons),
                redraws=slide.redraws,
            )
            for slide, path in zip(result.slides, paths, strict=True)
        )
        gallery = StoredGallery(
            profile=result.profile,
            style=result.style,
            title=result.title,
            benefits=tuple(result.benefits),
            slides=slides,
            notes=tuple(result.notes),
            facts=dict(result.facts),
        )
        await self.storage.save_result(
            job_id, GALLERY.name, GALLERY.to_payload(gallery), cacheable=result.cacheable
        )
        return gallery

    async def deliver(
        self, job: Job, photo: Photo, result: GalleryResult, message_id: int | None, lang: str
    ) -> None:
        gallery = await self.store(job.id, result)
        if await self.send(job, photo, gallery, lang):
            await self.storage.mark_delivered(job.id)
            if message_id is not None:
                with contextlib.suppress(Exception):
                    await self.bot.delete_message(photo.chat_id, message_id)
            return
        text = t(lang, "job.send_failed")
        markup = keyboards.show_again(job.id, lang)
        await self.delivery.close_progress(photo, message_id, text, markup)

    async def redeliver(self, job: Job, photo: Photo, result: Result, lang: str) -> bool:
        """ "Show again" (or a result a crash left unsent): the album and its message."""
        try:
            gallery = GALLERY.from_payload(result.payload)
        except (KeyError, TypeError, ValueError):
            return False
        sent = await self.send(job, photo, gallery, lang)
        if sent:
            await self.storage.mark_delivered(job.id)
        return sent

    async def send(self, job: Job, photo: Photo, gallery: StoredGallery, lang: str) -> bool:
        """The album of the slides (documents), then the message with their checks."""
        files = await asyncio.to_thread(self._read, gallery)
        if files is None or not files:
            return False
        reply = reply_to(photo.message_id)
        try:
            if len(files) == 1:
                await self.bot.send_document(photo.chat_id, files[0], reply_parameters=reply)
            else:
                media = [InputMediaDocument(media=file) for file in files]
                await self.bot.send_media_group(photo.chat_id, media, reply_parameters=reply)
        except SEND_ERRORS as exc:
            log.warning("could not send a gallery to chat %s: %s", photo.chat_id, exc)
            return False
        markup = keyboards.text_result_actions(job.id, job.op, lang, params=job.params)
        return await self.delivery.send(photo, render_gallery(gallery, lang), markup) is not None

    def _read(self, gallery: StoredGallery) -> list[BufferedInputFile] | None:
        files = []
        for number, slide in enumerate(gallery.slides, start=1):
            path = self.storage.results_dir / slide.file
            if not slide.file or not path.is_file():
                return None
            files.append(BufferedInputFile(path.read_bytes(), slide_name(number, slide.kind)))
        return files

    async def send_zip(self, job: Job, photo: Photo, result: Result, lang: str) -> bool:
        """The ZIP button: `<photo>/NN-kind.jpg` and results.csv; False: files are gone."""
        gallery = GALLERY.from_payload(result.payload)
        name = f"photo-{photo.id}"
        data = await asyncio.to_thread(zip_gallery, self.storage.results_dir, name, gallery)
        if data is None:
            return False
        document = BufferedInputFile(data, filename=f"vitrina-gallery-{job.id}.zip")
        await self.bot.send_document(
            photo.chat_id,
            document,
            caption=t(lang, "gallery.zip_caption"),
            reply_parameters=reply_to(photo.message_id),
        )
        return True

    async def refuse(
        self, job: Job, photo: Photo, exc: GalleryRefused, message_id: int | None, lang: str
    ) -> None:
        """Why no gallery: the answer names the word, the line and its limit; where a new
        text helps, the user's next message is that text (the dialogue starts again)."""
        await self.delivery.close_progress(photo, message_id, refused_text(exc, lang))
        if asks_again(exc):
            asked = {k: v for k, v in job.params.items() if k not in ("title", "benefits")}
            state = dialogue(self.bot, self.storage, photo.chat_id, job.user_id)
            await ask(
                self.bot, state, photo, lang, job.op, params=asked, question_key="gallery.ask"
            )


def zip_gallery(results_dir: Path, photo: str, gallery: StoredGallery) -> bytes | None:
    """One gallery as a ZIP in memory (five JPEGs: small); None when a slide is gone."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("results.csv", slides_csv(slide_rows(photo, gallery.slides)))
        for slide, arcname in zip(gallery.slides, slide_paths(photo, gallery.slides), strict=True):
            path = results_dir / slide.file
            if not path.is_file():
                return None
            archive.write(path, arcname, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()
