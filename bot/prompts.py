"""Dialogues that ask for what a job needs before it runs: the Edit button's instruction and
/gallery's text. The user's next text message is the answer (aiogram FSM, kept in SQLite:
bot/storage/fsm.py); handlers/edit_prompt.py takes it and queues the job.

`ask` may be called by a handler (with its FSMContext) or by the job runner (an op's spec
whose `prepare` left out what it `asks_for`: `dialogue` builds the context of that chat)."""

from __future__ import annotations

import time
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey

from bot.replies import reply_to
from bot.storage import Photo, Storage
from bot.storage.fsm import SqliteStorage
from bot.texts import t

#: a question left unanswered this long no longer captures a text (the FSM rows' TTL too)
PROMPT_TIMEOUT_S = 600.0


class EditPrompt(StatesGroup):  # the name is stored with the dialogue: it never changes
    instruction = State()


def dialogue(bot: Bot, storage: Storage, chat_id: int, user_id: int) -> FSMContext:
    """The FSM context of a user's private dialogue with the bot, outside a handler."""
    key = StorageKey(bot_id=bot.id, chat_id=chat_id, user_id=user_id)
    return FSMContext(storage=SqliteStorage(storage, PROMPT_TIMEOUT_S), key=key)


async def ask(
    bot: Bot,
    state: FSMContext,
    photo: Photo,
    lang: str,
    op: str,
    *,
    params: dict[str, Any] | None = None,
    question_key: str | None = None,
) -> None:
    """Remember which photo the next text message is for, which op asked and the params
    asked so far (a profile, a style), and ask (`question_key`; the edit's by default)."""
    await state.set_state(EditPrompt.instruction)
    data = {"photo_id": photo.id, "op": op, "asked_at": time.time(), "params": params or {}}
    await state.set_data(data)
    question = t(lang, question_key) if question_key else t(lang, "edit.ask_next")
    await bot.send_message(photo.chat_id, question, reply_parameters=reply_to(photo.message_id))
