"""Buttons under a result: Again, Full size and each operation's own follow-ups."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, FSInputFile
from aiogram.utils.callback_answer import CallbackAnswer

from bot.jobs import JobRunner
from bot.keyboards import ResultAction
from bot.middlewares import alert, answer_now
from bot.ops import follow_up, op_label
from bot.owned import owned
from bot.publish.flow import offer
from bot.publish.planning import job_sources
from bot.publish.tokens import TokenKeeper
from bot.replies import reply_to
from bot.storage import Job, Storage, User
from bot.texts import NOTHING_FOUND_KEYS, t


async def result_action(
    query: CallbackQuery,
    callback_data: ResultAction,
    job: Job,
    bot: Bot,
    db: Storage,
    jobs: JobRunner,
    tokens: TokenKeeper,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    result = await db.get_result(job.id)
    photo = await db.get_photo(job.photo_id)
    if result is None or photo is None or photo.deleted:
        alert(callback_answer, t(lang, "result.gone"))
        return
    action = callback_data.action
    if action == "show":
        await answer_now(query, callback_answer)  # a result re-uploaded may take a while
        if not await jobs.redeliver(job, photo, lang):
            await bot.send_message(job.chat_id, t(lang, "result.gone"))
        return
    if action == "full":
        image = result.image
        path = db.results_dir / image.file if image is not None and image.file else None
        if path is None or not path.is_file():
            alert(callback_answer, t(lang, "result.gone"))
            return
        await answer_now(query, callback_answer)  # the full-size upload takes a while
        await bot.send_document(
            job.chat_id,
            FSInputFile(path, filename=f"vitrina-{job.op}-{job.id}{path.suffix or '.png'}"),
            reply_parameters=reply_to(photo.message_id),
        )
        return
    if action == "publish":  # a Fix card or a gallery's slides onto the seller's WB card
        await answer_now(query, callback_answer)
        await offer(bot, db, tokens, user.id, job.chat_id, lang, lambda: job_sources(db, job.id))
        return
    if action == "zip":  # a gallery's slides and results.csv
        await answer_now(query, callback_answer)
        if not await jobs.delivery.gallery.send_zip(job, photo, result, lang):
            await bot.send_message(job.chat_id, t(lang, "result.gone"))
        return
    asks = follow_up(job.op, action)
    if asks is None:
        alert(callback_answer, t(lang, "result.gone"))
        return
    if not photo.path.exists():
        alert(callback_answer, t(lang, "photo.gone"))
        return
    asked = asks(job.op, dict(job.params), dict(result.payload))
    if asked is None:  # nothing to ask for (e.g. no other object): say so, queue nothing
        alert(callback_answer, t(lang, NOTHING_FOUND_KEYS[action]))
        return
    op, params = asked
    await answer_now(query, callback_answer, op_label(lang, op))
    await jobs.request(
        user_id=user.id, lang=lang, domain=user.domain, photo=photo, op=op, params=params
    )


def get_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(result_action, ResultAction.filter(), flags=owned("job"))
    return router
