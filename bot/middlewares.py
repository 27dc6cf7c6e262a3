"""Middlewares: who the user is (and whether they may use the bot), their language, albums,
and how a button press is answered."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18nMiddleware

from bot.command_parsing import split_command
from bot.intake import has_image
from bot.settings import Settings
from bot.storage import Storage, User
from bot.texts import language_of, t

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def addressed_to_bot(
    message: Message, album: list[Message] | None, bot_username: str | None = None
) -> bool:
    """In a private chat everything is; in a group only commands (text or a caption) are,
    and not those addressed to another bot (/tag@other_bot), so the bot does not answer
    every photo and remark of the group's members."""
    if message.chat.type == "private":
        return True
    return any(
        split_command(m.text or m.caption, bot_username) is not None for m in album or [message]
    )


class UserMiddleware(BaseMiddleware):
    """Checks ALLOWED_USERS, records the user (with Telegram's language), injects `user`."""

    def __init__(self, settings: Settings, db: Storage) -> None:
        self.settings = settings
        self.db = db

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = getattr(event, "from_user", None)
        if sender is None or sender.is_bot:
            return None
        if isinstance(event, Message) and event.chat.type != "private":
            me = await data["bot"].me()  # cached by aiogram after the first call
            if not addressed_to_bot(event, data.get("album"), me.username):
                return None
        lang = language_of(sender.language_code)
        if not self.settings.is_allowed(sender.id):
            if isinstance(event, Message):
                await event.answer(t(lang, "access.denied"))
            elif isinstance(event, CallbackQuery):
                await event.answer(t(lang, "access.denied"), show_alert=True)
            return None
        user = await self.db.get_user(sender.id)  # a read on the hot path; write on change
        if (
            user is None
            or user.username != sender.username
            or (user.language != lang and not user.language_chosen)  # /settings' choice stays
        ):
            user = await self.db.upsert_user(sender.id, lang, sender.username)
        data["user"] = user
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """The user's language for the gettext catalogs, injected into handlers as `lang` too.

    Registered after UserMiddleware: the stored language of the user row it loaded wins,
    else Telegram's `language_code` (Russian for ru/uk/be/kk, else English).
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        lang = await self.get_locale(event, data)
        data["lang"] = lang
        with self.i18n.context(), self.i18n.use_locale(lang):
            return await handler(event, data)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        if isinstance(user, User) and user.language in self.i18n.available_locales:
            return user.language
        sender = getattr(event, "from_user", None)
        return language_of(sender.language_code if sender else None)


class AlbumMiddleware(BaseMiddleware):
    """Gathers the messages of one album; the handler gets them all once, as `album`.

    Telegram delivers an album as separate messages sharing a media_group_id. Updates are
    handled as concurrent tasks, so the first message waits `latency` seconds for its
    siblings and the others are absorbed: each sibling's handling ends when the album's
    does, so none counts as handled (bot/inbox) before the album is, and a restart in
    between handles the whole album again.
    """

    def __init__(self, latency: float = 0.6) -> None:
        self.latency = latency
        self._albums: dict[tuple[int, str], tuple[list[Message], asyncio.Event]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message) or not event.media_group_id:
            return await handler(event, data)
        key = (event.chat.id, event.media_group_id)
        if key in self._albums:
            messages, handled = self._albums[key]
            messages.append(event)
            await handled.wait()
            return None
        handled = asyncio.Event()
        self._albums[key] = ([event], handled)
        try:
            await asyncio.sleep(self.latency)
            album = sorted(self._albums.pop(key)[0], key=lambda message: message.message_id)
            data["album"] = album
            # Route the album by an image in it: a video first must not send it to the
            # fallback.
            lead = next((message for message in album if has_image(message)), album[0])
            return await handler(lead, data)
        finally:
            self._albums.pop(key, None)
            handled.set()


async def answer_now(
    query: CallbackQuery, callback_answer: CallbackAnswer, text: str | None = None
) -> None:
    """Answer the button before slow work (a job queued, a file uploaded, data erased): the
    spinner stops at once and the toast comes before the work's own messages. The middleware
    then sends nothing more (one answer per press)."""
    callback_answer.disable()
    await query.answer(text)


def alert(callback_answer: CallbackAnswer, text: str) -> None:
    """The button's answer becomes an alert with `text` (sent when the handler returns)."""
    callback_answer.text = text
    callback_answer.show_alert = True


class FailedCallbacks(BaseMiddleware):
    """Inside aiogram's `CallbackAnswerMiddleware` (which answers every button press once the
    handler returns): a handler that raised leaves the answer to `handlers/error_answers.py`,
    whose alert says what went wrong, so that no query is answered twice."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            answer = data.get("callback_answer")
            if isinstance(answer, CallbackAnswer) and not answer.answered:
                answer.disabled = True
            raise
