"""/forget_me: erase everything the bot keeps about the user, after a confirmation."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import keyboards
from bot.jobs import JobRunner
from bot.keyboards import ForgetMe
from bot.middlewares import answer_now
from bot.publish.runner import PublishRunner
from bot.retention import forget_user
from bot.sets.runner import SetRunner
from bot.storage import Storage, User
from bot.texts import t


async def ask(message: Message, lang: str) -> None:
    await message.answer(t(lang, "forget.ask"), reply_markup=keyboards.forget_me_confirm(lang))


async def confirm(
    query: CallbackQuery,
    callback_data: ForgetMe,
    db: Storage,
    jobs: JobRunner,
    set_runs: SetRunner,
    publisher: PublishRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    await answer_now(query, callback_answer)  # erasing everything takes a moment
    if not callback_data.confirm:
        text = t(lang, "forget.kept")
    else:
        await jobs.cancel_user(user.id)
        await set_runs.cancel_user(user.id)
        await publisher.cancel_user(user.id)
        await forget_user(db, user.id)
        text = t(lang, "forget.done")
    if isinstance(query.message, Message):
        await query.message.edit_text(text)
    else:
        await query.bot.send_message(user.id, text)  # type: ignore[union-attr]


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(ask, Command("forget_me", "forgetme"))
    router.callback_query.register(confirm, ForgetMe.filter())
    return router
