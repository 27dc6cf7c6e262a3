"""A catalogue: one action over a set of photos that must look alike (the chat's sets,
`vitrina process DIR`). Cards are laid out in two passes: every photo is cut and measured
first (``measure``; the cut's features are kept per photo, so the second pass cuts nothing),
then every card is composed with one object height share computed across the set and the
same centre (`services.imaging.card.catalogue_share`). A set's galleries (/gallery) share
one product scale the same way: the main slides' `share` on the profile's card."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.imaging.card import card_size, catalogue_share
from services.operations.base import Op
from services.results import ObjectMeasure


def set_colour(measures: Iterable[ObjectMeasure]) -> str | None:
    """One brand colour for a set's galleries: the products' commonest dominant colour (the
    first product's on a tie; None when every product is grey, black or white)."""
    colours = [m.colour for m in measures if isinstance(m, ObjectMeasure) and m.colour]
    return max(colours, key=colours.count) if colours else None


def needs_measure(op: str, params: Mapping[str, Any]) -> bool:
    """Whether this action over a set has a measuring pass first (a card of a background,
    a gallery: every product at one scale)."""
    if op == Op.GALLERY:
        return "share" not in params
    return op == Op.BACKGROUND and bool(params.get("card")) and "card_share" not in params


def measure_op(op: str) -> str:
    """The operation whose first pass measures a set's photos: a gallery's products are
    measured by the background's cut (the same cutter, its features kept per photo), which
    answers `measure` with an `ObjectMeasure`."""
    return Op.BACKGROUND if op == Op.GALLERY else op


def measure_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The first pass's job params: the same cut, measured instead of composed."""
    return {**params, "measure": True}


def shared_params(params: Mapping[str, Any], measures: Iterable[ObjectMeasure]) -> dict[str, Any]:
    """What the second pass adds to every photo's params: the set's card height share (a
    gallery's: its profile's card, and one brand colour unless the user chose one)."""
    # (a measuring pass an operation answered with something else counts as no measure)
    measures = [m for m in measures if isinstance(m, ObjectMeasure)]
    aspects = [m.aspect for m in measures if m.height > 0]
    if "card" not in params and params.get("profile"):
        from services.marketplace.profiles import load_profiles

        card = load_profiles().get(str(params["profile"])).card
        shared: dict[str, Any] = {
            "share": round(catalogue_share(aspects, (card.width, card.height)), 6)
        }
        brand = set_colour(measures) if "brand" not in params else None
        return shared | ({"brand": brand} if brand else {})
    share = catalogue_share(aspects, card_size(str(params["card"])))
    return {"card_share": round(share, 6)}
