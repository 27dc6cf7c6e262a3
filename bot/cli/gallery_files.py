"""`vitrina process DIR --gallery wb [--texts texts.csv] -o OUT`: each photo's slides as
OUT/<name>/01-main.jpg, 02-hero.jpg… (bot/ops/gallery.py's CLI flag).

texts.csv: one row per photo: its file name, the title, the benefits separated by "|"
(a header row naming "file" is skipped). A photo it does not name gets no text: its row in
results.csv says the gallery was refused (no title)."""

from __future__ import annotations

import argparse
import csv
import functools
from pathlib import Path
from typing import Any

from bot.settings import SettingsError
from services.results import GALLERY
from services.results.gallery import GalleryResult, StoredGallery, StoredSlide
from services.results.gallery_table import folder_name, slide_name

HEADER_WORDS = ("file", "name", "photo", "файл")


@functools.cache
def read_texts(path: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """texts.csv as {file name: (title, benefits)}; SettingsError for a file not there."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise SettingsError(f"--texts: cannot read {path}: {exc.strerror or exc}") from None
    texts: dict[str, tuple[str, tuple[str, ...]]] = {}
    for number, row in enumerate(rows):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0] or (number == 0 and cells[0].lower() in HEADER_WORDS):
            continue
        title = cells[1] if len(cells) > 1 else ""
        benefits = tuple(b.strip() for b in "|".join(cells[2:]).split("|") if b.strip())
        texts[Path(cells[0]).name.lower()] = (title, benefits)
    return texts


def file_params(args: argparse.Namespace, image: Path, params: dict[str, Any]) -> dict[str, Any]:
    """A photo's gallery params: its title and benefits from --texts (by file name, or by
    name without the extension)."""
    if not getattr(args, "texts", None):
        return params
    texts = read_texts(str(args.texts))
    found = texts.get(image.name.lower()) or next(
        (text for name, text in texts.items() if Path(name).stem == image.stem.lower()), None
    )
    if found is None:
        return params
    title, benefits = found
    return {**params, "title": title, "benefits": list(benefits)}


def save(result: GalleryResult, image: Path, out: Path) -> dict[str, Any]:
    """OUT/<name>/01-main.jpg…: the slides as the bot sends them; the row's result is the
    gallery's payload (its grades land in results.csv)."""
    folder = out / folder_name(image.name)
    folder.mkdir(parents=True, exist_ok=True)
    slides = []
    for number, slide in enumerate(result.slides, start=1):
        name = slide_name(number, slide.kind)
        (folder / name).write_bytes(slide.data)
        slides.append(
            StoredSlide(
                slide.kind,
                f"{folder.name}/{name}",
                slide.grade,
                slide.passed,
                slide.accuracy,
                tuple(slide.reasons),
                slide.redraws,
            )
        )
    stored = StoredGallery(
        result.profile,
        result.style,
        result.title,
        tuple(result.benefits),
        tuple(slides),
        tuple(result.notes),
        dict(result.facts),
    )
    first = folder / slide_name(1, result.slides[0].kind) if result.slides else folder
    return {"output": str(first), "kind": GALLERY.name, "result": GALLERY.to_payload(stored)}
