""" "Fix for <marketplace>": the card a profile asks for (its `[card]` table)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from services.imaging.marketplace_card import CardImage, marketplace_card
from services.marketplace.profiles import Profile


def fix_for(
    image: Image.Image,
    alpha: np.ndarray,
    profile: Profile,
    *,
    background: tuple[int, int, int] | None = None,
) -> CardImage:
    """The product of `image` (cut by `alpha`) on the profile's card: its size and aspect
    (Wildberries: 1200×1600), the product spanning its fill, on its plain background
    (white unless `background` says otherwise), in its format and quality."""
    card = profile.card
    return marketplace_card(
        image,
        alpha,
        size=(card.width, card.height),
        fill=card.fill,
        background=background or card.background,
        fmt=card.format,
        quality=card.quality,
    )
