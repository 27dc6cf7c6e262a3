"""Buttons under a check: Clean text, Fix for <marketplace>, New background, and the row of
profiles (check the photo again for another marketplace; it becomes the user's)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from bot import keyboards
from bot.check_requests import domain_of, known_profiles
from bot.jobs import JobRunner
from bot.keyboards import CHECK_ACTIONS, CheckButton
from bot.middlewares import alert, answer_now
from bot.ops import op_label
from bot.owned import owned
from bot.replies import reply_to
from bot.storage import Job, Storage, User
from bot.texts import t
from services.operations import Op


async def check_button(
    query: CallbackQuery,
    callback_data: CheckButton,
    job: Job,
    bot: Bot,
    db: Storage,
    jobs: JobRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    if job.op != Op.CHECK:
        alert(callback_answer, t(lang, "result.gone"))
        return
    photo = await db.get_photo(job.photo_id)
    if photo is None or photo.deleted or not photo.path.exists():
        alert(callback_answer, t(lang, "photo.gone"))
        return
    action = callback_data.action
    if action == "bg":  # the background menu, as the photo's own Background button opens it
        await answer_now(query, callback_answer)
        await bot.send_message(
            photo.chat_id,
            t(lang, "background.ask"),
            reply_markup=keyboards.background_menu(photo.id, lang),
            reply_parameters=reply_to(photo.message_id),
        )
        return
    if action in ("clean", "straighten", "enhance"):
        op, params = Op(action), {}
        if action == "clean" and domain_of(str(job.params.get("profile", ""))) == "hotel":
            params = {"all": True}  # a room photo has no product whose print stays
    else:  # fix, or a check for another profile
        profile = callback_data.value or str(job.params.get("profile", ""))
        if profile not in known_profiles():
            alert(callback_answer, t(lang, "result.gone"))
            return
        op, params = (Op.FIX if action == "fix" else Op.CHECK), {"profile": profile}
    await answer_now(query, callback_answer, op_label(lang, op))
    await jobs.request(
        user_id=user.id, lang=lang, domain=user.domain, photo=photo, op=op, params=params
    )


def get_router() -> Router:
    router = Router(name=__name__)
    buttons = CheckButton.filter(F.action.in_(CHECK_ACTIONS))
    router.callback_query.register(check_button, buttons, flags=owned("job"))
    return router
