"""Inline keyboards and their callback data. Callback data carries database ids only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.check_rendering import marketplace, profile_button
from bot.check_requests import default_profile, domain_of, known_profiles
from bot.command_parsing import MENU_BACKGROUNDS, MENU_PRESETS
from bot.ops import PHOTO_ACTIONS, SET_ACTIONS, spec_of
from bot.texts import DOMAIN_KEYS, PRESET_KEYS, RESULT_BUTTON_KEYS, t
from services.marketplace.profiles import load_profiles


class PhotoAction(CallbackData, prefix="p"):
    photo_id: int
    action: str


class BackgroundPick(CallbackData, prefix="bg"):
    photo_id: int
    value: str  # one of MENU_BACKGROUNDS or MENU_PRESETS, or "back"


class CancelJob(CallbackData, prefix="cj"):
    job_id: int


class DomainPick(CallbackData, prefix="dom"):
    domain: str


class ForgetMe(CallbackData, prefix="forget"):
    confirm: bool


class CheckButton(CallbackData, prefix="ck"):
    """A button under a check: `action` is one of CHECK_ACTIONS; `value` a profile id."""

    job_id: int
    action: str
    value: str = ""


#: clean the text, fix for the profile, a new background, check for another profile
CHECK_ACTIONS = ("clean", "fix", "bg", "profile", "straighten", "enhance")
#: a room photo's check: Straighten and Brighten before Remove text and Fix
ROOM_CHECK_BUTTON_KEYS = {
    "straighten": "check.button.straighten",
    "enhance": "check.button.enhance",
}


class SetPick(CallbackData, prefix="s"):
    """A button of a set's message: `action` is a `SetAction.key` (bot/ops: `SET_ACTIONS`)."""

    set_id: int
    action: str


class SetBackground(CallbackData, prefix="sb"):
    """The background menu of a set; `card`: the choice is for catalogue cards."""

    set_id: int
    value: str  # one of MENU_BACKGROUNDS or MENU_PRESETS, or "back"
    card: bool


class CancelSetRun(CallbackData, prefix="cs"):
    run_id: int


class PublishSet(CallbackData, prefix="pws"):
    """A set's "To Wildberries": its photos (their newest image results) onto the cards."""

    set_id: int


class ResultAction(CallbackData, prefix="r"):
    """A button under a result: `action` is "again", "full" or an op's own follow-up."""

    job_id: int
    action: str


def photo_actions(photo_id: int, lang: str) -> InlineKeyboardMarkup:
    return _photo_buttons(InlineKeyboardBuilder(), photo_id, lang).as_markup()


def _photo_buttons(
    builder: InlineKeyboardBuilder, photo_id: int, lang: str
) -> InlineKeyboardBuilder:
    row = InlineKeyboardBuilder()
    for spec in PHOTO_ACTIONS:
        row.button(
            text=t(lang, spec.label_key),
            callback_data=PhotoAction(photo_id=photo_id, action=spec.op),
        )
    row.adjust(3, 3, 2)
    builder.attach(row)
    return builder


def publishable(op: str, params: Mapping[str, Any] | None) -> bool:
    """Its result can go onto a Wildberries card: a Fix or a gallery for a marketplace
    (not a room photo fixed for a hotel site)."""
    spec = spec_of(op)
    profile = str((params or {}).get("profile") or "")
    return spec is not None and spec.publishable and domain_of(profile) == "product"


def result_actions(
    job_id: int, photo_id: int, op: str, lang: str, params: Mapping[str, Any] | None = None
) -> InlineKeyboardMarkup:
    """Again / Full size (+ the op's own buttons), then the photo's action keyboard."""
    top = InlineKeyboardBuilder()
    spec = spec_of(op)
    publish = ("publish",) if publishable(op, params) else ()
    for action in ("again", "full", *(spec.image_buttons if spec else ()), *publish):
        data = ResultAction(job_id=job_id, action=action)
        top.button(text=t(lang, RESULT_BUTTON_KEYS[action]), callback_data=data)
    top.adjust(2)
    return _photo_buttons(top, photo_id, lang).as_markup()


def text_result_actions(
    job_id: int,
    op: str,
    lang: str,
    *,
    english_shown: bool = False,
    params: Mapping[str, Any] | None = None,
) -> InlineKeyboardMarkup | None:
    """The op's buttons under a text result (None when it has none). While the English
    original is shown, the English button turns into one that goes back to Russian. A
    check's buttons name its profile (from the job's `params`)."""
    spec = spec_of(op)
    if spec is not None and spec.profile_buttons:
        return check_actions(job_id, str((params or {}).get("profile") or ""), lang)
    actions = spec.text_buttons if spec else ()
    if publishable(op, params):
        actions = (*actions, "publish")
    if not actions:
        return None
    builder = InlineKeyboardBuilder()
    for action in actions:
        if action == "english" and english_shown:
            action = "russian"
        builder.button(
            text=t(lang, RESULT_BUTTON_KEYS[action]),
            callback_data=ResultAction(job_id=job_id, action=action),
        )
    builder.adjust(len(actions))
    return builder.as_markup()


def check_actions(job_id: int, profile: str, lang: str) -> InlineKeyboardMarkup:
    """Under a check: Clean text, Fix for <marketplace>, New background; then a row of the
    profiles (the one checked marked), each checking the photo again for its marketplace."""
    profile = default_profile(profile)
    found = load_profiles().profiles[profile]
    market = marketplace(profile, found.name, lang)
    builder = InlineKeyboardBuilder()
    first: tuple[int, ...] = (2, 1)
    if found.domain == "hotel":  # a room photo: Straighten, Brighten, Remove text, Fix
        for action, key in ROOM_CHECK_BUTTON_KEYS.items():
            builder.button(
                text=t(lang, key), callback_data=CheckButton(job_id=job_id, action=action)
            )
        first = (2, 2)
    builder.button(
        text=t(lang, "check.button.clean"),
        callback_data=CheckButton(job_id=job_id, action="clean"),
    )
    builder.button(
        text=t(lang, "check.button.fix", marketplace=market),
        callback_data=CheckButton(job_id=job_id, action="fix", value=profile),
    )
    if found.domain != "hotel":
        builder.button(
            text=t(lang, "check.button.background"),
            callback_data=CheckButton(job_id=job_id, action="bg"),
        )
    ids = known_profiles(found.domain)
    for other in ids:
        mark = "✓ " if other == profile else ""
        builder.button(
            text=mark + profile_button(other, lang),
            callback_data=CheckButton(job_id=job_id, action="profile", value=other),
        )
    builder.adjust(*first, *([4] * (len(ids) // 4)), *([len(ids) % 4] if len(ids) % 4 else []))
    return builder.as_markup()


def background_menu(photo_id: int, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for value in MENU_BACKGROUNDS:
        builder.button(text=value, callback_data=BackgroundPick(photo_id=photo_id, value=value))
    for value in MENU_PRESETS:
        builder.button(
            text=t(lang, PRESET_KEYS[value]),
            callback_data=BackgroundPick(photo_id=photo_id, value=value),
        )
    builder.button(
        text=t(lang, "button.back"), callback_data=BackgroundPick(photo_id=photo_id, value="back")
    )
    builder.adjust(4, 4, 4, 3, 1)
    return builder.as_markup()


def cancel_job(job_id: int, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t(lang, "button.cancel"), callback_data=CancelJob(job_id=job_id))
    return builder.as_markup()


def domain_menu(current: str, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for domain in ("product", "hotel"):
        mark = "✓ " if domain == current else ""
        builder.button(
            text=mark + t(lang, DOMAIN_KEYS[domain]), callback_data=DomainPick(domain=domain)
        )
    return builder.as_markup()


def forget_me_confirm(lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t(lang, "forget.yes"), callback_data=ForgetMe(confirm=True))
    builder.button(text=t(lang, "button.cancel"), callback_data=ForgetMe(confirm=False))
    return builder.as_markup()


def show_again(job_id: int, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t(lang, "result.show"), callback_data=ResultAction(job_id=job_id, action="show")
    )
    return builder.as_markup()


def set_actions(set_id: int, lang: str, domain: str = "product") -> InlineKeyboardMarkup:
    """The keyboard of a set's message: every action of SET_ACTIONS for the user's domain
    (a hotelier: Order the gallery, no card backgrounds; a seller: To Wildberries), for
    all its photos."""
    builder = InlineKeyboardBuilder()
    for action in SET_ACTIONS:
        if domain not in action.domains:
            continue
        builder.button(
            text=t(lang, action.label_key),
            callback_data=SetPick(set_id=set_id, action=action.key),
        )
    if domain == "product":  # a seller's set goes onto their Wildberries cards
        builder.button(text=t(lang, "publish.button"), callback_data=PublishSet(set_id=set_id))
    builder.adjust(3)
    return builder.as_markup()


def set_background_menu(set_id: int, lang: str, *, card: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for value in MENU_BACKGROUNDS:
        builder.button(
            text=value, callback_data=SetBackground(set_id=set_id, value=value, card=card)
        )
    for value in MENU_PRESETS:
        builder.button(
            text=t(lang, PRESET_KEYS[value]),
            callback_data=SetBackground(set_id=set_id, value=value, card=card),
        )
    builder.button(
        text=t(lang, "button.back"),
        callback_data=SetBackground(set_id=set_id, value="back", card=card),
    )
    builder.adjust(4, 4, 4, 3, 1)
    return builder.as_markup()


def cancel_set_run(run_id: int, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t(lang, "button.cancel"), callback_data=CancelSetRun(run_id=run_id))
    return builder.as_markup()
