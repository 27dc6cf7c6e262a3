"""How a finished job's result is shown to the user and kept in storage."""

from __future__ import annotations

import dataclasses
import html
import secrets
from collections.abc import Callable
from typing import Any

from bot import backgrounds
from bot.texts import t
from services.models.clip import TagResult

#: op -> caption of its image result from the stored facts. Ops not listed get the default.
CaptionRenderer = Callable[[dict[str, Any], str], str]
IMAGE_CAPTIONS: dict[str, CaptionRenderer] = {"background": backgrounds.caption}


#: A button under a result -> the job it asks for: (op, job params, result facts) -> (op,
#: params). "again" is shared by every image op; an op adds its own (e.g. "wrong object").
#: None = nothing to ask for (the button answers "result.<action>_none").
FollowUp = Callable[[str, dict[str, Any], dict[str, Any]], tuple[str, dict[str, Any]] | None]


def _again(op: str, params: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The same job with a new seed."""
    return op, {**params, "seed": secrets.randbelow(2**31)}


FOLLOW_UPS: dict[str, FollowUp] = {
    "again": _again,
    "wrong": backgrounds.wrong_object,
    "card": backgrounds.card,
}


def result_payload(result: Any) -> tuple[str, dict[str, Any]]:
    """(kind, JSON-able payload) for the results table (image results are stored by jobs)."""
    if isinstance(result, TagResult):
        return "tags", dataclasses.asdict(result)
    raise TypeError(f"no storage format for {type(result).__name__}")


def render_caption(op: str, facts: dict[str, Any], lang: str) -> str:
    """The caption under an image result (Telegram allows 1024 characters)."""
    renderer = IMAGE_CAPTIONS.get(op)
    text = renderer(facts, lang) if renderer else t(lang, "result.image", op=t(lang, f"op.{op}"))
    return text[:1024]


def _percent(probability: float) -> int:
    return max(1, round(probability * 100)) if probability > 0 else 0


def render_tags(result: TagResult, lang: str) -> str:
    title = t(lang, "tags.title", domain=t(lang, f"domain.{result.domain}"))
    if not result.tags and not result.attributes:
        return f"{title}\n{t(lang, 'tags.empty')}"
    lines = [title]
    lines += [
        t(lang, "tags.line", ru=html.escape(tag.ru), en=html.escape(tag.en),
          percent=_percent(tag.probability))
        for tag in result.tags
    ]  # fmt: skip
    if result.attributes:
        described = " · ".join(
            f"{html.escape(a.ru)} — {html.escape(a.en)} ({_percent(a.probability)}%)"
            for a in result.attributes
        )
        lines.append(t(lang, "tags.attributes", attributes=described))
    words = [tag.ru for tag in (*result.tags, *result.attributes)]
    hashtags = " ".join("#" + word.replace(" ", "_").replace("-", "_") for word in words)
    return "\n".join([*lines, "", html.escape(hashtags)])


def render_text(result: Any, lang: str) -> str:
    if isinstance(result, TagResult):
        return render_tags(result, lang)
    raise TypeError(f"no renderer for {type(result).__name__}")
