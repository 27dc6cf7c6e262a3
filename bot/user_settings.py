"""/settings: the rows of the one inline menu, and how the stored choices shape a job.

Each `SettingRow` names the users-table column it writes, its choices and their labels;
the menu is built from `rows()`, so a new setting is one more row. A row whose column this
build's database lacks is not shown.
Choices take effect at once: each operation's spec fills the ones that apply to it into its
jobs (`bot.ops.job_params`; explicit params win), and a bare /background uses the chosen
background.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.check_requests import default_profile
from bot.command_parsing import MENU_BACKGROUNDS, MENU_PRESETS
from bot.storage import Storage, User
from bot.texts import DOMAIN_KEYS, PRESET_KEYS, t

ASK = "ask"  # the background row's "ask every time" (stored as NULL)
FROM_PRODUCT = "product"  # the brand row's "the product's own colour" (stored as NULL)
#: the brand colours /settings offers for /gallery's slides, with a swatch each
BRAND_COLOURS = {
    "#1f4e79": "🟦",
    "#c0392b": "🟥",
    "#1e8449": "🟩",
    "#6c3483": "🟪",
    "#d35400": "🟧",
    "#222222": "⬛",
}

#: setting row -> its label
SETTING_KEYS = {
    "language": "settings.language",
    "domain": "settings.domain",
    "profile": "settings.profile",
    "background": "settings.background",
    "tags_mode": "settings.tags_mode",
    "edit_strength": "settings.edit_strength",
    "brand": "settings.brand",
}
#: choice -> its label (values shown as themselves are not listed)
CHOICE_KEYS = {
    "ask": "settings.background_ask",
    "top_k": "settings.tags_top_k",
    "threshold": "settings.tags_threshold",
    "gentle": "settings.strength_gentle",
    "normal": "settings.strength_normal",
    "strong": "settings.strength_strong",
    "product": "settings.brand_product",
}
LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


@dataclass(frozen=True)
class SettingRow:
    name: str  # the column it writes (and the callback's row id)
    choices: Callable[[], tuple[str, ...]]
    label: Callable[[str, str], str]  # (lang, value) -> the choice's label
    default: str  # shown when the column is NULL


def _own(lang: str, value: str) -> str:
    key = CHOICE_KEYS.get(value)
    return t(lang, key) if key else value


def _background_label(lang: str, value: str) -> str:
    preset = PRESET_KEYS.get(value)
    return t(lang, preset) if preset else _own(lang, value)


def _profiles() -> tuple[str, ...]:
    from services.marketplace.profiles import load_profiles

    return tuple(load_profiles().profiles)


def _profile_label(lang: str, value: str) -> str:
    from services.marketplace.profiles import load_profiles

    found = load_profiles().profiles.get(value)
    return found.name if found else value


def _brand_label(lang: str, value: str) -> str:
    swatch = BRAND_COLOURS.get(value)
    return f"{swatch} {value}" if swatch else _own(lang, value)


#: every row a build may show, in menu order
ROWS: tuple[SettingRow, ...] = (
    SettingRow("language", lambda: ("ru", "en"), lambda _, v: LANGUAGE_NAMES[v], "ru"),
    SettingRow(
        "domain", lambda: tuple(DOMAIN_KEYS), lambda lang, v: t(lang, DOMAIN_KEYS[v]), "product"
    ),
    # the marketplace profile of /check and Fix (issue 17): every check sets it too
    SettingRow("profile", _profiles, _profile_label, default_profile(None)),
    SettingRow(
        "background", lambda: (ASK, *MENU_BACKGROUNDS, *MENU_PRESETS), _background_label, ASK
    ),
    SettingRow("tags_mode", lambda: ("top_k", "threshold"), _own, "top_k"),
    SettingRow("edit_strength", lambda: ("gentle", "normal", "strong"), _own, "normal"),
    # /gallery's brand colour (issue 28): the product's own unless one is chosen
    SettingRow("brand", lambda: (FROM_PRODUCT, *BRAND_COLOURS), _brand_label, FROM_PRODUCT),
)
BY_NAME = {row.name: row for row in ROWS}


async def rows(db: Storage) -> tuple[SettingRow, ...]:
    """The rows this database can store (a column a build lacks: its row is not shown)."""
    columns = await db.user_columns() | {"language"}
    return tuple(row for row in ROWS if row.name in columns)


async def current(db: Storage, user: User) -> dict[str, str]:
    """row -> the user's value (its default where none is stored)."""
    stored: dict[str, str | None] = {
        "language": user.language,
        "domain": user.domain,
        "background": user.background,
        "tags_mode": user.tags_mode,
        "edit_strength": user.edit_strength,
    }
    values = {}
    for row in await rows(db):
        value = stored[row.name] if row.name in stored else await db.get_setting(user.id, row.name)
        default = default_profile(None, user.domain) if row.name == "profile" else row.default
        values[row.name] = value or default
    return values


async def choose(db: Storage, user: User, name: str, value: str) -> bool:
    """Store one choice; False when the row or the value is not one the menu offers."""
    row = BY_NAME.get(name)
    if row is None or row not in await rows(db) or value not in row.choices():
        return False
    if name == "language":
        await db.set_language(user.id, value)
    elif name == "domain":
        await db.set_domain(user.id, value)
    else:
        await db.set_setting(user.id, name, None if value in (ASK, FROM_PRODUCT) else value)
    return True
