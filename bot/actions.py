"""What happens once a command is parsed: ask for what is missing, or queue the job."""

from __future__ import annotations

import asyncio
import html

from aiogram import Bot
from aiogram.types import Message

from bot import keyboards
from bot.background_requests import pair_for_background, photo_params
from bot.check_requests import known_profiles
from bot.command_parsing import ParsedCommand, parse_background
from bot.jobs import JobRunner
from bot.ops import spec_of
from bot.replies import reply_to
from bot.sets.collector import SetCollector
from bot.storage import Photo, User
from bot.texts import t
from services.edit_presets import load_presets
from services.imaging.backgrounds import PRESETS
from services.imaging.colours import SUGGESTED
from services.operations import Op


async def perform(
    message: Message,
    parsed: ParsedCommand,
    photos: list[Photo],
    *,
    jobs: JobRunner,
    user: User,
    lang: str,
) -> None:
    """Run `parsed` on every photo (an album caption means all of its photos)."""
    if not photos:
        return
    if parsed.op == "background" and await _photo_background(
        message, parsed, photos, jobs=jobs, user=user, lang=lang
    ):
        return
    if parsed.problem == "background.ask" and user.background:  # chosen in /settings
        parsed = ParsedCommand(parsed.op, parse_background(user.background) or {})
    if parsed.problem == "background.ask":
        menu = keyboards.background_menu(photos[0].id, lang)
        await message.answer(t(lang, "background.ask"), reply_markup=menu)
        return
    if parsed.problem is not None:
        await message.answer(problem_text(parsed, lang))
        return
    for photo in photos:
        await jobs.request(
            user_id=user.id,
            lang=lang,
            domain=user.domain,
            photo=photo,
            op=parsed.op,
            params=parsed.params,
        )


def starts_at_once(parsed: ParsedCommand) -> bool:
    """A plain job on the photo it came with: nothing to ask, no second photo to pair, no
    params its spec prepares from the photo's row (its caption, its results)."""
    spec = spec_of(parsed.op)
    prepares = spec is not None and spec.prepare is not None
    return parsed.problem is None and parsed.op != Op.BACKGROUND and not prepares


async def perform_arriving(
    message: Message,
    parsed: ParsedCommand,
    *,
    bot: Bot,
    sets: SetCollector,
    jobs: JobRunner,
    user: User,
    lang: str,
) -> None:
    """One captioned image (`starts_at_once`): its job starts as soon as the image is
    checked and written (bot/intake.py `fetch`); the photo's row, the job's row and the
    photo's own message ("received", its keyboard) follow while the model runs."""
    taken = await sets.fetch(message, user.id, lang)
    if taken is None:
        return
    if isinstance(taken, Photo):  # stored already: its update is handled again
        await _received(bot, message, taken, lang)
        await perform(message, parsed, [taken], jobs=jobs, user=user, lang=lang)
        return
    stored = asyncio.ensure_future(sets.keep(taken))

    async def received() -> None:
        await _received(bot, message, await stored, lang)

    receipt = asyncio.ensure_future(received())
    outcomes = await asyncio.gather(
        jobs.request_fresh(
            user_id=user.id,
            lang=lang,
            domain=user.domain,
            incoming=taken,
            stored=stored,
            op=parsed.op,
            params=parsed.params,
            before_result=receipt,
        ),
        receipt,
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def _received(bot: Bot, message: Message, photo: Photo, lang: str) -> None:
    await bot.send_message(
        message.chat.id,
        t(lang, "photo.received"),
        reply_markup=keyboards.photo_actions(photo.id, lang),
        reply_parameters=reply_to(message.message_id),
    )


def problem_text(parsed: ParsedCommand, lang: str) -> str:
    """What a command with a wrong argument is answered with (`parsed.problem` is set)."""
    assert parsed.problem is not None
    value = html.escape(str(parsed.params.get("value", ""))[:100])
    return t(lang, parsed.problem, value=value, **_choices(parsed.problem, lang))


def _choices(problem: str, lang: str) -> dict[str, str]:
    """The lists a wrong argument is answered with: an edit preset, a marketplace, or a
    background."""
    if problem.startswith("edit."):
        return {"presets": ", ".join(f"preset:{name}" for name in load_presets())}
    if problem.startswith("check."):
        return {"profiles": ", ".join(known_profiles())}
    return {
        "colours": ", ".join(SUGGESTED.get(lang, SUGGESTED["en"])),
        "presets": ", ".join(PRESETS),
    }


async def _photo_background(
    message: Message,
    parsed: ParsedCommand,
    photos: list[Photo],
    *,
    jobs: JobRunner,
    user: User,
    lang: str,
) -> bool:
    """The user's own photo as the background (the rule: bot/background_requests.py). True when
    the request was taken care of here."""
    explicit = parsed.params.get("kind") == "photo"
    bare = parsed.problem == "background.ask"
    # Only a photo the user pointed at (this message's own photo, or the one replied to)
    # becomes a background; a bare command on "the last photo" still opens the menu.
    pointed = bool(message.photo or message.document or message.reply_to_message)
    if not (explicit or (bare and pointed)):
        return False
    pair = await pair_for_background(jobs.storage, photos, explicit=explicit)
    if pair is None:
        if explicit:
            await message.answer(t(lang, "background.no_product"))
            return True
        return False
    product, background = pair
    await jobs.request(
        user_id=user.id,
        lang=lang,
        domain=user.domain,
        photo=product,
        op="background",
        params=photo_params(background),
    )
    return True
