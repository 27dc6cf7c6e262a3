"""Sending the user's own photos back: an album of /find's matches and a photo's card.

The originals are re-sent by their Telegram file id (nothing is uploaded). A photo that
came as a file goes back as a document: Telegram keeps photos and documents in separate
albums, and refuses a document's id as a photo.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    FSInputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)

from bot import replies
from bot.jobs.delivery import SEND_ERRORS
from bot.library import keyboards
from bot.library.views import SHOWN_RESULTS, card_text
from bot.storage import Photo, Storage

log = logging.getLogger("vitrina.bot")
ALBUM_MAX = 10  # Telegram's limit on one media group


async def send_album(
    bot: Bot, chat_id: int, photos: Sequence[Photo], reply_to: int | None = None
) -> bool:
    """The photos as albums (photos, then documents), at most ALBUM_MAX each. False when
    Telegram refused one (the list with its buttons still follows)."""
    reply = replies.reply_to(reply_to)
    pictures = [p for p in photos if p.media != "document"][:ALBUM_MAX]
    documents = [p for p in photos if p.media == "document"][:ALBUM_MAX]
    sent = True
    try:
        if len(pictures) == 1:
            await bot.send_photo(chat_id, pictures[0].file_id, reply_parameters=reply)
        elif pictures:
            media = [InputMediaPhoto(media=p.file_id) for p in pictures]
            await bot.send_media_group(chat_id, media, reply_parameters=reply)
    except SEND_ERRORS as exc:
        log.warning("could not send a /find album to chat %s: %s", chat_id, exc)
        sent = False
    try:
        if len(documents) == 1:
            await bot.send_document(chat_id, documents[0].file_id, reply_parameters=reply)
        elif documents:
            files = [InputMediaDocument(media=p.file_id) for p in documents]
            await bot.send_media_group(chat_id, files, reply_parameters=reply)
    except SEND_ERRORS as exc:
        log.warning("could not send /find documents to chat %s: %s", chat_id, exc)
        sent = False
    return sent


async def send_card(bot: Bot, db: Storage, photo: Photo, chat_id: int, lang: str) -> Message:
    """The photo again with what was made of it and its buttons: each result's "show
    again", the photo's action keyboard, Delete."""
    results = await db.photo_results(photo.id)
    caption = card_text(photo, results, lang)
    shown = [(job_id, op) for job_id, op, _, _ in results[:SHOWN_RESULTS]]
    markup = keyboards.photo_card(photo.id, shown, lang)
    reply = replies.reply_to(photo.message_id if photo.chat_id == chat_id else None)
    options = {"caption": caption, "reply_markup": markup, "reply_parameters": reply}
    if photo.media != "document":
        try:
            return await bot.send_photo(chat_id, photo.file_id, **options)
        except SEND_ERRORS as exc:  # an id Telegram no longer knows: the stored file
            log.info("photo %s: resending by file id failed (%s); uploading it", photo.id, exc)
    file = photo.file_id if photo.media == "document" else FSInputFile(photo.path)
    return await bot.send_document(chat_id, file, **options)


async def edit_in_place(message: Message, text: str, markup: Any) -> None:
    """A menu or a page redrawn in its own message; a press that changes nothing (pressed
    twice) is no error."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            raise
