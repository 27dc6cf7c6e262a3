"""/tag, /night, /tulips, /edit, /background, /describe sent as text."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import keyboards
from bot.commands import COMMAND_OPS, parse_command
from bot.intake import IntakeError, target_photo
from bot.jobs import JobRunner
from bot.settings import Settings
from bot.storage import Storage, User
from bot.texts import t
from services.layer import ModelServices


async def operation(
    message: Message, command: CommandObject, bot: Bot, db: Storage, services: ModelServices,
    jobs: JobRunner, settings: Settings, user: User, lang: str,
) -> None:  # fmt: skip
    parsed = parse_command(command.command.lower(), command.args or "")
    assert parsed is not None  # the filter only lets operation commands through
    try:
        photo = await target_photo(
            message, user_id=user.id, bot=bot, db=db, services=services,
            max_bytes=int(settings.max_image_mb * 2**20),
        )  # fmt: skip
    except IntakeError as exc:
        await message.reply(t(lang, exc.key, **exc.fields))
        return
    if photo is None:
        await message.answer(t(lang, "photo.none"))
        return
    if parsed.problem == "background.ask":
        await message.answer(
            t(lang, "background.ask"), reply_markup=keyboards.background_menu(photo.id, lang)
        )
        return
    if parsed.problem is not None:
        await message.answer(t(lang, parsed.problem, value=parsed.params.get("value", "")))
        return
    await jobs.request(
        user_id=user.id, lang=lang, domain=user.domain, photo=photo, op=parsed.op,
        params=parsed.params,
    )  # fmt: skip


def get_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    router = Router(name=__name__)
    router.message.register(operation, Command(*COMMAND_OPS))
    return router
