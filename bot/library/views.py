"""The library's texts: the /find list, a /history page, a photo's card, /groups captions."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.library.find import FindAnswer
from bot.ops import op_label
from bot.rendering import quoted
from bot.result_views import card_line
from bot.storage import HistoryItem, Photo
from bot.texts import t, tn
from services.results import CHECK, COPY, TAGS
from services.search.result_texts import CAPTION

#: where a /find word was found -> its name in the answer
SOURCE_KEYS = {
    CAPTION: "find.in_caption",
    TAGS.name: "find.in_tags",
    COPY.name: "find.in_description",
    CHECK.name: "find.in_photo_text",
    "other": "find.in_texts",  # a result kind with no name of its own
}
#: why the picture half said nothing -> the note under the answer
VECTOR_NOTE_KEYS = {
    "unavailable": "find.clip_unavailable",
    "failed": "find.clip_failed",
    "empty": "find.clip_empty",
}
CAPTION_LIMIT = 1024
SHOWN_RESULTS = 6  # results listed on a photo's card


def when(stamp: str) -> str:
    """A row's UTC time stamp as "02.12.2026 14:05"."""
    try:
        return datetime.fromisoformat(stamp).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return stamp[:16]


def find_text(answer: FindAnswer, lang: str) -> str:
    query = quoted(answer.query)
    if not answer.found:
        lines = [t(lang, "find.none", query=query)]
    else:
        lines = [tn(lang, "find.title", len(answer.found), count=len(answer.found), query=query)]
        for number, item in enumerate(answer.found, start=1):
            lines.append(_found_line(number, item.words, item.source, item.similarity, lang))
        lines.append("")
        lines.append(t(lang, "find.open_hint"))
    note = VECTOR_NOTE_KEYS.get(answer.vector)
    if note:
        lines.append(f"<i>{t(lang, note)}</i>")
    elif answer.english and answer.english.strip().lower() != answer.query.strip().lower():
        lines.append(f"<i>{t(lang, 'find.english', english=quoted(answer.english))}</i>")
    return "\n".join(lines)


def _found_line(
    number: int, words: Sequence[str], source: str | None, similarity: float | None, lang: str
) -> str:
    score = f"{similarity:.2f}" if similarity is not None else ""
    if words:
        where = t(lang, SOURCE_KEYS.get(source or "", SOURCE_KEYS["other"]))
        said = ", ".join(f"«{html.escape(word)}»" for word in words)
        if similarity is not None:
            return t(lang, "find.line_both", n=number, words=said, where=where, score=score)
        return t(lang, "find.line_words", n=number, words=said, where=where)
    return t(lang, "find.line_clip", n=number, score=score)


def history_text(items: Sequence[HistoryItem], first: int, total: int, lang: str) -> str:
    if not items:
        return t(lang, "history.empty")
    lines = [t(lang, "history.title", first=first + 1, last=first + len(items), total=total)]
    for number, item in enumerate(items, start=1):
        done = ", ".join(op_label(lang, op) for op in item.ops) or t(lang, "history.nothing")
        caption = f" · «{quoted(item.photo.caption, 40)}»" if item.photo.caption else ""
        date = when(item.photo.created_at)
        lines.append(t(lang, "history.line", n=number, date=date, done=done) + caption)
    lines.append("")
    lines.append(t(lang, "find.open_hint"))
    return "\n".join(lines)


def card_text(
    photo: Photo, results: Sequence[tuple[int, str, str, dict[str, Any]]], lang: str
) -> str:
    """A photo's card: when it came, its caption, and what was made of it."""
    lines = [t(lang, "card.title", date=when(photo.created_at))]
    if photo.caption:
        lines.append(f"«{quoted(photo.caption, 200)}»")
    if not results:
        lines.append(t(lang, "card.no_results"))
    for number, (_, op, kind, payload) in enumerate(results[:SHOWN_RESULTS], start=1):
        summary = card_line(kind, payload, lang)
        name = op_label(lang, op)
        lines.append(f"{number}. {name}: {summary}" if summary else f"{number}. {name}")
    return "\n".join(lines)[:CAPTION_LIMIT]


def group_caption(number: int, name: str, count: int, lang: str) -> str:
    label = html.escape(name) if name else t(lang, "groups.unnamed")
    return tn(lang, "groups.caption", count, number=number, name=label, count=count)
