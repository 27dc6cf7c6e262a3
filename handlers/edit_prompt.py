"""The answer to a dialogue of bot/prompts.py: the Edit button's instruction, /gallery's
text. The state lives in the Dispatcher's FSM storage (SQLite) and expires after
PROMPT_TIMEOUT_S: a text written much later is an ordinary message again.
"""

from __future__ import annotations

import time
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.command_parsing import ParsedCommand
from bot.jobs import JobRunner
from bot.ops import ASK, SPECS, spec_of
from bot.prompts import PROMPT_TIMEOUT_S, EditPrompt, ask
from bot.storage import Photo, Storage, User
from bot.texts import t


async def ask_instruction(bot: Bot, state: FSMContext, photo: Photo, lang: str, op: str) -> None:
    """The Edit button: ask for the instruction."""
    await ask(bot, state, photo, lang, op)


async def instruction(
    message: Message, state: FSMContext, db: Storage, jobs: JobRunner, user: User, lang: str
) -> None:
    data = await state.get_data()
    await state.clear()
    if time.time() - float(data.get("asked_at", 0.0)) > PROMPT_TIMEOUT_S:
        raise SkipHandler  # stale: the message is handled as if nothing had been asked
    photo = await db.get_photo(int(data.get("photo_id", 0)))
    if photo is None or photo.deleted or not photo.path.exists():
        await message.reply(t(lang, "photo.gone"))
        return
    parsed = asked_op_parses(data, message.text)
    if parsed is not None and parsed.problem and not parsed.problem.startswith("edit."):
        await message.reply(t(lang, parsed.problem, value=parsed.params.get("value", "")))
        await state.set_state(EditPrompt.instruction)  # asked again: the next text answers
        await state.set_data(data)
        return
    if parsed is None or parsed.problem is not None:
        await message.reply(t(lang, "edit.ask"))
        return
    asked = data.get("params") if isinstance(data.get("params"), dict) else {}
    await jobs.request(
        user_id=user.id,
        lang=lang,
        domain=user.domain,
        photo=photo,
        op=parsed.op,
        params={**asked, **parsed.params},
    )


def asked_op_parses(data: dict[str, Any], text: str | None) -> ParsedCommand | None:
    """The answer to an ASK step parsed by the op that asked (an older build's dialogue
    named none: the first op that asks)."""
    op = data.get("op") or next(spec.op for spec in SPECS if spec.photo_step == ASK)
    spec = spec_of(str(op))
    return spec.parse(spec.op, (text or "").strip()) if spec is not None else None


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(instruction, EditPrompt.instruction, F.text, ~F.text.startswith("/"))
    return router
