"""Every photo operation's command sent as text (`bot.ops.COMMAND_OPS`: /tag, /night, ...)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.actions import perform
from bot.intake import IntakeError, target_photo
from bot.jobs import JobRunner
from bot.ops import COMMAND_OPS, parse_command
from bot.settings import Settings
from bot.storage import Storage, User
from bot.texts import t
from services.scheduler import ModelServices


async def operation(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: Storage,
    services: ModelServices,
    jobs: JobRunner,
    settings: Settings,
    user: User,
    lang: str,
) -> None:
    parsed = parse_command(command.command.lower(), command.args or "")
    assert parsed is not None  # the filter only lets operation commands through
    try:
        photo = await target_photo(
            message,
            user_id=user.id,
            bot=bot,
            db=db,
            services=services,
            max_bytes=settings.max_image_bytes,
        )
    except IntakeError as exc:
        await message.reply(exc.text(lang))
        return
    if photo is None:
        await message.answer(t(lang, "photo.none"))
        return
    await perform(message, parsed, [photo], jobs=jobs, user=user, lang=lang)


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(operation, Command(*COMMAND_OPS))
    return router
