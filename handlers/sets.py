"""A set's buttons (its actions, the background menu for all, Cancel of a run), `/all
<command>` on the user's last set, and the edit instruction for a whole set."""

from __future__ import annotations

import time

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import keyboards
from bot.actions import problem_text
from bot.command_parsing import ParsedCommand, parse_background, split_command
from bot.keyboards import CancelSetRun, SetBackground, SetPick
from bot.middlewares import alert, answer_now
from bot.ops import ACTIONS_BY_KEY, ASK, MENU, SPLIT, op_label, parse_command
from bot.owned import owned
from bot.replies import reply_to
from bot.sets.collector import SetCollector
from bot.sets.runner import SetRunner
from bot.storage import PhotoSet, Storage, User
from bot.texts import t, tn
from handlers.callbacks import BACKGROUND_VALUES
from handlers.edit_prompt import PROMPT_TIMEOUT_S, asked_op_parses
from services.operations import Op


class SetEditPrompt(StatesGroup):
    instruction = State()


async def run_command(
    photo_set: PhotoSet,
    parsed: ParsedCommand,
    *,
    bot: Bot,
    db: Storage,
    sets: SetCollector,
    set_runs: SetRunner,
    state: FSMContext,
    user: User,
    lang: str,
) -> None:
    """A parsed command over every photo of the set (`/all`, an album's caption): ask for
    what is missing, or start the run."""
    reply = reply_to(photo_set.message_id)
    if parsed.problem == "edit.ask":
        await ask_set_instruction(bot, state, photo_set, lang, parsed.op)
        return
    photo_kind = parsed.op == Op.BACKGROUND and parsed.params.get("kind") == "photo"
    if parsed.problem == "background.ask" or photo_kind:
        count = len(await db.set_members(photo_set.id))
        await bot.send_message(
            photo_set.chat_id,
            tn(lang, "set.background_ask", count, count=count),
            reply_markup=keyboards.set_background_menu(photo_set.id, lang, card=False),
            reply_parameters=reply,
        )
        return
    if parsed.problem is not None:
        await bot.send_message(
            photo_set.chat_id, problem_text(parsed, lang), reply_parameters=reply
        )
        return
    sets.close(photo_set.id)
    await set_runs.start(photo_set, user=user, lang=lang, op=parsed.op, params=parsed.params)


async def ask_set_instruction(
    bot: Bot, state: FSMContext, photo_set: PhotoSet, lang: str, op: str
) -> None:
    await state.set_state(SetEditPrompt.instruction)
    await state.set_data({"set_id": photo_set.id, "op": op, "asked_at": time.time()})
    await bot.send_message(
        photo_set.chat_id,
        t(lang, "set.edit_ask"),
        reply_parameters=reply_to(photo_set.message_id),
    )


async def set_pick(
    query: CallbackQuery,
    callback_data: SetPick,
    photo_set: PhotoSet,
    bot: Bot,
    sets: SetCollector,
    set_runs: SetRunner,
    user: User,
    lang: str,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    action = ACTIONS_BY_KEY[callback_data.action]
    if action.step == MENU:
        if isinstance(query.message, Message):
            card = bool(action.params.get("card"))
            menu = keyboards.set_background_menu(photo_set.id, lang, card=card)
            await query.message.edit_reply_markup(reply_markup=menu)
        return
    if action.step == ASK:
        if query.message is not None and query.message.chat.type != "private":
            alert(callback_answer, t(lang, "edit.ask"))  # groups pass the bot commands only
            return
        assert action.op is not None
        callback_answer.text = op_label(lang, action.op)
        await ask_set_instruction(bot, state, photo_set, lang, action.op)
        return
    if action.step == SPLIT:
        await answer_now(query, callback_answer)
        await sets.split(photo_set, lang)
        if isinstance(query.message, Message):
            await query.message.edit_text(t(lang, "set.split_done"))
        return
    assert action.op is not None
    await answer_now(query, callback_answer, op_label(lang, action.op))
    sets.close(photo_set.id)
    await set_runs.start(photo_set, user=user, lang=lang, op=action.op, params=dict(action.params))


async def set_background(
    query: CallbackQuery,
    callback_data: SetBackground,
    photo_set: PhotoSet,
    sets: SetCollector,
    set_runs: SetRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    if isinstance(query.message, Message):  # the set's message gets its keyboard back
        own = query.message.message_id == photo_set.message_id
        markup = keyboards.set_actions(photo_set.id, lang, user.domain) if own else None
        await query.message.edit_reply_markup(reply_markup=markup)
    if callback_data.value == "back":
        return
    params = dict(parse_background(callback_data.value) or {})
    if callback_data.card:
        params["card"] = "3:4"
    await answer_now(query, callback_answer, op_label(lang, Op.BACKGROUND))
    sets.close(photo_set.id)
    await set_runs.start(photo_set, user=user, lang=lang, op=Op.BACKGROUND, params=params)


async def cancel_set_run(
    query: CallbackQuery,
    callback_data: CancelSetRun,
    set_runs: SetRunner,
    user: User,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    if await set_runs.cancel(callback_data.run_id, user.id):
        callback_answer.text = t(lang, "set.cancel_ok")
    else:
        callback_answer.text = t(lang, "job.not_found")


async def all_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: Storage,
    sets: SetCollector,
    set_runs: SetRunner,
    state: FSMContext,
    user: User,
    lang: str,
) -> None:
    """`/all background white`, `/all tag`: a command for every photo of the last set."""
    photo_set = await db.last_set(user.id, message.chat.id)
    if photo_set is None:
        await message.answer(t(lang, "set.none"))
        return
    args = (command.args or "").strip().lstrip("/")
    named = split_command("/" + args) if args else None
    parsed = parse_command(*named) if named else None
    if parsed is None:
        await message.answer(t(lang, "set.all_usage"))
        return
    await run_command(
        photo_set,
        parsed,
        bot=bot,
        db=db,
        sets=sets,
        set_runs=set_runs,
        state=state,
        user=user,
        lang=lang,
    )


async def set_instruction(
    message: Message,
    bot: Bot,
    state: FSMContext,
    db: Storage,
    sets: SetCollector,
    set_runs: SetRunner,
    user: User,
    lang: str,
) -> None:
    data = await state.get_data()
    await state.clear()
    if time.time() - float(data.get("asked_at", 0.0)) > PROMPT_TIMEOUT_S:
        raise SkipHandler  # stale: an ordinary message again
    photo_set = await db.get_set(int(data.get("set_id", 0)))
    if photo_set is None or photo_set.user_id != user.id:
        await message.reply(t(lang, "set.gone"))
        return
    parsed = asked_op_parses(data, message.text)
    if parsed is None or parsed.problem is not None:
        await message.reply(t(lang, "edit.ask"))
        return
    await run_command(
        photo_set,
        parsed,
        bot=bot,
        db=db,
        sets=sets,
        set_runs=set_runs,
        state=state,
        user=user,
        lang=lang,
    )


def get_router() -> Router:
    router = Router(name=__name__)
    # Only values our keyboards offer: forged data falls through to the stale-button answer.
    # The set must be there and the presser's (bot/owned.py).
    picks = SetPick.filter(F.action.in_(ACTIONS_BY_KEY))
    router.callback_query.register(set_pick, picks, flags=owned("set"))
    backgrounds = SetBackground.filter(F.value.in_(BACKGROUND_VALUES))
    router.callback_query.register(set_background, backgrounds, flags=owned("set"))
    router.callback_query.register(cancel_set_run, CancelSetRun.filter())
    router.message.register(all_command, Command("all"))
    router.message.register(
        set_instruction, SetEditPrompt.instruction, F.text, ~F.text.startswith("/")
    )
    return router
