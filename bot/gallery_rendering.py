"""How /gallery reads in the chat: the message under its album (each slide's own check,
with the grade texts of bot/check_rendering.py), its line in a set's summary, and what a
refused gallery is answered with (services/errors.py `GalleryRefused`)."""

from __future__ import annotations

import html

from bot.check_keys import GRADE_KEYS
from bot.check_rendering import marketplace
from bot.texts import t, tn
from services.errors import GalleryRefused
from services.results.gallery import SLIDE_KINDS, StoredGallery, StoredSlide

#: a slide's kind -> its name
SLIDE_KEYS = {
    "main": "gallery.slide.main",
    "hero": "gallery.slide.hero",
    "benefits": "gallery.slide.benefits",
    "detail": "gallery.slide.detail",
    "scene": "gallery.slide.scene",
}
assert tuple(SLIDE_KEYS) == SLIDE_KINDS
#: a note of the result -> its sentence
NOTE_KEYS = {"title_only": "gallery.title_only"}


def slide_name(kind: str, lang: str) -> str:
    key = SLIDE_KEYS.get(kind)
    return t(lang, key) if key else kind


def grade_name(grade: str, lang: str) -> str:
    key = GRADE_KEYS.get(grade)
    return t(lang, key) if key else grade


def reason_text(code: str, lang: str) -> str:
    """A slide's reason (services/gallery/selfcheck.py: "grade:…", "rule:…", "unread",
    "unread_line:…") in words; an unknown code as it is."""
    kind, _, value = code.partition(":")
    if kind == "grade" and value:
        return t(lang, "gallery.why.grade", grade=grade_name(value, lang))
    if kind == "rule" and value:
        return t(lang, "gallery.why.rule", rule=html.escape(value, quote=False))
    if kind == "unread_line" and value:
        return t(lang, "gallery.why.unread_line", line=html.escape(value[:80], quote=False))
    if kind == "unread":
        return t(lang, "gallery.why.unread")
    return html.escape(code, quote=False)


def slide_line(number: int, slide: StoredSlide, lang: str) -> str:
    """`2. Hero — «Good infographic», rules passed, OCR 98%`."""
    fields = {
        "number": number,
        "slide": slide_name(slide.kind, lang),
        "grade": grade_name(slide.grade, lang),
    }
    if slide.passed:
        line = t(lang, "gallery.slide_ok", **fields)
    else:
        reasons = "; ".join(reason_text(code, lang) for code in slide.reasons) or "—"
        line = t(lang, "gallery.slide_bad", reasons=reasons, **fields)
    if slide.accuracy is not None:
        line += t(lang, "gallery.accuracy", accuracy=round(slide.accuracy * 100))
    return line


def render_gallery(gallery: StoredGallery, lang: str) -> str:
    """The message under the album: the marketplace, the text drawn, each slide's check."""
    count = len(gallery.slides)
    head = tn(
        lang,
        "gallery.head",
        count,
        count=count,
        marketplace=marketplace(gallery.profile, gallery.profile, lang),
        style=gallery.style + 1,
    )
    lines = [head, f"<b>{html.escape(gallery.title, quote=False)}</b>"]
    lines += [f"• {html.escape(line, quote=False)}" for line in gallery.benefits]
    lines.append("")
    lines += [slide_line(n, slide, lang) for n, slide in enumerate(gallery.slides, start=1)]
    lines += [t(lang, NOTE_KEYS[note]) for note in gallery.notes if note in NOTE_KEYS]
    return "\n".join(lines)


def one_line(gallery: StoredGallery, lang: str) -> str:
    """A gallery in a set's summary: how many slides, how many passed their check."""
    passed = sum(slide.passed for slide in gallery.slides)
    return tn(
        lang,
        "gallery.one_line",
        len(gallery.slides),
        count=len(gallery.slides),
        passed=passed,
        title=html.escape(gallery.title[:80], quote=False),
    )


def refused_text(exc: GalleryRefused, lang: str) -> str:
    """Why no gallery was drawn, and what to do: another word, a shorter line, a text."""
    if exc.reason == "banned":
        words = ", ".join(f"«{html.escape(word, quote=False)}»" for word in exc.words)
        return tn(lang, "gallery.banned", max(1, len(exc.words)), words=words)
    if exc.reason == "too_long":
        line = html.escape(exc.line[:200], quote=False)
        return t(lang, "gallery.too_long", line=line, limit=exc.limit, length=len(exc.line))
    if exc.reason == "no_product":
        return t(lang, "gallery.no_product")
    return t(lang, "gallery.no_text")


def asks_again(exc: GalleryRefused) -> bool:
    """A refusal the user answers with a new text (the dialogue starts again)."""
    return exc.reason in ("banned", "too_long", "no_text")
