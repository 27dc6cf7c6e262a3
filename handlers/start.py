"""/start, /help and the per-user domain (products or hotel)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import keyboards
from bot.keyboards import DomainPick
from bot.ops import help_text
from bot.storage import Storage, User
from bot.texts import DOMAIN_KEYS, t
from services.vocabulary import DOMAINS


async def start(message: Message, user: User, lang: str) -> None:
    await message.answer(t(lang, "start", domain=t(lang, DOMAIN_KEYS[user.domain])))


async def help_(message: Message, user: User, lang: str) -> None:
    text = help_text(lang, domain=t(lang, DOMAIN_KEYS[user.domain]))
    await message.answer(text + "\n\n" + t(lang, "help.library"))


async def ask_domain(message: Message, user: User, lang: str) -> None:
    await message.answer(
        t(lang, "domain.ask", domain=t(lang, DOMAIN_KEYS[user.domain])),
        reply_markup=keyboards.domain_menu(user.domain, lang),
    )


async def set_domain(
    query: CallbackQuery,
    callback_data: DomainPick,
    user: User,
    lang: str,
    db: Storage,
    callback_answer: CallbackAnswer,
) -> None:
    await db.set_domain(user.id, callback_data.domain)
    name = t(lang, DOMAIN_KEYS[callback_data.domain])
    callback_answer.text = name
    if isinstance(query.message, Message):
        await query.message.edit_text(t(lang, "domain.set", domain=name))


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(ask_domain, Command("domain"))
    router.callback_query.register(set_domain, DomainPick.filter(F.domain.in_(DOMAINS)))
    return router
