"""Offering an upload: from /publish wb, a set's button or a result's (Fix, Gallery). The
token first, then the files, then one message that becomes the plan with its modes."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from aiogram import Bot

from bot.publish import planning
from bot.publish.planning import Source
from bot.publish.tokens import TokenKeeper
from bot.publish.views import modes_keyboard, plan_text
from bot.storage import Storage
from bot.texts import t
from services.publishing.wb_client import TokenRevoked, WbError


async def offer(
    bot: Bot,
    db: Storage,
    tokens: TokenKeeper,
    user_id: int,
    chat_id: int,
    lang: str,
    load: Callable[[], Awaitable[list[Source]]],
) -> None:
    token = await tokens.token(user_id)
    if token is None:
        await bot.send_message(chat_id, t(lang, "publish.not_connected"))
        return
    found = await load()
    if not found:
        await bot.send_message(chat_id, t(lang, "publish.no_set"))
        return
    answer = await bot.send_message(chat_id, t(lang, "publish.matching"))
    try:
        plan = await planning.plan(db, lambda: tokens.client(token), user_id, chat_id, found)
    except TokenRevoked:
        await answer.edit_text(t(lang, "connect.revoked"))
        return
    except WbError as exc:
        await answer.edit_text(t(lang, "publish.wb_error", reason=html.escape(exc.reason)))
        return
    markup = modes_keyboard(plan.run_id, lang) if plan.run_id else None
    await answer.edit_text(plan_text(plan, lang), reply_markup=markup)
