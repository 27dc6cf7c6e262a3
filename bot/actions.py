"""What happens once a command is parsed: ask for what is missing, or queue the job."""

from __future__ import annotations

import html

from aiogram.types import Message

from bot import keyboards
from bot.commands import ParsedCommand
from bot.jobs import JobRunner
from bot.storage import Photo, User
from bot.texts import t
from services.edit_presets import load_presets


async def perform(
    message: Message, parsed: ParsedCommand, photos: list[Photo], *, jobs: JobRunner,
    user: User, lang: str,
) -> None:  # fmt: skip
    """Run `parsed` on every photo (an album caption means all of its photos)."""
    if not photos:
        return
    if parsed.problem == "background.ask":
        menu = keyboards.background_menu(photos[0].id, lang)
        await message.answer(t(lang, "background.ask"), reply_markup=menu)
        return
    if parsed.problem is not None:
        value = html.escape(str(parsed.params.get("value", ""))[:100])
        presets = ", ".join(f"preset:{name}" for name in load_presets())
        await message.answer(t(lang, parsed.problem, value=value, presets=presets))
        return
    for photo in photos:
        await jobs.request(
            user_id=user.id, lang=lang, domain=user.domain, photo=photo, op=parsed.op,
            params=parsed.params,
        )  # fmt: skip
