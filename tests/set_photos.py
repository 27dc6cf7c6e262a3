"""Helpers for the set (catalogue) tests: a seller's product photos, and reading what the bot
sent back (the set's message, the ZIP document and its results.csv)."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import numpy as np
from PIL import Image

from tests.emulator import BotAPIEmulator

Json = dict[str, Any]


def product_photo(index: int, fmt: str = "PNG") -> bytes:
    """A product on a light table: each photo its own size, object size and place."""
    rng = np.random.default_rng(index)
    width, height = 160 + 8 * (index % 7), 120 + 10 * (index % 5)
    pixels = np.full((height, width, 3), 225 + index % 20, np.uint8)
    pixels += rng.integers(0, 8, pixels.shape, dtype=np.uint8)  # not flat: a real-ish photo
    w, h = width // 3 + 3 * (index % 6), height // 2 + 2 * (index % 4)
    x, y = 10 + 5 * (index % 5), 10 + 3 * (index % 4)
    colour = rng.integers(20, 200, 3, dtype=np.uint8)
    pixels[y : y + h, x : x + w] = colour
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def catalogue(count: int, first: int = 0) -> list[tuple[str, bytes]]:
    """`count` (file name, PNG bytes), all different."""
    return [(f"item-{i:03d}.png", product_photo(i)) for i in range(first, first + count)]


def set_buttons(record: Json) -> list[str]:
    return [data for _, data in BotAPIEmulator.buttons(record) if data.startswith("s:")]


def is_set_message(count: int, lang: str = "en"):
    """The set's message once it says `count` photos (edited in place while they arrive)."""
    said = f"{count} photos received" if lang == "en" else f"Получено {count} фото"
    return lambda r: said in (r["text"] or "") and bool(set_buttons(r))


def action(record: Json, name: str) -> str:
    return next(d for d in set_buttons(record) if d.endswith(f":{name}"))


def zip_of(record: Json) -> zipfile.ZipFile:
    assert record["method"] == "sendDocument" and record["document_name"].endswith(".zip")
    return zipfile.ZipFile(io.BytesIO(record["document_bytes"]))


def results_csv(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("results.csv").decode("utf-8"))))


def is_zip(record: Json) -> bool:
    return record["method"] == "sendDocument" and str(record.get("document_name", "")).endswith(
        ".zip"
    )


def album_images(records: list[Json]) -> list[Json]:
    """Result images the bot sent in albums (and a last one on its own)."""
    return [
        r
        for r in records
        if r["method"] == "sendMediaGroup"
        or (r["method"] == "sendPhoto" and not r["reply_markup"])
    ]
