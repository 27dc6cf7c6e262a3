"""How a finished job's result is shown to the user and kept in storage."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from bot.texts import t
from services.tagger import TagResult


def result_payload(result: Any) -> tuple[str, dict[str, Any]]:
    """(kind, JSON-able payload) for the results table."""
    if isinstance(result, TagResult):
        return "tags", dataclasses.asdict(result)
    raise TypeError(f"no storage format for {type(result).__name__}")


def render_tags(result: TagResult, lang: str) -> str:
    title = t(lang, "tags.title", domain=t(lang, f"domain.{result.domain}"))
    if not result.tags:
        return f"{title}\n{t(lang, 'tags.empty')}"
    lines = [
        t(
            lang,
            "tags.line",
            ru=html.escape(tag.ru),
            en=html.escape(tag.en),
            percent=max(1, round(tag.probability * 100)) if tag.probability > 0 else 0,
        )
        for tag in result.tags
    ]
    hashtags = " ".join("#" + tag.ru.replace(" ", "_").replace("-", "_") for tag in result.tags)
    return "\n".join([title, *lines, "", html.escape(hashtags)])


def render_text(result: Any, lang: str) -> str:
    if isinstance(result, TagResult):
        return render_tags(result, lang)
    raise TypeError(f"no renderer for {type(result).__name__}")
