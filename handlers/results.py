"""Buttons under a result: Again, Full size and each operation's own follow-ups."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, FSInputFile, ReplyParameters

from bot.jobs import JobRunner
from bot.keyboards import ResultAction
from bot.results import FOLLOW_UPS
from bot.storage import Storage, User
from bot.texts import NOTHING_FOUND_KEYS, op_label, t


async def result_action(
    query: CallbackQuery,
    callback_data: ResultAction,
    bot: Bot,
    db: Storage,
    jobs: JobRunner,
    user: User,
    lang: str,
) -> None:
    job = await db.get_job(callback_data.job_id)
    if job is None:
        await query.answer(t(lang, "result.gone"), show_alert=True)
        return
    if job.user_id != user.id:
        await query.answer(t(lang, "result.not_yours"), show_alert=True)
        return
    result = await db.get_result(job.id)
    photo = await db.get_photo(job.photo_id)
    if result is None or photo is None or photo.deleted:
        await query.answer(t(lang, "result.gone"), show_alert=True)
        return
    action = callback_data.action
    if action == "show":
        await query.answer()
        if not await jobs.redeliver(job, photo, lang):
            await bot.send_message(job.chat_id, t(lang, "result.gone"))
        return
    if action == "full":
        path = db.results_dir / str(result.payload.get("file", ""))
        if result.kind != "image" or not path.is_file():
            await query.answer(t(lang, "result.gone"), show_alert=True)
            return
        await query.answer()
        await bot.send_document(
            job.chat_id,
            FSInputFile(path, filename=f"vitrina-{job.op}-{job.id}.png"),
            reply_parameters=ReplyParameters(
                message_id=photo.message_id, allow_sending_without_reply=True
            ),
        )
        return
    follow_up = FOLLOW_UPS.get(action)
    if follow_up is None:
        await query.answer(t(lang, "result.gone"), show_alert=True)
        return
    if not photo.path.exists():
        await query.answer(t(lang, "photo.gone"), show_alert=True)
        return
    asked = follow_up(job.op, dict(job.params), dict(result.payload))
    if asked is None:  # nothing to ask for (e.g. no other object): say so, queue nothing
        await query.answer(t(lang, NOTHING_FOUND_KEYS[action]), show_alert=True)
        return
    op, params = asked
    await query.answer(op_label(lang, op))
    await jobs.request(
        user_id=user.id, lang=lang, domain=user.domain, photo=photo, op=op, params=params
    )


def get_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    router = Router(name=__name__)
    router.callback_query.register(result_action, ResultAction.filter())
    return router
