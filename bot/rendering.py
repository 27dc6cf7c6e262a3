"""The texts of results: tags and selling copy as HTML within Telegram's limits (a check's:
bot/check_rendering.py). Which kind renders how: bot/result_views.py."""

from __future__ import annotations

import html
from collections.abc import Callable

from bot.texts import DOMAIN_KEYS, t
from services.describer.result import Copy, DescriptionResult
from services.models.clip import TagResult
from services.results.kinds import all_tags


def quoted(text: str, limit: int = 60) -> str:
    """`text` on one line, cut to `limit` characters, HTML-escaped."""
    text = " ".join(text.split())
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _percent(probability: float) -> int:
    return max(1, round(probability * 100)) if probability > 0 else 0


def render_tags(result: TagResult, lang: str) -> str:
    title = t(lang, "tags.title", domain=t(lang, DOMAIN_KEYS[result.domain]))
    if not result.tags and not result.attributes:
        return f"{title}\n{t(lang, 'tags.empty')}"
    lines = [title]
    lines += [
        t(
            lang,
            "tags.line",
            ru=html.escape(tag.ru),
            en=html.escape(tag.en),
            percent=_percent(tag.probability),
        )
        for tag in result.tags
    ]
    if result.attributes:
        described = " · ".join(
            f"{html.escape(a.ru)} — {html.escape(a.en)} ({_percent(a.probability)}%)"
            for a in result.attributes
        )
        lines.append(t(lang, "tags.attributes", attributes=described))
    words = [tag.ru for tag in all_tags(result)]
    hashtags = " ".join("#" + word.replace(" ", "_").replace("-", "_") for word in words)
    return "\n".join([*lines, "", html.escape(hashtags)])


TELEGRAM_TEXT_LIMIT = 4096


def _fit(render: Callable[[int], str]) -> str:
    """``render(limit)`` with fields cut to ``limit`` characters, tightened until it fits."""
    limit = 1000
    text = render(limit)
    while len(text) > TELEGRAM_TEXT_LIMIT and limit > 20:
        limit //= 2
        text = render(limit)
    return text[:TELEGRAM_TEXT_LIMIT]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _copy_html(copy: Copy, limit: int) -> str:
    lines = [f"<b>{html.escape(_cut(copy.title, limit), quote=False)}</b>", ""]
    lines += [f"• {html.escape(_cut(line, limit), quote=False)}" for line in copy.benefits]
    return "\n".join([*lines, "", html.escape(_cut(copy.closing, limit), quote=False)])


def _path_note(path: str, lang: str) -> str:
    if path == "gpt":
        return t(lang, "describe.by_gpt")
    if path.startswith("local (GPT failed"):
        reason = path.removeprefix("local (GPT failed:").rstrip(")").strip()
        return t(lang, "describe.gpt_failed", reason=html.escape(reason))
    return t(lang, "describe.by_local")


def render_description(result: DescriptionResult, lang: str) -> str:
    """The Russian text, and how it was written."""
    note = _path_note(result.path, lang)
    return _fit(lambda limit: _copy_html(result.russian, limit) + f"\n\n<i>{note}</i>")


def render_english(result: DescriptionResult, lang: str) -> str:
    return _fit(
        lambda limit: t(lang, "describe.english_head") + "\n\n" + _copy_html(result.english, limit)
    )


def render_copy_ready(result: DescriptionResult) -> str:
    """Plain lines in a <pre> block (Telegram copies it with one tap) for a marketplace form."""
    lines = result.russian.fields()
    return _fit(
        lambda limit: (
            "<pre>"
            + html.escape("\n".join(_cut(line, limit) for line in lines), quote=False)
            + "</pre>"
        )
    )
