"""A room photo against a hotel platform's profile: the file rules the marketplaces share
(size, orientation, file size, format) and the scene rules of a room photo (exposure, tilt,
sharpness, contact details, QR codes, watermarks, borders, collages, black-and-white), each
with what was measured and the limit, as language-neutral text the reply translates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.marketplace.banned import find_banned
from services.marketplace.facts import PhotoFacts
from services.marketplace.profiles import BannedLists, Profile, Rule
from services.marketplace.rules import (
    FILE_RULES,
    Measured,
    RuleResult,
    file_rule,
    ratio_text,
    scene_rule,
    size_rule,
)


@dataclass(frozen=True)
class RoomMeasured:
    """What the pixels and the reader say about a room photo; None: not measured."""

    mean_l: float | None = None  # L* 0..100
    shadows: float | None = None  # share of crushed-black pixels
    highlights: float | None = None  # share of blown pixels
    tilt: float | None = None  # degrees: the larger of the verticals' and the horizon's lean
    sharpness: float | None = None  # Laplacian variance at a 1024 px long side
    texts: tuple[str, ...] | None = None  # the lines read (OCR)
    text_regions: int | None = None  # the detector's text regions
    qr_codes: tuple[str, ...] | None = None  # each code's payload ("" when not decoded)
    borders: tuple[str, ...] | None = None  # sides with an added frame
    collage: bool | None = None
    colourfulness: float | None = None
    monochrome: bool | None = None


def _result(
    rule: Rule, passed: bool | None, measured: object, limit: object, mtext: str | None, ltext: str
) -> RuleResult:
    return RuleResult(
        rule.id, passed, measured, limit, mtext, ltext, rule.required, rule.verified, rule.source
    )


def _percent(share: float) -> str:
    return f"{round(share * 100)} %"


def _orientation(rule: Rule, facts: PhotoFacts) -> RuleResult:
    landscape = facts.width >= facts.height
    shape = "landscape" if landscape else "portrait"
    passed = shape == rule["prefer"] or facts.width == facts.height
    return _result(
        rule, passed, shape, rule["prefer"], ratio_text(facts.width, facts.height), rule["prefer"]
    )


def _exposure(rule: Rule, m: RoomMeasured) -> RuleResult:
    low, high = rule["min_mean_l"], rule["max_mean_l"]
    dark, blown = _percent(rule["max_shadows"]), _percent(rule["max_highlights"])
    limit = f"L* {low:g}–{high:g}, ≤ {dark} / ≤ {blown}"
    if m.mean_l is None or m.shadows is None or m.highlights is None:
        return _result(rule, None, None, (low, high), None, limit)
    passed = (
        low <= m.mean_l <= high
        and m.shadows <= rule["max_shadows"]
        and m.highlights <= rule["max_highlights"]
    )
    text = f"L* {round(m.mean_l)}, {_percent(m.shadows)} / {_percent(m.highlights)}"
    return _result(rule, passed, (m.mean_l, m.shadows, m.highlights), (low, high), text, limit)


def _number(
    rule: Rule, value: float | None, limit: float, *, at_most: bool, unit: str = ""
) -> RuleResult:
    ltext = f"{limit:g}{unit}"
    if value is None:
        return _result(rule, None, None, limit, None, ltext)
    passed = value <= limit if at_most else value >= limit
    shown = f"{value:.1f}{unit}" if unit else str(round(value))
    return _result(rule, passed, value, limit, shown, ltext)


def _found(rule: Rule, found: Sequence[str] | None) -> RuleResult:
    """A rule that fails on anything found (contacts, watermarks, QR codes)."""
    if found is None:
        return _result(rule, None, None, (), None, "—")
    text = ", ".join(f"«{item}»" if item else "?" for item in found) or "—"
    return _result(rule, not found, tuple(found), (), text if found else "0", "0")


def _flag(rule: Rule, present: bool | None, shown: str | None) -> RuleResult:
    if present is None:
        return _result(rule, None, None, False, None, "—")
    return _result(rule, rule["allowed"] or not present, present, False, shown, "—")


def contacts_in(texts: Sequence[str], banned: BannedLists, categories: Sequence[str]) -> list[str]:
    """The prices, phone numbers, e-mails and links in the lines read, as written."""
    return [hit.found for hit in find_banned(texts, banned) if hit.category in categories]


def _mark_pattern(mark: str) -> re.Pattern[str]:
    """A platform's name as a word; a sign without letters (©, (c)) only before a name: a
    lone «©» is what OCR makes of a speck."""
    escaped = re.escape(mark.casefold())
    if any(ch.isalpha() for ch in mark.casefold().replace("(c)", "")):
        return re.compile(rf"(?<!\w){escaped}(?!\w)")
    return re.compile(rf"{escaped}\s*[^\W\d_]{{2,}}")


def watermarks_in(texts: Sequence[str], marks: Sequence[str]) -> list[str]:
    """The lines naming another platform, or with a copyright sign before a name."""
    patterns = [_mark_pattern(mark) for mark in marks]
    return [text.strip() for text in texts if any(p.search(text.casefold()) for p in patterns)]


def scene(rule: Rule, m: RoomMeasured, banned: BannedLists | None) -> RuleResult:
    kind = rule.id
    if kind == "exposure":
        return _exposure(rule, m)
    if kind == "tilt":
        return _number(rule, m.tilt, rule["max_degrees"], at_most=True, unit="°")
    if kind == "sharpness":
        return _number(rule, m.sharpness, rule["min"], at_most=False)
    if kind == "contacts":
        found = None
        if m.texts is not None and banned is not None:
            found = contacts_in(m.texts, banned, rule["categories"])
        return _found(rule, found)
    if kind == "watermarks":
        found = None if m.texts is None else watermarks_in(m.texts, rule["words"])
        return _found(rule, [] if rule["allowed"] and found is not None else found)
    if kind == "qr_codes":
        found = m.qr_codes
        return _found(rule, () if rule["allowed"] and found is not None else found)
    if kind == "borders":
        present = None if m.borders is None else bool(m.borders)
        return _flag(rule, present, str(len(m.borders)) if m.borders else "0")
    if kind == "collage":
        return _flag(rule, m.collage, None)
    if kind == "monochrome":
        shown = None if m.colourfulness is None else str(round(m.colourfulness))
        return _flag(rule, m.monochrome, shown)
    if kind in ("text", "banned_words"):
        return scene_rule(rule, Measured(text_regions=m.text_regions, texts=m.texts), banned)
    raise ValueError(f"not a room photo rule: {kind}")


def check_room_photo(
    profile: Profile,
    facts: PhotoFacts,
    measured: RoomMeasured | None = None,
    *,
    banned: BannedLists | None = None,
) -> list[RuleResult]:
    """Every rule of a hotel `profile`, in the profile's order (passed=None: not measured)."""
    measured = measured or RoomMeasured()
    results = []
    for rule in profile.rules.values():
        if rule.id in ("min_size", "recommended_size"):
            results.append(size_rule(rule, facts))
        elif rule.id in FILE_RULES:
            results.append(file_rule(rule, facts))
        elif rule.id == "orientation":
            results.append(_orientation(rule, facts))
        else:
            results.append(scene(rule, measured, banned))
    return results


#: the rules a hotel set's ordering pass can judge from its own measures (no text read)
PIXEL_RULES = ("min_size", "orientation", "exposure", "tilt", "sharpness")


def pixel_problems(
    profile: Profile, width: int, height: int, measured: RoomMeasured
) -> tuple[str, ...]:
    """The ids of the profile's size, orientation, exposure, tilt and sharpness rules a
    photo fails (what results.csv's "problems" says of a hotel set's photo)."""
    facts = PhotoFacts(width, height, "JPEG", "RGB", 0.0, "sRGB", None, None)
    failed = []
    for rule in profile.rules.values():
        if rule.id not in PIXEL_RULES:
            continue
        if rule.id == "min_size":
            result = size_rule(rule, facts)
        elif rule.id == "orientation":
            result = _orientation(rule, facts)
        else:
            result = scene(rule, measured, None)
        if result.passed is False:
            failed.append(rule.id)
    return tuple(failed)
