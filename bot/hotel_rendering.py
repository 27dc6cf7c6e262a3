"""How a hotelier's results read in the chat: a photo's room type and cover score, the
captions of a straightened and a brightened photo and of a photo fixed for a platform, and
a hotel set's new gallery order (count per room type, what Booking's advice misses)."""

from __future__ import annotations

import html
from typing import Any

from bot import check_rendering
from bot.texts import t, tn
from services.hotel.ordering import Ordering
from services.marketplace.summary import CheckSummary
from services.results.room import RoomFacts

#: the reasons straighten changed nothing (services/imaging/straighten.py)
STRAIGHTEN_REASON_KEYS = {
    "few_lines": "straighten.few_lines",
    "too_steep": "straighten.too_steep",
    "straight": "straighten.straight",
}
#: a room type (services/hotel/rooms.toml) as a name, and in the genitive («нет фото ванной»)
ROOM_KEYS = {
    "facade": "room.facade",
    "reception": "room.reception",
    "lobby": "room.lobby",
    "bedroom": "room.bedroom",
    "bathroom": "room.bathroom",
    "restaurant": "room.restaurant",
    "wellness": "room.wellness",
    "conference": "room.conference",
    "grounds": "room.grounds",
    "view": "room.view",
}
ROOM_OF_KEYS = {
    "facade": "room_of.facade",
    "reception": "room_of.reception",
    "lobby": "room_of.lobby",
    "bedroom": "room_of.bedroom",
    "bathroom": "room_of.bathroom",
    "restaurant": "room_of.restaurant",
    "wellness": "room_of.wellness",
    "conference": "room_of.conference",
    "grounds": "room_of.grounds",
    "view": "room_of.view",
}
STRENGTH_KEYS = {
    "gentle": "settings.strength_gentle",
    "normal": "settings.strength_normal",
    "strong": "settings.strength_strong",
}


def room_name(lang: str, room: str) -> str:
    """A room type (services/hotel/rooms.toml) as the catalogs name it."""
    key = ROOM_KEYS.get(room)
    return t(lang, key) if key else room


def render_room(result: RoomFacts, lang: str) -> str:
    """One photo's room type, how sure CLIP is, and its cover score."""
    sure = round(float(result.probabilities.get(result.room, 0.0)) * 100)
    return t(
        lang,
        "room.result",
        room=room_name(lang, result.room),
        percent=sure,
        quality=round(result.quality * 100),
    )


def room_line(result: RoomFacts, lang: str) -> str:
    return f"{room_name(lang, result.room)} · {round(result.quality * 100)}"


def straighten_caption(facts: dict[str, Any], lang: str) -> str:
    if facts.get("changed"):
        return t(lang, "straighten.done", angle=f"{abs(float(facts.get('angle', 0.0))):.1f}")
    key = STRAIGHTEN_REASON_KEYS.get(str(facts.get("reason")), "straighten.straight")
    return t(lang, key, lines=int(facts.get("lines", 0) or 0))


def enhance_caption(facts: dict[str, Any], lang: str) -> str:
    strength = t(lang, STRENGTH_KEYS.get(str(facts.get("strength")), "settings.strength_normal"))
    return t(
        lang,
        "enhance.done",
        strength=strength,
        before=round(float(facts.get("mean_l_before", 0.0))),
        after=round(float(facts.get("mean_l_after", 0.0))),
    )


def room_fix_caption(facts: dict[str, Any], lang: str) -> str:
    """Under a room photo fixed for a platform: what was done, then its own check."""
    market = check_rendering.marketplace(
        str(facts.get("profile")), str(facts.get("marketplace", "")), lang
    )
    lines = [
        t(
            lang,
            "fix.room_caption",
            marketplace=market,
            width=facts.get("width"),
            height=facts.get("height"),
            format=facts.get("format"),
        )
    ]
    angle = float(facts.get("straightened") or 0.0)
    if angle:
        lines.append(t(lang, "fix.room_straightened", angle=f"{abs(angle):.1f}"))
    strength = STRENGTH_KEYS.get(str(facts.get("strength")), "settings.strength_normal")
    lines.append(t(lang, "fix.room_brightened", strength=t(lang, strength)))
    regions = int((facts.get("cleaned") or {}).get("regions", 0) or 0)
    if regions:
        lines.append(tn(lang, "fix.cleaned", regions, count=regions))
    check = facts.get("check")
    if check:
        summary = CheckSummary.from_payload(check)
        lines += ["", t(lang, "fix.recheck"), check_rendering.render_check(summary, lang)]
    return "\n".join(lines)


def missing_line(lang: str, room: str, have: int, need: int) -> str:
    """«нет фото ванной» / «меньше 4 фото номера» (the room's name in the genitive)."""
    key = ROOM_OF_KEYS.get(room)
    of = t(lang, key) if key else room
    if have == 0:
        return t(lang, "order.missing_none", room=of)
    return t(lang, "order.missing_few", room=of, need=need, have=have)


def render_order(ordering: Ordering, lang: str) -> str:
    """A hotel set's new order: the cover, the count per room type, the duplicates and
    what the platforms' advice misses."""
    lines = [tn(lang, "order.title", len(ordering.placed), count=len(ordering.placed))]
    cover = next((p for p in ordering.placed if p.cover), None)
    if cover is not None and cover.room == "bedroom":  # the best bedroom
        lines.append(t(lang, "order.cover", name=html.escape(cover.photo.name)))
    elif cover is not None:  # no bedroom in the set: the best photo of any type
        lines.append(t(lang, "order.cover_other", name=html.escape(cover.photo.name)))
    counts = [
        f"{room_name(lang, room)}: {count}" for room, count in ordering.counts.items() if count
    ]
    if counts:
        lines.append(t(lang, "order.counts", counts=", ".join(counts)))
    duplicates = [p for p in ordering.placed if p.duplicate_of]
    if duplicates:
        lines.append(tn(lang, "order.duplicates", len(duplicates), count=len(duplicates)))
        lines += [
            "• "
            + t(
                lang,
                "order.duplicate_line",
                name=html.escape(p.photo.name),
                of=html.escape(p.duplicate_of or ""),
            )
            for p in duplicates
        ]
    if ordering.missing:
        lines.append(t(lang, "order.missing"))
        lines += ["• " + missing_line(lang, m.room, m.have, m.need) for m in ordering.missing]
    else:
        lines.append(t(lang, "order.complete"))
    return "\n".join(lines)
