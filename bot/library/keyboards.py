"""The library's inline keyboards and their callback data (database ids only).

Kept apart from bot/keyboards.py (the photo and result keyboards) so that module stays one
screen long; the photo card reuses its photo keyboard and its "Show again" button."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import keyboards
from bot.keyboards import ResultAction
from bot.ops import op_label
from bot.texts import t
from bot.user_settings import SETTING_KEYS, SettingRow

PER_ROW = 5  # numbered buttons per row


class LibraryPhoto(CallbackData, prefix="lib"):
    """A photo of the library: "open" (its card), "delete" (ask), "yes"/"no" (confirm)."""

    photo_id: int
    action: str


class HistoryPage(CallbackData, prefix="hist"):
    page: int


class SettingPick(CallbackData, prefix="set"):
    """/settings: ``row`` "" is the main menu; ``value`` "" opens that row's choices."""

    row: str
    value: str


def numbered(photo_ids: Sequence[int], builder: InlineKeyboardBuilder) -> None:
    """One button per photo, "1".."n", opening its card, added to ``builder``."""
    row = InlineKeyboardBuilder()
    for number, photo_id in enumerate(photo_ids, start=1):
        row.button(text=str(number), callback_data=LibraryPhoto(photo_id=photo_id, action="open"))
    row.adjust(PER_ROW)
    builder.attach(row)


def found(photo_ids: Sequence[int]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    numbered(photo_ids, builder)
    return builder.as_markup()


def history(photo_ids: Sequence[int], page: int, pages: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    numbered(photo_ids, builder)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀", callback_data=HistoryPage(page=page - 1))
    if page < pages - 1:
        nav.button(text="▶", callback_data=HistoryPage(page=page + 1))
    builder.attach(nav)
    return builder.as_markup()


def photo_card(
    photo_id: int, results: Sequence[tuple[int, str]], lang: str
) -> InlineKeyboardMarkup:
    """Each result's "show again" (newest first), the photo's action keyboard, Delete."""
    builder = InlineKeyboardBuilder()
    shown = InlineKeyboardBuilder()
    for number, (job_id, op) in enumerate(results, start=1):
        shown.button(
            text=f"{number}. {op_label(lang, op)}",
            callback_data=ResultAction(job_id=job_id, action="show"),
        )
    shown.adjust(3)
    builder.attach(shown)
    builder.attach(InlineKeyboardBuilder.from_markup(keyboards.photo_actions(photo_id, lang)))
    delete = InlineKeyboardBuilder()
    delete.button(
        text=t(lang, "library.delete_button"),
        callback_data=LibraryPhoto(photo_id=photo_id, action="delete"),
    )
    builder.attach(delete)
    return builder.as_markup()


def delete_confirm(photo_id: int, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t(lang, "delete.yes"), callback_data=LibraryPhoto(photo_id=photo_id, action="yes")
    )
    builder.button(
        text=t(lang, "button.cancel"), callback_data=LibraryPhoto(photo_id=photo_id, action="no")
    )
    return builder.as_markup()


def settings_menu(
    rows: Sequence[SettingRow], values: Mapping[str, str], lang: str
) -> InlineKeyboardMarkup:
    """One button per setting, "Language: English"; pressing one opens its choices."""
    builder = InlineKeyboardBuilder()
    for row in rows:
        label = t(lang, SETTING_KEYS[row.name])
        builder.button(
            text=f"{label}: {row.label(lang, values[row.name])}",
            callback_data=SettingPick(row=row.name, value=""),
        )
    builder.adjust(1)
    return builder.as_markup()


def setting_choices(row: SettingRow, current: str, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for value in row.choices():
        mark = "✓ " if value == current else ""
        pick = SettingPick(row=row.name, value=value)
        builder.button(text=mark + row.label(lang, value), callback_data=pick)
    builder.button(text=t(lang, "button.back"), callback_data=SettingPick(row="", value=""))
    choices = len(row.choices())
    builder.adjust(*([3] * (choices // 3)), *([choices % 3] if choices % 3 else []), 1)
    return builder.as_markup()
