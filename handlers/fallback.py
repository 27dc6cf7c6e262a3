"""The catch-all: unknown commands, text without a photo, anything else."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.middlewares import alert
from bot.texts import t


async def unknown_command(message: Message, lang: str) -> None:
    command = html.escape((message.text or "").split()[0][:64])
    await message.answer(t(lang, "unknown.command", command=command))


async def text_without_photo(message: Message, lang: str) -> None:
    await message.answer(t(lang, "text.guidance"))


async def unsupported(message: Message, lang: str) -> None:
    await message.answer(t(lang, "unsupported"))


async def stale_button(query: CallbackQuery, lang: str, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, t(lang, "photo.gone"))


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(text_without_photo, F.text)
    router.message.register(unsupported)
    router.callback_query.register(stale_button)
    return router
