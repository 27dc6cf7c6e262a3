"""Photo intake: a compressed photo, an image sent as a file, or an album.

Photos without a command go to the set collector (bot/sets/collector.py): a lone photo gets
its keyboard as before, photos sent together become one set with one message. A command as
the caption applies to its photo, or to the whole album, which becomes a set of its own.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot import keyboards
from bot.actions import perform, perform_arriving, starts_at_once
from bot.command_parsing import ParsedCommand, split_command
from bot.intake import has_image
from bot.jobs import JobRunner
from bot.ops import parse_command
from bot.replies import reply_to
from bot.sets.collector import SetCollector
from bot.sets.runner import SetRunner
from bot.storage import Photo, Storage, User
from bot.texts import t
from handlers.sets import run_command
from services.operations import Op


async def receive(
    message: Message,
    bot: Bot,
    db: Storage,
    jobs: JobRunner,
    sets: SetCollector,
    set_runs: SetRunner,
    state: FSMContext,
    user: User,
    lang: str,
    album: list[Message] | None = None,
) -> None:
    messages = album or [message]
    caption = next((m.caption for m in messages if m.caption), None)
    command = split_command(caption)
    parsed = parse_command(*command) if command else None
    if parsed is None:
        await sets.collect(messages, user, lang)
        return
    admitted = await sets.admit_all(messages, user, lang)
    if len(admitted) == 1 and has_image(admitted[0]) and starts_at_once(parsed):
        await perform_arriving(
            admitted[0], parsed, bot=bot, sets=sets, jobs=jobs, user=user, lang=lang
        )
        return
    stored: list[tuple[Message, Photo]] = []
    for item in admitted:
        photo = await sets.take(item, user.id, lang, counted=has_image(item))
        if photo is not None:
            stored.append((item, photo))
    if len(stored) >= 2 and not _background_pair(parsed, len(stored)):
        named = [
            (photo, item.document.file_name if item.document else None) for item, photo in stored
        ]
        photo_set = await sets.album_set(named, user, lang, messages[0].message_id)
        await run_command(
            photo_set,
            parsed,
            bot=bot,
            db=db,
            sets=sets,
            set_runs=set_runs,
            state=state,
            user=user,
            lang=lang,
        )
        return
    for index, (item, photo) in enumerate(stored, start=1):  # a single photo: as before
        text = (
            t(lang, "photo.received_n", index=index, total=len(stored))
            if len(stored) > 1
            else t(lang, "photo.received")
        )
        await bot.send_message(
            item.chat.id,
            text,
            reply_markup=keyboards.photo_actions(photo.id, lang),
            reply_parameters=reply_to(item.message_id),
        )
    await perform(message, parsed, [photo for _, photo in stored], jobs=jobs, user=user, lang=lang)


def _background_pair(parsed: ParsedCommand, count: int) -> bool:
    """An album of two captioned `/background` (or `/background photo`): the second photo
    is the first one's background (bot/background_requests.py), not a set."""
    bare_or_photo = parsed.problem == "background.ask" or parsed.params.get("kind") == "photo"
    return parsed.op == Op.BACKGROUND and bare_or_photo and count == 2


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(receive, F.photo | F.document)
    return router
