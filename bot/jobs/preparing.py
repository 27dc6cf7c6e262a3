"""Before a job is made: its spec's `prepare` hook fills what the request left out from
storage (/gallery's text from the photo's caption or its /describe copy); what is still
missing and the spec `asks_for` is asked of the user (bot/prompts.py), and no job is made
until they answer."""

from __future__ import annotations

from typing import Any

from aiogram import Bot

from bot.ops import spec_of
from bot.prompts import ask, dialogue
from bot.storage import Photo, Storage


async def prepared(
    bot: Bot,
    storage: Storage,
    photo: Photo,
    user_id: int,
    lang: str,
    op: str,
    params: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The job's params once its spec prepared them; None: the user was asked instead."""
    spec = spec_of(op)
    params = dict(params or {})
    if spec is None or spec.prepare is None:
        return params
    params = await spec.prepare(storage, photo, params)
    if spec.asks_for is None or params.get(spec.asks_for):
        return params
    asked = {key: value for key, value in params.items() if key != spec.asks_for}
    state = dialogue(bot, storage, photo.chat_id, user_id)
    await ask(bot, state, photo, lang, op, params=asked, question_key=spec.question_key)
    return None
