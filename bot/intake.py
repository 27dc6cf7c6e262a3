"""Taking a photo in: pick the file, download, check it, store it. And finding the photo a
command refers to."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from pathlib import Path, PurePath

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramRetryAfter,
)
from aiogram.types import Message

from bot.retry import TRANSIENT
from bot.storage import Photo, Storage
from bot.storage.files import store_file
from bot.texts import t, tn
from services.errors import BadImage
from services.imaging.decode import IMAGE_SUFFIXES, ImageInfo, inspect_image
from services.scheduler import ModelServices

log = logging.getLogger("vitrina.bot")
# What a flaky network or Bot API server raises: worth another try.
# The Bot API's transient failures (bot/retry.py), plus what the raw file download raises.
RETRYABLE = (*TRANSIENT, aiohttp.ClientError, asyncio.TimeoutError)
DOWNLOAD_ERRORS = (TelegramAPIError, *RETRYABLE)


#: BadImage.reason -> the text that tells the user what to send instead
BAD_IMAGE_KEYS = {
    "too_small": "photo.too_small",
    "too_many_pixels": "photo.too_many_pixels",
    "format": "photo.format",
    "empty": "photo.bad",
    "unreadable": "photo.bad",
}
#: BadImage.reason -> the field holding the number its (plural) text's noun agrees with
BAD_IMAGE_COUNTS = {"too_small": "min_side", "too_many_pixels": "megapixels"}


class IntakeError(Exception):
    """A photo was refused; `key` is the text to answer with, `fields` fill it in; `count`,
    for a plural text, is the number its noun agrees with."""

    def __init__(self, key: str, count: float | None = None, **fields: object) -> None:
        super().__init__(key)
        self.key = key
        self.count = count
        self.fields = fields

    def text(self, lang: str) -> str:
        if self.count is None:
            return t(lang, self.key, **self.fields)
        return tn(lang, self.key, round(self.count), **self.fields)  # as "{n:.0f}" shows it


def has_image(message: Message) -> bool:
    return bool(message.photo) or is_image_document(message)


def is_image_document(message: Message) -> bool:
    document = message.document
    if document is None:
        return False
    mime = (document.mime_type or "").lower()
    suffix = PurePath(document.file_name or "").suffix.lower()
    return mime.startswith("image/") or suffix in IMAGE_SUFFIXES


@dataclass(frozen=True)
class Incoming:
    """An image downloaded, checked, hashed and written to disk: what a job needs to start.
    Its row is not stored yet (`keep`): a crash before it replays the update (the inbox)."""

    user_id: int
    chat_id: int
    message_id: int
    file_id: str
    file_unique_id: str
    size: int
    info: ImageInfo
    sha256: str
    path: Path
    media_group_id: str | None
    caption: str | None
    media: str


async def intake(
    message: Message,
    *,
    user_id: int,
    bot: Bot,
    db: Storage,
    services: ModelServices,
    max_bytes: int,
) -> Photo:
    """Store the image in `message` (a photo or an image document) for `user_id`, or raise
    IntakeError. The sender may be someone else: a user can reply to a forwarded image.
    A message stored already (its update handled again after a restart) is not fetched
    again: its row is the answer."""
    taken = await fetch(
        message, user_id=user_id, bot=bot, db=db, services=services, max_bytes=max_bytes
    )
    return taken if isinstance(taken, Photo) else await keep(db, taken)


async def fetch(
    message: Message,
    *,
    user_id: int,
    bot: Bot,
    db: Storage,
    services: ModelServices,
    max_bytes: int,
) -> Photo | Incoming:
    """`intake` up to the row: the stored photo of this message, or the image downloaded,
    checked and written to disk (one trip off the loop), its row left to `keep`."""
    stored = await db.stored_photo(message.chat.id, message.message_id)
    if stored is not None:
        return stored
    if message.photo:
        size = message.photo[-1]
        file_id, unique_id, file_size = size.file_id, size.file_unique_id, size.file_size
    elif message.document is not None:
        if not is_image_document(message):
            raise IntakeError("photo.not_image")
        document = message.document
        file_id, unique_id = document.file_id, document.file_unique_id
        file_size = document.file_size
    else:  # a video or a voice note inside an album
        raise IntakeError("photo.not_image")
    if file_size and file_size > max_bytes:
        raise IntakeError("photo.too_big", size_mb=file_size / 2**20, limit_mb=max_bytes / 2**20)
    try:
        buffer = await _download(bot, file_id)
    except TelegramBadRequest as exc:
        log.warning("download of a photo from user %s failed: %s", message.chat.id, exc)
        if "too big" in str(exc):
            raise IntakeError(
                "photo.too_big", size_mb=(file_size or 0) / 2**20, limit_mb=max_bytes / 2**20
            ) from None
        raise IntakeError("photo.download_failed") from None
    except DOWNLOAD_ERRORS as exc:
        log.warning("download of a photo from user %s failed: %r", message.chat.id, exc)
        raise IntakeError("photo.download_failed") from None
    if buffer is None:
        raise IntakeError("photo.download_failed")
    data = buffer.getvalue()
    if len(data) > max_bytes:
        raise IntakeError("photo.too_big", size_mb=len(data) / 2**20, limit_mb=max_bytes / 2**20)
    try:
        info, digest, path = await asyncio.to_thread(
            _check_and_write, data, services.config.max_pixels, db.photos_dir
        )
    except BadImage as exc:
        log.info("refused an image from user %s: %s", message.chat.id, exc)
        count = exc.fields.get(BAD_IMAGE_COUNTS.get(exc.reason, ""))
        key = BAD_IMAGE_KEYS.get(exc.reason, "photo.bad")
        number = count if isinstance(count, int | float) else None
        raise IntakeError(key, number, **exc.fields) from None
    return Incoming(
        user_id=user_id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        file_id=file_id,
        file_unique_id=unique_id,
        size=len(data),
        info=info,
        sha256=digest,
        path=path,
        media_group_id=message.media_group_id,
        caption=photo_caption(message),
        media="photo" if message.photo else "document",
    )


def _check_and_write(
    data: bytes, max_pixels: int, photos_dir: Path
) -> tuple[ImageInfo, str, Path]:
    """Validate (the whole first frame decodes), hash and write: one trip to a thread."""
    info = inspect_image(data, max_pixels)
    digest, path = store_file(photos_dir, data, info.extension)
    return info, digest, path


async def keep(db: Storage, incoming: Incoming) -> Photo:
    """The row of a fetched image (its file is on disk already)."""
    return await db.add_photo(
        user_id=incoming.user_id,
        chat_id=incoming.chat_id,
        message_id=incoming.message_id,
        file_id=incoming.file_id,
        file_unique_id=incoming.file_unique_id,
        stored=(incoming.sha256, incoming.path, incoming.size),
        width=incoming.info.width,
        height=incoming.info.height,
        extension=incoming.info.extension,
        media_group_id=incoming.media_group_id,
        caption=incoming.caption,
        media=incoming.media,
    )


def photo_caption(message: Message) -> str | None:
    """The user's words under the photo (kept for /find); a command is not a caption."""
    caption = (message.caption or "").strip()
    if not caption or caption.startswith("/"):
        return None
    return caption[:1024]


async def _download(bot: Bot, file_id: str, attempts: int = 4) -> io.BytesIO | None:
    """getFile + the file itself, retried with backoff on network errors and 5xx."""
    for attempt in range(attempts):
        try:
            return await bot.download(file_id)
        except TelegramRetryAfter as exc:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(exc.retry_after)
        except RETRYABLE as exc:
            if attempt == attempts - 1:
                raise
            log.info("download failed (%r); retrying", exc)
            await asyncio.sleep(0.3 * 2**attempt)
    return None


async def target_photo(
    message: Message,
    *,
    user_id: int,
    bot: Bot,
    db: Storage,
    services: ModelServices,
    max_bytes: int,
) -> Photo | None:
    """The photo a command means: the replied-to image, else the user's last photo here."""
    reply = message.reply_to_message
    if reply is not None and has_image(reply):
        stored = await db.photo_by_message(reply.chat.id, reply.message_id)
        if stored is not None and not stored.deleted:
            return stored
        return await intake(
            reply, user_id=user_id, bot=bot, db=db, services=services, max_bytes=max_bytes
        )
    if reply is not None and reply.reply_to_message is not None:
        stored = await db.photo_by_message(reply.chat.id, reply.reply_to_message.message_id)
        if stored is not None:
            return stored
    return await db.last_photo(user_id, message.chat.id)
