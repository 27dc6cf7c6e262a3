"""Buttons under a description: English original / back to Russian, and Copy-ready.

"Another variant" is a follow-up job (bot/ops/describe.py `next_variant`) and goes through
handlers/result_buttons.py; these two only show the stored result in another form.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import keyboards
from bot.keyboards import ResultAction
from bot.middlewares import alert
from bot.owned import owned
from bot.rendering import render_copy_ready, render_description, render_english
from bot.replies import reply_to
from bot.storage import Job, Storage
from bot.texts import t
from services.results import COPY

VIEWS = ("english", "russian", "copy")


async def description_view(
    query: CallbackQuery,
    callback_data: ResultAction,
    job: Job,
    bot: Bot,
    db: Storage,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    result = await db.get_result(job.id)
    if result is None or result.kind != COPY.name:
        alert(callback_answer, t(lang, "result.gone"))
        return
    copy = COPY.from_payload(result.payload)
    if callback_data.action == "copy":
        photo = await db.get_photo(job.photo_id)
        reply = reply_to(photo.message_id if photo is not None else None)
        await bot.send_message(job.chat_id, render_copy_ready(copy), reply_parameters=reply)
        return
    english = callback_data.action == "english"
    text = render_english(copy, lang) if english else render_description(copy, lang)
    markup = keyboards.text_result_actions(job.id, job.op, lang, english_shown=english)
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:  # pressed twice: "message is not modified"
            if "not modified" not in str(exc):
                raise


def get_router() -> Router:
    router = Router(name=__name__)
    views = ResultAction.filter(F.action.in_(VIEWS))
    router.callback_query.register(description_view, views, flags=owned("job"))
    return router
