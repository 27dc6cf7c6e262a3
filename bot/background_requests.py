"""The rule for the user's own photo as the background (its captions and follow-ups:
bot/ops/background.py).

The rule (documented in /help and the README): a photo becomes the BACKGROUND for the
user's PREVIOUS photo in the same chat (the product) when
- it is sent with the caption `/background` (no argument), or `/background` (no argument) is
  sent as a reply to it, and the previous photo came at most PAIR_WINDOW_S earlier;
- or `/background photo` is used the same two ways (no time limit);
- or an album of exactly two photos is captioned `/background` (first = product).
Otherwise a bare `/background` shows the colour menu, as before.
"""

from __future__ import annotations

from typing import Any

from bot.storage import Photo, Storage

PAIR_WINDOW_S = 30 * 60


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
