"""The Edit button: the user's next text message is the instruction (aiogram FSM).

The state lives in the Dispatcher's FSM storage (MemoryStorage by default) and expires after
PROMPT_TIMEOUT_S: a text written much later is an ordinary message again.
"""

from __future__ import annotations

import time
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bot.command_parsing import ParsedCommand
from bot.jobs import JobRunner
from bot.ops import ASK, SPECS, spec_of
from bot.replies import reply_to
from bot.storage import Photo, Storage, User
from bot.texts import t

PROMPT_TIMEOUT_S = 600.0


class EditPrompt(StatesGroup):
    instruction = State()


async def ask_instruction(bot: Bot, state: FSMContext, photo: Photo, lang: str, op: str) -> None:
    """Remember which photo the next text message is for (and which op asked), and ask for
    the instruction."""
    await state.set_state(EditPrompt.instruction)
    await state.set_data({"photo_id": photo.id, "op": op, "asked_at": time.time()})
    await bot.send_message(
        photo.chat_id,
        t(lang, "edit.ask_next"),
        reply_parameters=reply_to(photo.message_id),
    )


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
    if parsed is None or parsed.problem is not None:
        await message.reply(t(lang, "edit.ask"))
        return
    await jobs.request(
        user_id=user.id,
        lang=lang,
        domain=user.domain,
        photo=photo,
        op=parsed.op,
        params=parsed.params,
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
