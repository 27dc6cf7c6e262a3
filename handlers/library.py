"""/find, /history, /delete, /groups and the library's buttons (a photo's card, pages,
the delete confirmation)."""

from __future__ import annotations

import asyncio

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.jobs import JobRunner
from bot.library import keyboards
from bot.library.find import find_photos
from bot.library.groups import SHOWN, group_library, library_for_grouping, sheet_jpeg
from bot.library.keyboards import HistoryPage, LibraryPhoto
from bot.library.sending import edit_in_place, send_album, send_card
from bot.library.views import find_text, group_caption, history_text
from bot.middlewares import answer_now
from bot.owned import owned
from bot.retention import delete_photo
from bot.settings import Settings
from bot.storage import Photo, Storage, User
from bot.texts import t, tn
from services.errors import ServiceError
from services.operations import Op
from services.scheduler import ModelServices

PAGE = 8  # photos on a /history page
MAX_QUERY = 200


async def find(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: Storage,
    services: ModelServices,
    settings: Settings,
    user: User,
    lang: str,
) -> None:
    query = " ".join((command.args or "").split())[:MAX_QUERY]
    if not query:
        await message.answer(t(lang, "find.usage"))
        return
    await bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_PHOTO)
    answer = await find_photos(
        db, services, user.id, query, min_similarity=settings.find_min_similarity
    )
    if answer.found:
        photos = [item.photo for item in answer.found]
        await send_album(bot, message.chat.id, photos, reply_to=message.message_id)
        markup = keyboards.found([photo.id for photo in photos])
        await message.answer(find_text(answer, lang), reply_markup=markup)
    else:
        await message.answer(find_text(answer, lang))


async def history(message: Message, db: Storage, user: User, lang: str) -> None:
    text, markup = await _history_page(db, user, 0, lang)
    await message.answer(text, reply_markup=markup)


async def history_page(
    query: CallbackQuery,
    callback_data: HistoryPage,
    db: Storage,
    user: User,
    lang: str,
) -> None:
    text, markup = await _history_page(db, user, max(callback_data.page, 0), lang)
    if isinstance(query.message, Message):
        await edit_in_place(query.message, text, markup)


async def _history_page(db: Storage, user: User, page: int, lang: str) -> tuple[str, object]:
    total, items = await db.history_page(user.id, page * PAGE, PAGE)
    if not items and page > 0:  # photos deleted meanwhile: the last page there is
        page = max((total - 1) // PAGE, 0)
        total, items = await db.history_page(user.id, page * PAGE, PAGE)
    pages = max((total + PAGE - 1) // PAGE, 1)
    markup = keyboards.history([item.photo.id for item in items], page, pages) if items else None
    return history_text(items, page * PAGE, total, lang), markup


async def open_photo(
    query: CallbackQuery,
    photo: Photo,
    bot: Bot,
    db: Storage,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    if query.message is None:
        return
    await answer_now(query, callback_answer)  # re-sending a photo takes a moment
    await send_card(bot, db, photo, query.message.chat.id, lang)


async def delete_command(message: Message, db: Storage, user: User, lang: str) -> None:
    """/delete as a reply to a photo (or to the bot's answer under it)."""
    photo = None
    reply = message.reply_to_message
    for replied in (reply, reply.reply_to_message if reply else None):
        if replied is not None and photo is None:
            photo = await db.photo_by_message(replied.chat.id, replied.message_id)
    if photo is None or photo.deleted or photo.user_id != user.id:
        await message.answer(t(lang, "delete.usage"))
        return
    markup = keyboards.delete_confirm(photo.id, lang)
    await message.reply(t(lang, "delete.ask"), reply_markup=markup)


async def delete_ask(query: CallbackQuery, photo: Photo, lang: str) -> None:
    if isinstance(query.message, Message):
        markup = keyboards.delete_confirm(photo.id, lang)
        await query.message.reply(t(lang, "delete.ask"), reply_markup=markup)


async def delete_keep(query: CallbackQuery, lang: str) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(t(lang, "delete.kept"))


async def delete_confirm(
    query: CallbackQuery,
    photo: Photo,
    db: Storage,
    jobs: JobRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    await answer_now(query, callback_answer)  # cancelling its jobs may take a moment
    await jobs.cancel_jobs(await db.active_job_ids(photo.id), user.id)
    await delete_photo(db, photo.id)
    if isinstance(query.message, Message):
        await query.message.edit_text(t(lang, "delete.done"))


async def groups(
    message: Message, bot: Bot, db: Storage, services: ModelServices, user: User, lang: str
) -> None:
    photos = await library_for_grouping(db, user.id)
    if len(photos) < 2:
        await message.answer(t(lang, "groups.few"))
        return
    if services.missing_weights(Op.GROUP) != []:
        await message.answer(t(lang, "groups.unavailable"))
        return
    progress = await message.answer(tn(lang, "groups.working", len(photos), count=len(photos)))
    try:
        result = await group_library(db, services, user.id, photos)
    except ServiceError:
        await progress.edit_text(t(lang, "groups.failed"))
        return
    grouping = result.grouping
    for number, group in enumerate(grouping.groups[:SHOWN], start=1):
        paths = [photos[i].path for i in group.members]
        sheet = await asyncio.to_thread(sheet_jpeg, paths)
        name = group.name_ru if lang == "ru" else group.name_en
        caption = group_caption(number, name, len(group.members), lang)
        if sheet:
            file = BufferedInputFile(sheet, filename=f"group-{number:02d}.jpg")
            await bot.send_photo(message.chat.id, file, caption=caption)
    count = len(grouping.groups)
    lines = [
        tn(
            lang,
            "groups.summary",
            count,
            photos=grouping.photos,
            count=count,
            tags=grouping.distinct_top_tags,
        )
    ]
    if count > SHOWN:
        lines.append(t(lang, "groups.more", shown=SHOWN))
    if result.left_out:
        lines.append(tn(lang, "groups.left_out", len(result.left_out), count=len(result.left_out)))
    await progress.edit_text("\n".join(lines))


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(find, Command("find", "search"))
    router.message.register(history, Command("history"))
    router.message.register(delete_command, Command("delete"))
    router.message.register(groups, Command("groups"))
    router.callback_query.register(history_page, HistoryPage.filter())
    # The photo must be there (its file need not: it can still be deleted) and the presser's.
    register, button = router.callback_query.register, LibraryPhoto.filter
    register(open_photo, button(F.action == "open"), flags=owned("photo"))
    register(delete_ask, button(F.action == "delete"), flags=owned("photo"))
    register(delete_keep, button(F.action == "no"))
    register(delete_confirm, button(F.action == "yes"), flags=owned("photo"))
    return router
