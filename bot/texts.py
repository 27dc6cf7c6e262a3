"""Everything the bot says, by key: `t(lang, key, **fields)` and `tn(lang, key, n, **fields)`.

The texts live in the gettext catalogs bot/locales/{ru,en}/LC_MESSAGES/messages.po (bot/i18n.py
compiles and loads them). A msgid is the key the code passes (`"job.queued"`); the text is a
str.format template (`{op}`), HTML as Telegram's parse mode takes it.

Plurals: a text that shows a number with a noun has msgid = its key and msgid_plural = the key
+ ".plural" (`PLURAL_SUFFIX`); `tn` picks the form for `n` by the catalog's Plural-Forms
(Russian has three: 1 задача, 2 задачи, 5 задач; English two).

Keys the code picks at run time come from the explicit `*_KEYS` maps below or a spec's
`*_key` fields (bot/ops/: an operation's name, menu line, help; never from an f-string), so
reading the code shows every key in use; tests/test_i18n.py checks that each
key the code names exists in both catalogs and that no catalog key goes unused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import catalogs

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

RU_LANGUAGES = ("ru", "uk", "be", "kk")
PLURAL_SUFFIX = ".plural"

#: the user's domain -> its name
DOMAIN_KEYS = {"product": "domain.product", "hotel": "domain.hotel"}
#: background preset -> its name on the menu and in the caption
PRESET_KEYS = {
    "studio": "preset.studio",
    "blush": "preset.blush",
    "sky": "preset.sky",
    "marble": "preset.marble",
    "wood": "preset.wood",
    "concrete": "preset.concrete",
    "linen": "preset.linen",
}
#: ResultAction.action -> the button's label
RESULT_BUTTON_KEYS = {
    "again": "result.again",
    "full": "result.full",
    "show": "result.show",
    "wrong": "result.wrong",
    "card": "result.card",
    "english": "result.english",
    "russian": "result.russian",
    "variant": "result.variant",
    "copy": "result.copy",
    "text": "result.text",
    "style": "result.style",
    "zip": "result.zip",
    "publish": "publish.button",
}
#: follow-up action -> what to answer when it finds nothing to do
NOTHING_FOUND_KEYS = {"wrong": "result.wrong_none"}
#: a model only some jobs of an op need -> its own "unavailable" message
MISSING_MODEL_KEYS = {"inpaint": "missing.inpaint"}
#: a named stage of a running job (services.jobs.Stage) -> its note in the progress message
STAGE_KEYS = {"gpt": "job.stage.gpt"}


def language_of(language_code: str | None) -> str:
    """Russian for users whose Telegram speaks Russian (or a neighbour), else English."""
    if language_code and language_code.split("-")[0].lower() in RU_LANGUAGES:
        return "ru"
    return "en"


def t(lang: str, key: str, **fields: object) -> str:
    """The text `key` in `lang` (English for a language without a catalog), filled in."""
    i18n = catalogs()
    text = i18n.gettext(key, locale=_locale(i18n, lang))
    return text.format(**fields) if fields else text


def tn(lang: str, key: str, n: int, **fields: object) -> str:
    """The plural text `key` in the form `n` takes in `lang`, filled in with `fields` (which
    name the number too: `tn(lang, "job.too_many", 3, limit=3)`)."""
    i18n = catalogs()
    text = i18n.gettext(key, key + PLURAL_SUFFIX, n, locale=_locale(i18n, lang))
    return text.format(**fields)


def _locale(i18n: I18n, lang: str) -> str:
    return lang if lang in i18n.available_locales else i18n.default_locale
