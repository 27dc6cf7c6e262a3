"""A set's galleries: each product's slides as an album of its own (documents, the photo's
name under the first), and in the ZIP `<photo>/01-main.jpg`… with one results.csv row per
slide (photo, slide, grade, OCR accuracy: services/results/gallery_table.py)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiogram.types import BufferedInputFile, InputMediaDocument

from bot.sets.archive import Member
from bot.texts import t
from services.results import GALLERY
from services.results.gallery import StoredGallery
from services.results.gallery_table import (
    failed_row,
    slide_name,
    slide_paths,
    slide_rows,
    slides_csv,
)

if TYPE_CHECKING:
    from bot.sets.delivery import Outcome


#: a refused gallery's reason (services/errors.py GalleryRefused) -> its line in a set's summary
REFUSAL_KEYS = {
    "no_text": "set.gallery.no_text",
    "no_product": "set.gallery.no_product",
    "banned": "set.gallery.banned",
    "too_long": "set.gallery.too_long",
}


def failure(error: str | None, lang: str) -> str | None:
    """Why a product got no gallery, in the set's summary (None: not a refusal)."""
    if not error or "GalleryRefused" not in error:
        return None
    reason = error.rsplit(":", 1)[-1].strip()
    key = REFUSAL_KEYS.get(reason)
    return t(lang, key) if key else None


def gallery_of(outcome: Outcome) -> StoredGallery | None:
    """The outcome's gallery (None: another kind, or it failed)."""
    result = outcome.result
    if result is None or result.kind != GALLERY.name:
        return None
    try:
        return GALLERY.from_payload(result.payload)
    except (KeyError, TypeError, ValueError):
        return None


def album(results_dir: Path, name: str, gallery: StoredGallery) -> list[InputMediaDocument]:
    """One product's slides, as they are (read in a thread by the caller)."""
    media = []
    for number, slide in enumerate(gallery.slides, start=1):
        data = (results_dir / slide.file).read_bytes()
        caption = html.escape(name) if number == 1 else None
        file = BufferedInputFile(data, filename=slide_name(number, slide.kind))
        media.append(InputMediaDocument(media=file, caption=caption))
    return media


def zip_contents(results_dir: Path, outcomes: Sequence[Outcome]) -> tuple[list[Member], str]:
    """The members of a gallery run's ZIP and its results.csv."""
    members: list[Member] = []
    rows: list[dict[str, str]] = []
    for outcome in outcomes:
        gallery = gallery_of(outcome)
        name = outcome.item.name
        if gallery is None:
            rows.append(failed_row(name, outcome.item.error or outcome.item.measure_error or ""))
            continue
        for slide, arcname in zip(gallery.slides, slide_paths(name, gallery.slides), strict=True):
            members.append(Member(arcname, results_dir / slide.file))
        rows.extend(slide_rows(name, gallery.slides))
    return members, slides_csv(rows)
