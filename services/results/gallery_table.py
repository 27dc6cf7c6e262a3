"""A gallery's files outside the chat: `<photo>/01-main.jpg`, `02-hero.jpg`… and the rows of
its results.csv (photo, slide, grade, OCR accuracy) — the same in the chat's ZIP (one
gallery or a set's) and in `vitrina process --gallery`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Protocol

SLIDE_COLUMNS = ("photo", "slide", "file", "grade", "passed", "ocr_accuracy", "reasons")


class Slide(Protocol):  # a GallerySlide (from the worker) or a StoredSlide
    kind: str
    grade: str
    passed: bool
    accuracy: float | None
    reasons: tuple[str, ...]


def slide_name(number: int, kind: str) -> str:
    """The slide's file name: its place on the marketplace (from 1) and its kind."""
    return f"{number:02d}-{kind}.jpg"


def folder_name(photo: str) -> str:
    """The folder of one photo's slides: its file name without the extension."""
    return PurePath(photo).stem or photo


def slide_paths(photo: str, slides: Sequence[Slide]) -> list[str]:
    """`<photo>/01-main.jpg`… for each slide, in order."""
    folder = folder_name(photo)
    return [f"{folder}/{slide_name(n, s.kind)}" for n, s in enumerate(slides, start=1)]


def slide_rows(photo: str, slides: Sequence[Slide]) -> list[dict[str, str]]:
    """One row per slide: the photo, the slide, its file, its grade, OCR accuracy."""
    return [
        {
            "photo": photo,
            "slide": slide.kind,
            "file": path,
            "grade": slide.grade,
            "passed": "yes" if slide.passed else "no",
            "ocr_accuracy": "" if slide.accuracy is None else f"{slide.accuracy:.3f}",
            "reasons": "; ".join(slide.reasons),
        }
        for slide, path in zip(slides, slide_paths(photo, slides), strict=True)
    ]


def failed_row(photo: str, error: str) -> dict[str, str]:
    """A photo without a gallery: its row says why."""
    return {"photo": photo, "slide": "", "file": "", "grade": "", "passed": "no",
            "ocr_accuracy": "", "reasons": error}  # fmt: skip


def write_slide_rows(rows: Iterable[Mapping[str, Any]], handle: Any) -> None:
    writer = csv.DictWriter(handle, fieldnames=SLIDE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def slides_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    write_slide_rows(rows, buffer)
    return buffer.getvalue()
