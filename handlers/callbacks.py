"""Inline buttons under a photo, the background sub-menu and Cancel."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import keyboards
from bot.command_parsing import MENU_BACKGROUNDS, PRESETS, parse_background
from bot.jobs import JobRunner
from bot.keyboards import BackgroundPick, CancelJob, PhotoAction
from bot.middlewares import alert, answer_now
from bot.ops import ASK, BY_OP, MENU, PHOTO_ACTIONS, op_label
from bot.owned import owned
from bot.storage import Photo, User
from bot.texts import t
from handlers.edit_prompt import ask_instruction
from services.operations import Op

BACKGROUND_VALUES = frozenset({*MENU_BACKGROUNDS, *PRESETS, "back"})


async def photo_action(
    query: CallbackQuery,
    callback_data: PhotoAction,
    photo: Photo,
    bot: Bot,
    jobs: JobRunner,
    user: User,
    lang: str,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    spec = BY_OP[callback_data.action]
    if spec.photo_step == MENU:
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(
                reply_markup=keyboards.background_menu(photo.id, lang)
            )
        return
    if spec.photo_step == ASK and jobs.services.missing_weights(spec.op) == []:
        if query.message is not None and query.message.chat.type != "private":
            # groups pass commands only to the bot: the next plain text would never arrive
            alert(callback_answer, t(lang, "edit.ask"))
            return
        callback_answer.text = op_label(lang, spec.op)
        await ask_instruction(bot, state, photo, lang, spec.op)
        return
    await answer_now(query, callback_answer, op_label(lang, spec.op))
    await jobs.request(user_id=user.id, lang=lang, domain=user.domain, photo=photo, op=spec.op)


async def background_pick(
    query: CallbackQuery,
    callback_data: BackgroundPick,
    photo: Photo,
    jobs: JobRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    if callback_data.value == "back":
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(
                reply_markup=keyboards.photo_actions(photo.id, lang)
            )
        return
    spec = parse_background(callback_data.value)
    await answer_now(query, callback_answer)
    await jobs.request(
        user_id=user.id,
        lang=lang,
        domain=user.domain,
        photo=photo,
        op=Op.BACKGROUND,
        params=spec or {},
    )


async def cancel_job(
    query: CallbackQuery,
    callback_data: CancelJob,
    jobs: JobRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    if jobs.cancel(callback_data.job_id, user.id):
        callback_answer.text = t(lang, "job.cancel_ok")
    else:
        callback_answer.text = t(lang, "job.not_found")


def get_router() -> Router:
    router = Router(name=__name__)
    # Only values our keyboards offer: forged data falls through to the stale-button answer.
    # The photo must be there, its file too, and the presser's (bot/owned.py).
    buttons = {spec.op.value for spec in PHOTO_ACTIONS}
    actions = PhotoAction.filter(F.action.in_(buttons))
    router.callback_query.register(photo_action, actions, flags=owned("photo", file=True))
    backgrounds = BackgroundPick.filter(F.value.in_(BACKGROUND_VALUES))
    router.callback_query.register(background_pick, backgrounds, flags=owned("photo", file=True))
    router.callback_query.register(cancel_job, CancelJob.filter())
    return router
