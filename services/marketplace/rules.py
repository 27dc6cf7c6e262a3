"""A photo against a marketplace profile: every rule with what was measured, the limit,
and whether it passed. The reply builds sentences from these («Размер 600×400 — меньше
900×1200 для Wildberries»): each result carries raw values and language-neutral text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from services.marketplace.banned import BannedHit, find_banned
from services.marketplace.facts import PhotoFacts
from services.marketplace.profiles import BannedLists, Profile, Rule

#: Which measured background classes each rule colour accepts (signals.background_class).
ACCEPTED_BACKGROUNDS = {
    "white": ("white",),
    "light": ("white", "light"),
    "neutral": ("white", "light", "neutral"),
}


@dataclass(frozen=True)
class Measured:
    """What the pixels and the readers say; None: not measured (the rule reports None)."""

    background: str | None = None  # white | light | neutral | colour (signals.py)
    background_uniform: bool | None = None
    object_fill: float | None = None
    #: text regions outside the product (the detector's count)
    text_regions: int | None = None
    #: the lines read outside the product (OCR); banned words are searched in them
    texts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool | None  # None: not measured, or not applicable (quality of a PNG)
    measured: Any  # raw: (w, h), a share, a format name, a count, found strings...
    limit: Any
    measured_text: str | None  # "600×400", "54 %", "WEBP", «ХИТ ПРОДАЖ»
    limit_text: str  # "900×1200", "65–98 %", "JPEG, PNG"
    required: bool
    verified: bool
    source: str
    hits: tuple[BannedHit, ...] = ()

    @property
    def level(self) -> str:
        return "required" if self.required and self.verified else "recommended"


def _percent(share: float) -> str:
    return f"{round(share * 100)} %"


def ratio_text(width: int, height: int) -> str:
    """ "3:4" when a small ratio is within 0.5 % of width:height, else "1:1.33"-style."""
    if width <= 0 or height <= 0:
        return "?"
    exact = Fraction(width, height)
    near = exact.limit_denominator(16)
    if near.numerator <= 16 and abs(float(near) / float(exact) - 1.0) <= 0.005:
        return f"{near.numerator}:{near.denominator}"
    return f"1:{height / width:.2f}" if height >= width else f"{width / height:.2f}:1"


def _result(
    rule: Rule,
    passed: bool | None,
    measured: Any,
    limit: Any,
    mtext: str | None,
    ltext: str,
    hits: Sequence[BannedHit] = (),
) -> RuleResult:
    return RuleResult(
        rule.id,
        passed,
        measured,
        limit,
        mtext,
        ltext,
        rule.required,
        rule.verified,
        rule.source,
        tuple(hits),
    )


def size_rule(rule: Rule, facts: PhotoFacts) -> RuleResult:
    limit = (rule["width"], rule["height"])
    if facts.height > facts.width and rule.params.get("portrait"):
        limit = rule["portrait"]  # the platform's own minimum for an upright photo
    passed = facts.width >= limit[0] and facts.height >= limit[1]
    return _result(
        rule, passed, facts.size, limit, f"{facts.width}×{facts.height}", f"{limit[0]}×{limit[1]}"
    )


def file_rule(rule: Rule, facts: PhotoFacts) -> RuleResult:
    kind = rule.id
    if kind == "max_side":
        side = max(facts.size)
        return _result(
            rule, side <= rule["value"], side, rule["value"], str(side), str(rule["value"])
        )
    if kind == "aspect":
        w, h = rule["ratio"]
        off = abs(facts.width * h / (facts.height * w) - 1.0) if facts.height else 1.0
        measured = ratio_text(facts.width, facts.height)
        return _result(rule, off <= rule["tolerance"], measured, f"{w}:{h}", measured, f"{w}:{h}")
    if kind == "formats":
        allowed = rule["allowed"]
        passed = facts.format in allowed
        return _result(rule, passed, facts.format, allowed, facts.format, ", ".join(allowed))
    if kind == "colour_space":
        passed = facts.colour_space == rule["value"]
        return _result(
            rule, passed, facts.colour_space, rule["value"], facts.colour_space, rule["value"]
        )
    if kind == "jpeg_quality":
        q = facts.jpeg_quality
        passed = None if q is None else q >= rule["min"]
        return _result(
            rule, passed, q, rule["min"], None if q is None else str(q), str(rule["min"])
        )
    if kind == "max_file_mb":
        if facts.file_bytes is None:
            return _result(rule, None, None, rule["value"], None, f"{rule['value']:g} MB")
        mb = facts.file_bytes / 1_000_000
        return _result(
            rule, mb <= rule["value"], mb, rule["value"], f"{mb:.1f} MB", f"{rule['value']:g} MB"
        )
    if kind == "transparency":
        share = facts.transparent_share
        passed = rule["allowed"] or share == 0.0
        limit = None if rule["allowed"] else 0.0
        return _result(
            rule,
            passed,
            share,
            limit,
            _percent(share) if share else "0 %",
            "—" if rule["allowed"] else "0 %",
        )
    raise ValueError(f"not a file rule: {kind}")


def scene_rule(rule: Rule, measured: Measured, banned: BannedLists | None) -> RuleResult:
    kind = rule.id
    if kind == "background":
        accepted = ACCEPTED_BACKGROUNDS[rule["colour"]]
        limit_text = rule["colour"] + (", uniform" if rule["uniform"] else "")
        if measured.background is None:
            return _result(rule, None, None, rule["colour"], None, limit_text)
        passed = measured.background in accepted
        if rule["uniform"] and measured.background_uniform is not None:
            passed = passed and measured.background_uniform
        text = measured.background + (
            "" if measured.background_uniform in (None, True) else ", uneven"
        )
        return _result(rule, passed, measured.background, rule["colour"], text, limit_text)
    if kind == "object_fill":
        low, high = rule["min"], rule["max"]
        limit_text = f"{round(low * 100)}–{round(high * 100)} %"
        fill = measured.object_fill
        if fill is None:
            return _result(rule, None, None, (low, high), None, limit_text)
        return _result(rule, low <= fill <= high, fill, (low, high), _percent(fill), limit_text)
    if kind == "text":
        count = measured.text_regions
        if count is None and measured.texts is not None:
            count = sum(1 for line in measured.texts if line.strip())
        if count is None:
            return _result(rule, None, None, 0, None, "0")
        return _result(rule, rule["allowed"] or count == 0, count, 0, str(count), "0")
    if kind == "banned_words":
        if measured.texts is None or banned is None:
            return _result(rule, None, None, (), None, "—")
        hits = find_banned(measured.texts, banned, rule["extra"])
        found = tuple(hit.found for hit in hits)
        text = ", ".join(f"«{f}»" for f in found) or "—"
        return _result(rule, not hits, found, (), text, "—", hits)
    raise ValueError(f"not a scene rule: {kind}")


FILE_RULES = frozenset(
    {
        "max_side",
        "aspect",
        "formats",
        "colour_space",
        "jpeg_quality",
        "max_file_mb",
        "transparency",
    }
)


def check_photo(
    profile: Profile,
    facts: PhotoFacts,
    measured: Measured | None = None,
    *,
    banned: BannedLists | None = None,
) -> list[RuleResult]:
    """Every rule of `profile`, in the profile's order. Scene rules (background, fill,
    text, banned words) report passed=None when `measured` lacks what they need."""
    measured = measured or Measured()
    results = []
    for rule in profile.rules.values():
        if rule.id in ("min_size", "recommended_size"):
            results.append(size_rule(rule, facts))
        elif rule.id in FILE_RULES:
            results.append(file_rule(rule, facts))
        else:
            results.append(scene_rule(rule, measured, banned))
    return results


def failures(results: Sequence[RuleResult]) -> list[RuleResult]:
    """The rules that failed, required ones first (then in the profile's order)."""
    failed = [r for r in results if r.passed is False]
    return sorted(failed, key=lambda r: r.level != "required")
