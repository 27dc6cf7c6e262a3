"""/connect wb, /disconnect, /publish wb and the mode buttons (issue 30).

/publish is a plain command, not an operation of the registry (bot/ops): it runs no model
on a photo; it sends the set's photos (or their results) to the seller's cards."""

from __future__ import annotations

import contextlib
import html
import time

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.keyboards import PublishSet
from bot.middlewares import alert, answer_now
from bot.owned import owned
from bot.publish import planning
from bot.publish.flow import offer
from bot.publish.runner import PublishRunner
from bot.publish.tokens import TokenKeeper
from bot.publish.views import MODE_KEYS, PublishPick
from bot.storage import PhotoSet, Storage, User
from bot.storage.publish_queries import CANCELLED, PLANNED
from bot.texts import t
from services.publishing.wb_client import TokenRevoked, WbError

MARKETPLACES = {"", "wb", "wildberries", "вб", "вайлдберриз"}
#: a WB token is a JWT: far longer than this, and one word
MIN_TOKEN_LENGTH = 20


class ConnectPrompt(StatesGroup):  # the name is stored with the dialogue: it never changes
    token = State()


def _marketplace_ok(command: CommandObject) -> bool:
    return (command.args or "").strip().lower() in MARKETPLACES


async def connect(
    message: Message, command: CommandObject, state: FSMContext, tokens: TokenKeeper, lang: str
) -> None:
    if not _marketplace_ok(command):
        await message.answer(t(lang, "connect.which"))
        return
    if not tokens.can_store:
        await message.answer(t(lang, "connect.no_key"))
        return
    await state.set_state(ConnectPrompt.token)
    await state.set_data({"asked_at": time.time()})  # never the token itself
    await message.answer(t(lang, "connect.ask"))


async def token_sent(
    message: Message, state: FSMContext, db: Storage, tokens: TokenKeeper, user: User, lang: str
) -> None:
    token = (message.text or "").strip()
    await state.clear()
    with contextlib.suppress(TelegramAPIError):
        await message.delete()  # the token leaves the chat at once
    stored = False
    try:
        if not tokens.can_store:  # SECRET_KEY removed since the question was asked
            await message.answer(t(lang, "connect.no_key"))
            return
        if len(token) < MIN_TOKEN_LENGTH or any(ch.isspace() for ch in token):
            await message.answer(t(lang, "connect.bad_format"))
            return
        try:
            await tokens.check(token)
        except TokenRevoked:
            await message.answer(t(lang, "connect.rejected"))
            return
        except WbError as exc:
            await message.answer(t(lang, "connect.failed", reason=html.escape(exc.reason)))
            return
        shown = await tokens.store(user.id, token)
        stored = True
        await message.answer(t(lang, "connect.done", last4=shown))
    finally:
        if not stored:  # the text still went through the inbox: the WAL is emptied too
            await db.forget_clear_copies("token")


async def disconnect(
    message: Message, command: CommandObject, tokens: TokenKeeper, user: User, lang: str
) -> None:
    if not _marketplace_ok(command):
        await message.answer(t(lang, "connect.which"))
        return
    forgotten = await tokens.forget(user.id)
    text = t(lang, "disconnect.done") if forgotten else t(lang, "disconnect.none")
    await message.answer(text)


async def publish(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: Storage,
    tokens: TokenKeeper,
    user: User,
    lang: str,
) -> None:
    if not _marketplace_ok(command):
        await message.answer(t(lang, "connect.which"))
        return
    chat_id = message.chat.id
    await offer(
        bot,
        db,
        tokens,
        user.id,
        chat_id,
        lang,
        lambda: planning.last_set_sources(db, user.id, chat_id),
    )


async def publish_set(
    query: CallbackQuery,
    callback_data: PublishSet,
    photo_set: PhotoSet,
    bot: Bot,
    db: Storage,
    tokens: TokenKeeper,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    """The set's button: its photos (their newest image results) to WB."""
    await answer_now(query, callback_answer)
    await offer(
        bot,
        db,
        tokens,
        user.id,
        photo_set.chat_id,
        lang,
        lambda: planning.set_sources(db, photo_set.id),
    )


async def pick_mode(
    query: CallbackQuery,
    callback_data: PublishPick,
    db: Storage,
    publisher: PublishRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    run = await db.get_publish_run(callback_data.run_id)
    if run is None or run.user_id != user.id or callback_data.mode not in MODE_KEYS:
        alert(callback_answer, t(lang, "photo.gone"))
        return
    if run.status != PLANNED:
        alert(callback_answer, t(lang, "publish.already"))
        return
    await answer_now(query, callback_answer)
    message = query.message if isinstance(query.message, Message) else None
    if callback_data.mode == "cancel":
        await db.set_publish_run(run.id, status=CANCELLED)
        note = t(lang, "publish.cancelled")
    elif await publisher.start(run.id, callback_data.mode):
        note = t(lang, "publish.chosen", mode=t(lang, MODE_KEYS[callback_data.mode]))
    else:
        note = t(lang, "publish.already")
    if message is not None:
        with contextlib.suppress(TelegramAPIError):
            await message.edit_text(f"{message.html_text}\n\n{note}", reply_markup=None)


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(connect, Command("connect"))
    router.message.register(disconnect, Command("disconnect"))
    router.message.register(publish, Command("publish"))
    router.message.register(
        token_sent, StateFilter(ConnectPrompt.token), F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(pick_mode, PublishPick.filter())
    router.callback_query.register(publish_set, PublishSet.filter(), flags=owned("set"))
    return router
