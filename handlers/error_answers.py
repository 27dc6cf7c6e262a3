"""The last line of defence: an unexpected error gets logged and a short answer."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.storage.failures import is_storage_failure
from bot.texts import language_of, t

log = logging.getLogger("vitrina.bot")


async def on_error(event: ErrorEvent) -> bool:
    """Registered on the Dispatcher, so it sees errors from every router and middleware."""
    update = event.update
    log.error(
        "update %s failed: %s: %s",
        update.update_id,
        type(event.exception).__name__,
        event.exception,
        exc_info=event.exception,
    )
    message, query = update.message, update.callback_query
    sender = (message or query).from_user if (message or query) else None
    lang = language_of(sender.language_code if sender else None)
    storage = is_storage_failure(event.exception)
    text = t(lang, "error.storage") if storage else t(lang, "error.unexpected")
    try:
        if query is not None:  # unanswered: bot/middlewares.py FailedCallbacks saw to that
            await query.answer(text, show_alert=True)
        elif message is not None:
            await message.answer(text)
    except TelegramAPIError as exc:
        log.warning("could not tell the user about the error: %s", exc)
    return True
