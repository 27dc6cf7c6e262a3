"""Getting a job's messages to the user: the progress message, text results, and image
results encoded into files on disk and a Telegram photo (or document).

Encoding a 12 MP PNG takes a second: it runs in a thread, never on the event loop.
The full-size PNG is what we keep (lossless, alpha preserved); users get a JPEG preview as
a photo, and the PNG itself through the "Full size" button.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramBadRequest
from aiogram.types import BufferedInputFile, Message

from bot import keyboards
from bot.check_rendering import split_caption
from bot.jobs.encoding import EncodedImage, encode, encode_stored
from bot.jobs.gallery_delivery import GalleryDelivery
from bot.ops import caption
from bot.replies import reply_to
from bot.result_views import message_of, stored, stored_message
from bot.retry import patiently
from bot.storage import Job, Photo, Storage
from bot.texts import t
from services.results import GALLERY, IMAGE, ImageResult, StoredImage
from services.results.gallery import GalleryResult

log = logging.getLogger("vitrina.bot")

# What a Bot API call can end with once bot/retry.py has spent its retries (a proxy's HTML
# 5xx page is a ClientDecodeError, not a TelegramAPIError).
SEND_ERRORS = (TelegramAPIError, ClientDecodeError)


class Delivery:
    """Sends, edits and re-sends a job's messages; a result is never shown unsaved."""

    def __init__(self, bot: Bot, storage: Storage) -> None:
        self.bot = bot
        self.storage = storage
        self.gallery = GalleryDelivery(self)  # an album of slides: bot/jobs/gallery_delivery.py

    @patiently
    async def deliver(
        self, job: Job, photo: Photo, result: Any, message_id: int | None, lang: str
    ) -> None:
        """A finished job's result: stored, then sent in place of the progress message."""
        if isinstance(result, GalleryResult):
            await self.gallery.deliver(job, photo, result, message_id, lang)
            return
        if isinstance(result, ImageResult):
            await self._deliver_image(job, photo, result, message_id, lang)
            return
        kind, payload = stored(result)
        await self.storage.save_result(
            job.id, kind, payload, cacheable=getattr(result, "cacheable", True)
        )
        # A text result takes the place of the progress message: one message per job.
        markup = keyboards.text_result_actions(job.id, job.op, lang, params=job.params)
        if await self.close_progress(photo, message_id, message_of(result, lang), markup):
            await self.storage.mark_delivered(job.id)

    @patiently
    async def redeliver(self, job: Job, photo: Photo, lang: str) -> bool:
        """Send a stored result again ("Show again", or one a crash left unsent)."""
        result = await self.storage.get_result(job.id)
        if result is None:
            return False
        if result.kind == GALLERY.name:
            return await self.gallery.redeliver(job, photo, result, lang)
        sent_file: str | None = None
        image = result.image
        if image is not None:
            path = self.storage.results_dir / image.file
            if not image.file or not path.is_file():
                return False
            preview = self.storage.results_dir / image.preview if image.preview else None
            caption_text, rest = split_caption(caption(job.op, result.payload, lang))
            options: dict[str, Any] = {
                "caption": caption_text,
                "markup": keyboards.result_actions(job.id, photo.id, job.op, lang, job.params),
                "document": image.document,
                "name": f"vitrina-{job.op}-{job.id}{path.suffix or '.png'}",
            }
            # Telegram keeps what this bot sent: its file id sends it again without an upload
            message = None
            if image.telegram_file_id:
                message = await self.send_image(
                    photo, None, file_id=image.telegram_file_id, **options
                )
            if message is None:
                encoded = await asyncio.to_thread(encode_stored, path, preview)
                message = await self.send_image(photo, encoded, **options)
                sent_file = _sent_file_id(message) if message is not None else None
            sent = message is not None
            if sent and rest:
                await self.send(photo, rest)
        else:
            text = stored_message(result.kind, result.payload, lang)
            markup = keyboards.text_result_actions(job.id, job.op, lang, params=job.params)
            sent = text is not None and await self.send(photo, text, markup) is not None
        if sent:
            await self.storage.mark_delivered(job.id, file_id=sent_file)
        return sent

    async def _deliver_image(
        self, job: Job, photo: Photo, result: ImageResult, message_id: int | None, lang: str
    ) -> None:
        """File first, then the row, then the message: a result is never shown unsaved."""
        encoded = await self.store_image(job.id, result)
        caption_text, rest = split_caption(caption(job.op, result.facts, lang))
        markup = keyboards.result_actions(job.id, photo.id, job.op, lang, job.params)
        message = await self.send_image(
            photo,
            encoded,
            caption=caption_text,
            markup=markup,
            document=result.document,
            name=f"vitrina-{job.op}-{job.id}.{encoded.extension}",
        )
        sent = message is not None
        if sent and rest:  # a caption past Telegram's 1024 characters goes on below
            await self.send(photo, rest)
        if sent:
            await self.storage.mark_delivered(job.id, file_id=_sent_file_id(message))
        if sent and message_id is not None:
            with contextlib.suppress(*SEND_ERRORS):
                await self.bot.delete_message(photo.chat_id, message_id)
        elif not sent:
            await self.close_progress(
                photo, message_id, t(lang, "job.send_failed"), keyboards.show_again(job.id, lang)
            )

    async def store_image(self, job_id: int, result: ImageResult) -> EncodedImage:
        """Encode (in a thread), write the PNG and its JPEG preview, then the result row."""
        encoded = await asyncio.to_thread(encode, result)
        path = await self.storage.write_result_file(job_id, encoded.png, encoded.extension)
        # the preview too: "Show again" and a cache hit send it without encoding again
        preview = await self.storage.write_result_file(job_id, encoded.preview, "jpg")
        size = {"width": encoded.width, "height": encoded.height, "mode": encoded.mode}
        image = StoredImage(path.name, preview.name, result.document, facts=result.facts | size)
        await self.storage.save_result(
            job_id, IMAGE.name, IMAGE.to_payload(image), cacheable=result.cacheable
        )
        return encoded

    async def send_image(
        self,
        photo: Photo,
        encoded: EncodedImage | None,
        *,
        caption: str,
        markup: Any,
        document: bool,
        name: str,
        file_id: str | None = None,
    ) -> Message | None:
        """The result as a photo (JPEG preview) or a document (the PNG) replying to the
        user's photo; by ``file_id`` (a file this bot sent before) instead of an upload when
        given. The sent message, or None when it could not be sent."""
        reply = reply_to(photo.message_id)
        try:
            if document:
                file = file_id or BufferedInputFile(_bytes(encoded).png, filename=name)
                return await self.bot.send_document(
                    photo.chat_id,
                    file,
                    caption=caption,
                    reply_markup=markup,
                    reply_parameters=reply,
                )
            file = file_id or BufferedInputFile(
                _bytes(encoded).preview, filename=name.rsplit(".", 1)[0] + ".jpg"
            )
            return await self.bot.send_photo(
                photo.chat_id,
                file,
                caption=caption,
                reply_markup=markup,
                reply_parameters=reply,
            )
        except SEND_ERRORS as exc:
            log.warning("could not send a result to chat %s: %s", photo.chat_id, exc)
            return None

    async def typing(self, chat_id: int) -> None:
        with contextlib.suppress(*SEND_ERRORS):
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def close_progress(
        self, photo: Photo, message_id: int | None, text: str, markup: Any = None
    ) -> bool:
        """The progress message becomes `text`; sent anew if it cannot be edited."""
        if message_id is not None and await self.edit(photo.chat_id, message_id, text, markup):
            return True
        return await self.send(photo, text, markup) is not None

    async def send(self, photo: Photo, text: str, markup: Any = None) -> int | None:
        """Reply to the user's photo; if that message is gone, send without the reply."""
        try:
            message = await self.bot.send_message(
                photo.chat_id,
                text,
                reply_markup=markup,
                reply_parameters=reply_to(photo.message_id),
            )
        except SEND_ERRORS as exc:
            log.warning("could not send to chat %s: %s", photo.chat_id, exc)
            return None
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, text: str, markup: Any) -> bool:
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return True
            log.debug("edit of %s/%s failed: %s", chat_id, message_id, exc)
            return False
        except SEND_ERRORS as exc:
            log.warning("edit of %s/%s failed: %s", chat_id, message_id, exc)
            return False
        return True


def _bytes(encoded: EncodedImage | None) -> EncodedImage:
    """An upload needs the encoded image (only a resend by file id goes without)."""
    if encoded is None:
        raise ValueError("send_image needs the encoded image or a file_id")
    return encoded


def _sent_file_id(message: Message) -> str | None:
    """Telegram's id of the file a result message carries (the largest photo size)."""
    if message.document is not None:
        return message.document.file_id
    return message.photo[-1].file_id if message.photo else None
