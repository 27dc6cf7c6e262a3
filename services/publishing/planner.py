"""Which X-Photo-Number each photo of a card gets, and whether a step is already done.

A card's photos in a run are numbered 0, 1, ... in the order the seller sent them; `base` is
the card's photo count read when its upload began (stored with the run):

- add: after the existing photos: base + 1, base + 2, ... A step is on the card when the
  count read back is at least its number (WB keeps the photos in order): a resumed run
  reads the card back and skips those, so no photo is sent twice.
- replace_main: the first photo replaces number 1; the others are added after the existing
  ones (base + 1, ...).
  A step adds when its number is greater than `base`, else it replaces a place.
- replace_all: number 1, 2, ... replace the photos in place; the photos beyond the run's
  are dropped afterwards (media/save with the card's own first links). Replacing a place
  twice leaves one photo there, so a resumed replacing step is simply sent again.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    ADD = "add"
    REPLACE_MAIN = "replace_main"
    REPLACE_ALL = "replace_all"


def photo_number(mode: Mode | str, index: int, base: int) -> int:
    mode = Mode(mode)
    if mode is Mode.REPLACE_ALL:
        return index + 1
    if mode is Mode.REPLACE_MAIN:
        return 1 if index == 0 else max(base, 1) + index
    return base + index + 1


def adds(mode: Mode | str, index: int, base: int) -> bool:
    """Whether this step adds a photo (the card's count grows) rather than replacing one."""
    return photo_number(mode, index, base) > base


def already_on_card(mode: Mode | str, index: int, base: int, count_now: int) -> bool:
    """A step that adds is done when the card holds its number already; a replacing step
    is never skipped (sending it again replaces the same place: still one photo)."""
    return adds(mode, index, base) and count_now >= photo_number(mode, index, base)


def expected_count(mode: Mode | str, photos: int, base: int) -> int:
    """The card's photo count once all `photos` of the run are on it (replace_all: after
    the photos beyond the run's are dropped)."""
    mode = Mode(mode)
    if photos == 0:
        return base
    if mode is Mode.REPLACE_ALL:
        return photos
    if mode is Mode.REPLACE_MAIN:
        return max(base, 1) + photos - 1
    return base + photos
