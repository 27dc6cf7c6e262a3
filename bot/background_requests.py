"""The bot's side of `background`: captions, the "Wrong object?" and "Card" follow-ups, and
the rule for the user's own photo as the background.

The rule (documented in /help and the README): a photo becomes the BACKGROUND for the
user's PREVIOUS photo in the same chat (the product) when
- it is sent with the caption `/background` (no argument), or `/background` (no argument) is
  sent as a reply to it, and the previous photo came at most PAIR_WINDOW_S earlier;
- or `/background photo` is used the same two ways (no time limit);
- or an album of exactly two photos is captioned `/background` (first = product).
Otherwise a bare `/background` shows the colour menu, as before.
"""

from __future__ import annotations

import html
from typing import Any

from bot.storage import Photo, Storage
from bot.texts import PRESET_KEYS, t

PAIR_WINDOW_S = 30 * 60
CARD_RATIO = "3:4"


async def pair_for_background(
    db: Storage, photos: list[Photo], *, explicit: bool
) -> tuple[Photo, Photo] | None:
    """(product, background) for a photo-background request on `photos`, or None.

    `explicit` is `/background photo` (no time limit); a bare `/background` pairs only with
    a product photo sent within PAIR_WINDOW_S."""
    if len(photos) == 2:
        return photos[0], photos[1]
    if len(photos) != 1:
        return None
    background = photos[0]
    product = await db.photo_before(background, None if explicit else PAIR_WINDOW_S)
    if product is None or not product.path.exists():
        return None
    return product, background


def photo_params(background: Photo) -> dict[str, Any]:
    return {
        "kind": "photo",
        "background_path": str(background.path),
        "background_photo_id": background.id,
    }


def caption(facts: dict[str, Any], lang: str) -> str:
    """`Background: pink (#ffc0cb) · object 1 of 3` (+ the card's size)."""
    kind = facts.get("kind")
    if kind == "colour":
        name = facts.get("name")
        what = f"{html.escape(str(name))} ({facts.get('value')})" if name else facts.get("value")
    elif kind == "gradient":
        what = t(lang, "bg.gradient", colours=" → ".join(facts.get("colours", [])))
    elif kind == "preset":
        what = t(lang, PRESET_KEYS[str(facts.get("value"))])
    elif kind == "prompt":
        what = f"«{html.escape(str(facts.get('prompt', '')))}» · seed {facts.get('seed')}"
    elif kind == "photo":
        what = t(lang, "bg.photo")
    else:
        what = t(lang, "bg.transparent")
    parts = [t(lang, "bg.caption", what=what)]
    total = int(facts.get("candidates", 1) or 1)
    if total > 1:
        index = int(facts.get("candidate", 0) or 0) + 1
        parts.append(t(lang, "bg.object", index=index, total=total))
    text = " · ".join(str(part) for part in parts)
    if facts.get("card"):
        size = {"3:4": (900, 1200), "1:1": (1200, 1200)}.get(str(facts["card"]), (0, 0))
        text += "\n" + t(lang, "bg.card", ratio=facts["card"], width=size[0], height=size[1])
    return text


def wrong_object(
    op: str, params: dict[str, Any], facts: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """The next candidate cut (cycling back to the first); None when there is only one."""
    total = max(1, int(facts.get("candidates", 1) or 1))
    if total == 1:
        return None
    current = int(facts.get("candidate", params.get("candidate", 0)) or 0)
    return op, {**params, "candidate": (current + 1) % total}


def card(op: str, params: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The same background and cut as a 3:4 marketplace card (sent as a document)."""
    candidate = int(facts.get("candidate", params.get("candidate", 0)) or 0)
    return op, {**params, "candidate": candidate, "card": CARD_RATIO}
