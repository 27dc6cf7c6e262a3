"""How each kind of result reads in the chat: its message, its line in a set's summary, its
line on a library card and what /find calls it. One `ResultView` per `ResultKind`
(services/results/kinds.py), registered once in `VIEWS`; nothing else switches on a kind."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import check_rendering, gallery_rendering, hotel_rendering
from bot.rendering import quoted, render_description, render_tags
from services.describer.result import DescriptionResult
from services.models.clip import TagResult
from services.results import (
    CHECK,
    COPY,
    GALLERY,
    IMAGE,
    MEASURE,
    ROOM,
    TAGS,
    ResultKind,
    UnknownKind,
    kind_of,
)
from services.results.kinds import all_tags

#: (the typed result, lang) -> HTML
Render = Callable[[Any, str], str]


@dataclass(frozen=True)
class ResultView:
    kind: ResultKind
    #: the message that replaces the progress message (None: a picture, sent as one)
    message: Render | None
    #: its part of a set's summary (None: the message itself)
    summary: Render | None = None
    #: its line on a photo's library card (None: the op's name alone)
    card: Render | None = None


def _tag_summary(result: TagResult, lang: str) -> str:
    words = [
        f"{tag.ru if lang == 'ru' else tag.en} {round(tag.probability * 100)}%"
        for tag in all_tags(result)
    ]
    return html.escape(", ".join(words))


def _tag_card(result: TagResult, lang: str) -> str:
    return quoted(", ".join(tag.ru if lang == "ru" else tag.en for tag in result.tags), 80)


def _copy_summary(result: DescriptionResult, lang: str) -> str:
    lines = [result.title, *(f"• {line}" for line in result.benefits), result.closing]
    return "\n" + html.escape("\n".join(line[:400] for line in lines), quote=False)


def _copy_card(result: DescriptionResult, lang: str) -> str:
    return quoted(result.title, 80)


def _gallery_card(result: Any, lang: str) -> str:
    return quoted(result.title, 80)


VIEWS: dict[str, ResultView] = {
    TAGS.name: ResultView(TAGS, render_tags, _tag_summary, _tag_card),
    COPY.name: ResultView(COPY, render_description, _copy_summary, _copy_card),
    CHECK.name: ResultView(CHECK, check_rendering.render_check, check_rendering.one_line),
    IMAGE.name: ResultView(IMAGE, None),
    MEASURE.name: ResultView(MEASURE, None),
    GALLERY.name: ResultView(
        GALLERY, gallery_rendering.render_gallery, gallery_rendering.one_line, _gallery_card
    ),
    ROOM.name: ResultView(
        ROOM, hotel_rendering.render_room, hotel_rendering.room_line, hotel_rendering.room_line
    ),
}


def stored(result: Any) -> tuple[str, dict[str, Any]]:
    """(kind, JSON-able payload) of a text result for the results table."""
    kind = kind_of(result)
    return kind.name, kind.to_payload(result)


def message_of(result: Any, lang: str) -> str:
    """A text result's message (TypeError for a result with none)."""
    view = VIEWS[kind_of(result).name]
    if view.message is None:
        raise TypeError(f"no message for {type(result).__name__}")
    return view.message(result, lang)


def stored_message(kind: str, payload: dict[str, Any], lang: str) -> str | None:
    """A stored text result's message again ("Show again"); None if the kind has none or
    the payload is not one of it."""
    view = VIEWS.get(kind)
    if view is None or view.message is None:
        return None
    try:
        return view.message(view.kind.from_payload(payload), lang)
    except (KeyError, TypeError, ValueError, UnknownKind):
        return None


def summary_of(kind: str, payload: dict[str, Any], lang: str) -> str | None:
    """A stored result's part of a set's summary."""
    view = VIEWS.get(kind)
    if view is None:
        return None
    if view.summary is None:
        return stored_message(kind, payload, lang)
    try:
        return view.summary(view.kind.from_payload(payload), lang)
    except (KeyError, TypeError, ValueError):
        return None


def card_line(kind: str, payload: dict[str, Any], lang: str) -> str:
    """A stored result's few words on its photo's library card ("" for none)."""
    view = VIEWS.get(kind)
    if view is None or view.card is None:
        return ""
    try:
        return view.card(view.kind.from_payload(payload), lang)
    except (KeyError, TypeError, ValueError):
        return ""
