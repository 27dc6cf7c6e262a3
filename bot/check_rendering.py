"""How /check, /clean and "Fix for <marketplace>" read in the chat: the grade (labelled
exactly as the issue names the five), the signals that decided it, each failed rule with
what was measured and the limit («Размер 600×400 — меньше 900×1200 для Wildberries»),
required or only recommended, the text found and where, the banned words; the captions of
a cleaned photo and of a fixed card (with the card's own check)."""

from __future__ import annotations

import html
import math
from typing import Any

from bot.check_keys import (
    BACKGROUND_KEYS,
    FILL_KEYS,
    GRADE_KEYS,
    HARD_RULE_KEYS,
    LEVEL_KEYS,
    ORIENTATION_KEYS,
    PLACE_KEYS,
    PROFILE_BUTTON_KEYS,
    PROFILE_KEYS,
    REASON_KEYS,
    RULE_KEYS,
    VERDICT_KEYS,
)
from bot.texts import t, tn
from services.marketplace.summary import CheckSummary, RuleLine, TextLine

#: signals shown as a share of something (percent); the others as numbers
_PERCENT = frozenset(
    {
        "text_share",
        "text_height",
        "text_small",
        "text_low_contrast",
        "background_edges",
        "fill_gap",
        "object_fill",
        "object_share",
    }
)
REASONS_SHOWN = 3
CAPTION_LIMIT = 1024


def marketplace(profile: str, fallback: str, lang: str) -> str:
    """The marketplace's name in a sentence (the profiles file's name for a new one)."""
    key = PROFILE_KEYS.get(profile)
    return t(lang, key) if key else fallback


def profile_button(profile: str, lang: str) -> str:
    """A profile's button: the catalog's short name, else the profiles file's name."""
    key = PROFILE_BUTTON_KEYS.get(profile)
    if key:
        return t(lang, key)
    from services.marketplace.profiles import load_profiles

    found = load_profiles().profiles.get(profile)
    return found.name if found else profile


def _value(signal: str, value: float) -> str:
    if not math.isfinite(value):
        return "?"
    if signal in _PERCENT or signal.startswith("clip_"):
        return f"{round(value * 100)}%"
    if abs(value - round(value)) < 1e-9 or abs(value) >= 10:
        return str(round(value))
    return f"{value:.1f}"


def reasons(summary: CheckSummary, lang: str) -> str:
    """The signals that decided the grade, strongest first, with their values."""
    parts = []
    if summary.rule in HARD_RULE_KEYS:
        parts.append(t(lang, HARD_RULE_KEYS[summary.rule]))
    for reason in summary.reasons:
        if len(parts) >= REASONS_SHOWN:
            break
        key = REASON_KEYS.get(reason.feature)
        if key is None or reason.contribution <= 0:
            continue
        parts.append(t(lang, key, value=_value(reason.signal, reason.value)))
    return ", ".join(parts)


def _background_words(text: str | None, lang: str) -> str:
    words = [w.strip() for w in (text or "").split(",") if w.strip()]
    return ", ".join(t(lang, BACKGROUND_KEYS[w]) if w in BACKGROUND_KEYS else w for w in words)


def rule_line(rule: RuleLine, market: str, lang: str) -> str:
    measured, limit = rule.measured or "?", rule.limit
    if rule.rule == "background":
        measured, limit = _background_words(measured, lang), _background_words(limit, lang)
    if rule.rule == "orientation" and limit in ORIENTATION_KEYS:
        limit = t(lang, ORIENTATION_KEYS[limit])
    key = RULE_KEYS.get(rule.rule)
    fields = {"measured": html.escape(measured), "limit": html.escape(limit)}
    sentence = t(lang, key, marketplace=market, **fields) if key else f"{rule.rule}: {measured}"
    return f"• {sentence} ({t(lang, LEVEL_KEYS.get(rule.level, 'check.level.recommended'))})"


def legible(text: str | None) -> bool:
    """Worth quoting: a word of at least two letters or digits (not «i», «|»)."""
    return any(sum(ch.isalnum() for ch in word) >= 2 for word in (text or "").split())


def text_line(text: TextLine, lang: str) -> str:
    place = t(lang, PLACE_KEYS["own_print" if text.own_print else text.place])
    if legible(text.text):
        return "• " + t(lang, "check.text_line", text=html.escape(text.text[:100]), place=place)
    return "• " + t(lang, "check.text_unread", place=place)


def render_check(summary: CheckSummary, lang: str, *, limit: int = 4096) -> str:
    """The check message (HTML), at most `limit` characters: the list of texts is cut
    first, then the rules."""
    market = marketplace(summary.profile, summary.marketplace, lang)
    if summary.grade is None:
        return _render_room(summary, market, lang, limit)
    head = [t(lang, "check.title", grade=t(lang, GRADE_KEYS[summary.grade]), marketplace=market)]
    why = reasons(summary, lang)
    if why:
        head.append(t(lang, "check.why", reasons=why))
    failed = summary.failures
    rules = [t(lang, "check.failed")] if failed else [t(lang, "check.passed", marketplace=market)]
    rules += [rule_line(rule, market, lang) for rule in failed]
    texts = [text_line(text, lang) for text in summary.texts]
    if texts:
        texts.insert(0, t(lang, "check.texts"))
    tail = []
    if summary.banned:
        found = ", ".join(f"«{html.escape(hit.found)}»" for hit in summary.banned)
        tail.append(t(lang, "check.banned", words=found))
    if not summary.read and summary.texts:
        tail.append(t(lang, "check.unread"))
    if not summary.clip:
        tail.append(t(lang, "check.no_clip"))
    return _fit([head, rules, texts, tail], limit, lang)


def _render_room(summary: CheckSummary, market: str, lang: str, limit: int) -> str:
    """A room photo's check: ready for the platform or not, each failed rule, the text."""
    head = [t(lang, VERDICT_KEYS[summary.ready], marketplace=market)]
    failed = summary.failures
    rules = [t(lang, "check.failed")] if failed else [t(lang, "check.passed", marketplace=market)]
    rules += [rule_line(rule, market, lang) for rule in failed]
    texts = [text_line(text, lang) for text in summary.texts]
    if texts:
        texts.insert(0, t(lang, "check.texts"))
    tail = [t(lang, "check.unread")] if not summary.read and summary.texts else []
    return _fit([head, rules, texts, tail], limit, lang)


def one_line(summary: CheckSummary, lang: str) -> str:
    """A check in one line (a set's summary): the grade and how many rules fail."""
    if summary.grade is None:
        market = marketplace(summary.profile, summary.marketplace, lang)
        grade = t(lang, VERDICT_KEYS[summary.ready], marketplace=market)
    else:
        grade = t(lang, GRADE_KEYS[summary.grade])
    failed = len(summary.failures)
    if not failed:
        return t(lang, "check.one_line_ok", grade=grade)
    return tn(lang, "check.one_line", failed, grade=grade, count=failed)


def _fit(blocks: list[list[str]], limit: int, lang: str) -> str:
    """Blocks of lines joined by blank lines; the texts' lines (then the rules') dropped
    from the end until it fits, with a note of how many were left out."""
    dropped = {1: 0, 2: 0}

    def joined() -> str:
        parts = [list(block) for block in blocks]
        for index, count in dropped.items():
            if count:
                parts[index].append(tn(lang, "check.more", count, count=count))
        return "\n\n".join("\n".join(part) for part in parts if part)

    text = joined()
    for index in (2, 1):
        while len(text) > limit and len(blocks[index]) > 1:
            blocks[index].pop()
            dropped[index] += 1
            text = joined()
    return text[:limit]


def clean_caption(facts: dict[str, Any], lang: str) -> str:
    """Under a cleaned photo's before/after."""
    regions = int(facts.get("regions", 0) or 0)
    if not regions:
        return t(lang, "clean.none")
    percent = max(1, round(float(facts.get("removed_share", 0.0)) * 100))
    fill_key = FILL_KEYS.get(str(facts.get("fill")), "clean.fill.telea")
    fill = t(lang, fill_key, seed=facts.get("seed"))
    lines = [tn(lang, "clean.caption", regions, count=regions, percent=percent, fill=fill)]
    if facts.get("all"):
        lines.append(t(lang, "clean.all"))
    lines.append(t(lang, "clean.preview"))
    return "\n".join(lines)


def fix_caption(facts: dict[str, Any], lang: str) -> str:
    """Under a fixed card: what it is, then its own check (may pass 1024 characters: the
    delivery sends the rest as a message, `split_caption`)."""
    market = marketplace(str(facts.get("profile")), str(facts.get("marketplace", "")), lang)
    lines = [
        t(
            lang,
            "fix.caption",
            marketplace=market,
            width=facts.get("width"),
            height=facts.get("height"),
            format=facts.get("format"),
            percent=round(float(facts.get("fill", 0.0)) * 100),
        )
    ]
    if facts.get("whole_photo"):
        lines.append(t(lang, "fix.whole_photo"))
    if facts.get("needs_look"):
        lines.append(t(lang, "fix.needs_look"))
    cleaned = facts.get("cleaned") or {}
    if int(cleaned.get("regions", 0) or 0):
        lines.append(
            tn(lang, "fix.cleaned", int(cleaned["regions"]), count=int(cleaned["regions"]))
        )
    check = facts.get("check")
    if check:
        lines += ["", t(lang, "fix.recheck"), render_check(CheckSummary.from_payload(check), lang)]
    return "\n".join(lines)


def split_caption(text: str, limit: int = CAPTION_LIMIT) -> tuple[str, str | None]:
    """A caption of at most `limit` characters, and the rest (None: it fits), cut at a
    line break so no HTML tag is split (tags never span lines here)."""
    if len(text) <= limit:
        return text, None
    cut = text.rfind("\n", 0, limit)
    if cut <= 0:
        cut = limit
    return text[:cut].rstrip(), text[cut:].strip() or None
