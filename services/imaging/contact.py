"""Contact sheets: originals above their edits, in bands of a few columns (pure PIL)."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageOps

CELL = 256  # each picture fits a CELL x CELL box
GAP = 8
COLUMNS = 6
BACKGROUND = (255, 255, 255)


def contact_sheet(
    pairs: Sequence[tuple[Image.Image, Image.Image]], *, cell: int = CELL, columns: int = COLUMNS
) -> Image.Image:
    """One band per ``columns`` pairs: the originals' row, then the edits' row beneath."""
    if not pairs:
        raise ValueError("no pictures for a contact sheet")
    columns = max(1, min(columns, len(pairs)))
    bands = (len(pairs) + columns - 1) // columns
    width = columns * cell + (columns + 1) * GAP
    height = bands * 2 * cell + (bands * 2 + 1) * GAP + (bands - 1) * GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    for index, (original, edited) in enumerate(pairs):
        band, column = divmod(index, columns)
        x = GAP + column * (cell + GAP)
        y = GAP + band * (2 * cell + 3 * GAP)
        for row, picture in enumerate((original, edited)):
            thumb = ImageOps.contain(picture.convert("RGB"), (cell, cell))
            offset = ((cell - thumb.width) // 2, (cell - thumb.height) // 2)
            sheet.paste(thumb, (x + offset[0], y + row * (cell + GAP) + offset[1]))
    return sheet


def grid_sheet(
    pictures: Sequence[Image.Image], *, cell: int = 192, columns: int = COLUMNS
) -> Image.Image:
    """Thumbnails in rows of ``columns`` (a group of photos at a glance)."""
    if not pictures:
        raise ValueError("no pictures for a contact sheet")
    columns = max(1, min(columns, len(pictures)))
    rows = (len(pictures) + columns - 1) // columns
    width = columns * cell + (columns + 1) * GAP
    height = rows * cell + (rows + 1) * GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    for index, picture in enumerate(pictures):
        row, column = divmod(index, columns)
        thumb = ImageOps.contain(picture.convert("RGB"), (cell, cell))
        x = GAP + column * (cell + GAP) + (cell - thumb.width) // 2
        y = GAP + row * (cell + GAP) + (cell - thumb.height) // 2
        sheet.paste(thumb, (x, y))
    return sheet
