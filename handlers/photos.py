"""Photo intake: a compressed photo, an image sent as a file, or an album."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message, ReplyParameters

from bot import keyboards
from bot.actions import perform
from bot.command_parsing import parse_command, split_command
from bot.intake import IntakeError, intake
from bot.jobs import JobRunner
from bot.settings import Settings
from bot.storage import Photo, Storage, User
from bot.texts import t
from services.scheduler import ModelServices


async def receive(
    message: Message,
    bot: Bot,
    db: Storage,
    services: ModelServices,
    jobs: JobRunner,
    settings: Settings,
    user: User,
    lang: str,
    album: list[Message] | None = None,
) -> None:
    messages = album or [message]
    stored: list[Photo] = []
    max_bytes = settings.max_image_bytes
    for index, item in enumerate(messages, start=1):
        try:
            photo = await intake(
                item, user_id=user.id, bot=bot, db=db, services=services, max_bytes=max_bytes
            )
        except IntakeError as exc:
            await item.reply(exc.text(lang))
            continue
        stored.append(photo)
        text = (
            t(lang, "photo.received_n", index=index, total=len(messages))
            if len(messages) > 1
            else t(lang, "photo.received")
        )
        await bot.send_message(
            item.chat.id,
            text,
            reply_markup=keyboards.photo_actions(photo.id, lang),
            reply_parameters=ReplyParameters(message_id=item.message_id),
        )
    caption = next((m.caption for m in messages if m.caption), None)
    command = split_command(caption)
    parsed = parse_command(*command) if command else None
    if parsed is None:
        return
    await perform(message, parsed, stored, jobs=jobs, user=user, lang=lang)


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(receive, F.photo | F.document)
    return router
