"""/settings: one inline menu (language, domain, marketplace profile where the build has it,
default background, tags mode, edit strength), stored per user and applied at once."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import user_settings
from bot.library import keyboards
from bot.library.keyboards import SettingPick
from bot.library.sending import edit_in_place
from bot.middlewares import alert
from bot.publish.tokens import TokenKeeper
from bot.storage import Storage, User
from bot.texts import t
from bot.user_settings import BY_NAME, SETTING_KEYS


async def show(message: Message, db: Storage, tokens: TokenKeeper, user: User, lang: str) -> None:
    text, markup = await _menu(db, tokens, user, lang)
    await message.answer(text, reply_markup=markup)


async def _menu(db: Storage, tokens: TokenKeeper, user: User, lang: str) -> tuple[str, object]:
    rows = await user_settings.rows(db)
    values = await user_settings.current(db, user)
    last4 = await tokens.last4(user.id)
    wb = t(lang, "settings.wb_connected", last4=last4) if last4 else t(lang, "settings.wb_none")
    title = t(lang, "settings.title")
    return f"{title}\n{wb}", keyboards.settings_menu(rows, values, lang)


async def pick(
    query: CallbackQuery,
    callback_data: SettingPick,
    db: Storage,
    tokens: TokenKeeper,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    name, value = callback_data.row, callback_data.value
    row = BY_NAME.get(name)
    if name and (row is None or row not in await user_settings.rows(db)):
        alert(callback_answer, t(lang, "photo.gone"))  # a row this build no longer has
        return
    if row is not None and not value:  # open the row's choices
        current = (await user_settings.current(db, user))[row.name]
        if message is not None:
            label = t(lang, SETTING_KEYS[row.name])
            markup = keyboards.setting_choices(row, current, lang)
            await edit_in_place(message, t(lang, "settings.choose", setting=label), markup)
        return
    if row is not None:
        if not await user_settings.choose(db, user, name, value):
            alert(callback_answer, t(lang, "photo.gone"))
            return
        user = await db.get_user(user.id) or user
        lang = user.language  # a new language answers in itself at once
        label, chosen = t(lang, SETTING_KEYS[row.name]), row.label(lang, value)
        callback_answer.text = t(lang, "settings.saved", setting=label, value=chosen)
    if message is not None:
        text, menu = await _menu(db, tokens, user, lang)
        await edit_in_place(message, text, menu)


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show, Command("settings"))
    router.callback_query.register(pick, SettingPick.filter())
    return router
