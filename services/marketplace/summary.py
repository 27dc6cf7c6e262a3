"""What /check hands back: `CheckSummary`, the parts of a `CheckReport` the reply and the
CSV show, in plain values (no arrays): it crosses the worker's pipe and Redis, is stored
as JSON with the job's result, and comes back from that JSON (`from_payload`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the bot renders summaries without numpy or OpenCV
    from services.hotel.check import RoomReport
    from services.marketplace.check import CheckReport


@dataclass(frozen=True)
class Reason:
    """One signal that decided the grade: weight × evidence = contribution."""

    feature: str  # grading.toml's feature (text_small, bg_busy...)
    signal: str  # the signal it reads (text_small, background_edges...)
    value: float  # the signal as measured
    contribution: float


@dataclass(frozen=True)
class RuleLine:
    rule: str  # min_size, aspect, ... (profiles.toml)
    passed: bool | None  # None: not measured
    measured: str | None  # "600×400", "54 %", "white, uneven"
    limit: str  # "900×1200", "65–98 %"
    level: str  # required | recommended (unverified or not required)
    source: str


@dataclass(frozen=True)
class TextLine:
    text: str | None  # the words read; None: found, not read; "": nothing legible
    place: str  # top | bottom | over_product
    bbox: tuple[int, int, int, int]
    own_print: bool  # the product's own print (a label on the pack), not added text
    banned: tuple[str, ...] = ()  # what in it is banned, as written


@dataclass(frozen=True)
class BannedLine:
    category: str  # word | rank | discount | price | phone | link
    term: str
    found: str


@dataclass(frozen=True)
class CheckSummary:
    profile: str  # the profile's id (wb, ozon, ym, generic, booking...)
    marketplace: str  # its name (Wildberries, Booking.com)
    grade: str | None  # one of services.marketplace.grading.GRADES; None for a room photo
    rule: str | None  # the hard rule that set the grade (no_text, foreign_text...)
    runner_up: str
    reasons: tuple[Reason, ...]
    rules: tuple[RuleLine, ...]
    texts: tuple[TextLine, ...]
    banned: tuple[BannedLine, ...]
    size: tuple[int, int]
    format: str
    #: the text regions were read (Tesseract); False: `unread` says why
    read: bool = True
    unread: str | None = None
    #: CLIP's zero-shot probabilities were one of the signals
    clip: bool = False
    seconds: Mapping[str, float] = field(default_factory=dict)
    #: "product" (a marketplace card, graded) or "hotel" (a room photo: rules only)
    domain: str = "product"

    @property
    def ready(self) -> bool:
        """No required rule fails: «Готово для Booking»."""
        return not any(r.passed is False and r.level == "required" for r in self.rules)

    @property
    def failures(self) -> list[RuleLine]:
        """The rules that failed, required ones first (then in the profile's order)."""
        failed = [r for r in self.rules if r.passed is False]
        return sorted(failed, key=lambda r: r.level != "required")

    @classmethod
    def from_report(
        cls,
        report: CheckReport,
        *,
        read: bool = True,
        unread: str | None = None,
        clip: bool = False,
        seconds: Mapping[str, float] | None = None,
        reasons: int = 5,
    ) -> CheckSummary:
        """The summary of `report`: the `reasons` strongest contributions to its grade."""
        grade = report.grade
        return cls(
            profile=report.profile.id,
            marketplace=report.profile.name,
            grade=grade.label,
            rule=grade.rule,
            runner_up=grade.runner_up,
            reasons=tuple(
                Reason(c.feature, c.signal, _finite(c.value), round(c.contribution, 4))
                for c in grade.deciding[:reasons]
            ),
            rules=tuple(
                RuleLine(r.rule, r.passed, r.measured_text, r.limit_text, r.level, r.source)
                for r in report.results
            ),
            texts=tuple(
                TextLine(
                    t.text,
                    t.place,
                    tuple(int(v) for v in t.bbox),
                    t.own_print,  # type: ignore[arg-type]
                    tuple(hit.found for hit in t.banned),
                )
                for t in report.texts
            ),
            banned=tuple(BannedLine(h.category, h.term, h.found) for h in report.banned),
            size=report.facts.size,
            format=report.facts.format,
            read=read,
            unread=unread,
            clip=clip,
            seconds={k: round(v, 4) for k, v in (seconds or {}).items()},
        )

    @classmethod
    def from_room(
        cls,
        report: RoomReport,
        *,
        read: bool = True,
        unread: str | None = None,
        seconds: Mapping[str, float] | None = None,
    ) -> CheckSummary:
        """The summary of a room photo's check: its rules and the text found (no grade)."""
        height = max(1, report.facts.height)
        hits = {r.rule: r.measured for r in report.results if r.passed is False}
        flagged = {str(f) for rule in ("contacts", "watermarks") for f in hits.get(rule) or ()}
        texts = tuple(
            TextLine(
                box.text,
                "top" if (box.bbox[1] + box.bbox[3]) / 2 < height / 2 else "bottom",
                tuple(int(v) for v in box.bbox),  # type: ignore[arg-type]
                False,
                tuple(f for f in flagged if box.text and f in box.text),
            )
            for box in report.boxes
        )
        return cls(
            profile=report.profile.id,
            marketplace=report.profile.name,
            grade=None,
            rule=None,
            runner_up="",
            reasons=(),
            rules=tuple(
                RuleLine(r.rule, r.passed, r.measured_text, r.limit_text, r.level, r.source)
                for r in report.results
            ),
            texts=texts,
            banned=(),
            size=report.facts.size,
            format=report.facts.format,
            read=read,
            unread=unread,
            clip=False,
            seconds={k: round(v, 4) for k, v in (seconds or {}).items()},
            domain="hotel",
        )

    def to_payload(self) -> dict[str, Any]:
        """JSON-able (the results table, results.json, a fix's caption facts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> CheckSummary:
        """The summary `to_payload` wrote (lists back to tuples)."""
        data = dict(payload)
        return cls(
            profile=str(data["profile"]),
            marketplace=str(data["marketplace"]),
            grade=None if data.get("grade") is None else str(data["grade"]),
            rule=data.get("rule"),
            runner_up=str(data.get("runner_up", "")),
            reasons=tuple(Reason(**item) for item in data.get("reasons", ())),
            rules=tuple(RuleLine(**item) for item in data.get("rules", ())),
            texts=tuple(
                TextLine(
                    item.get("text"),
                    str(item["place"]),
                    tuple(item["bbox"]),  # type: ignore[arg-type]
                    bool(item.get("own_print")),
                    tuple(item.get("banned", ())),
                )
                for item in data.get("texts", ())
            ),
            banned=tuple(BannedLine(**item) for item in data.get("banned", ())),
            size=tuple(data.get("size", (0, 0))),  # type: ignore[arg-type]
            format=str(data.get("format", "")),
            read=bool(data.get("read", True)),
            unread=data.get("unread"),
            clip=bool(data.get("clip", False)),
            seconds=dict(data.get("seconds", {})),
            domain=str(data.get("domain", "product")),
        )


def _finite(value: float) -> float:
    return round(float(value), 4) if math.isfinite(value) else 0.0
