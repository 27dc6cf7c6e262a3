"""results.csv: one row per photo and operation, with the same columns in the chat's ZIP of
a set and in `vitrina process`: the photo's file name (or number), the operation, its status,
and the result: tags with their scores, the description text, the grade (a check), the result
file's name, or why it failed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

RESULT_COLUMNS = ("file", "op", "status", "tags", "description", "grade", "result_file", "error")


def tags_text(payload: Mapping[str, Any]) -> str:
    """`dress / платье (0.452); red / красный (0.301)`: items, then attributes."""
    tags = [*payload.get("tags", ()), *payload.get("attributes", ())]
    return "; ".join(f"{t['en']} / {t['ru']} ({float(t['probability']):.3f})" for t in tags)


def description_text(payload: Mapping[str, Any]) -> str:
    """The selling copy as plain lines: title, benefits, closing."""
    return "\n".join([payload["title"], *payload["benefits"], payload["closing"]])


def result_row(
    file: str,
    op: str,
    status: str,
    payload: Mapping[str, Any] | None = None,
    *,
    result_file: str = "",
    error: str = "",
) -> dict[str, str]:
    """One row: what a result payload (stored, or a dataclass as a dict) says, by column."""
    payload = payload or {}
    grade = payload.get("grade", "")
    described = "benefits" in payload  # a description (its "tags" are the words it used)
    return {
        "file": file,
        "op": op,
        "status": status,
        "tags": tags_text(payload) if "tags" in payload and not described else "",
        "description": description_text(payload) if described else "",
        "grade": "" if grade is None else str(grade),
        "result_file": result_file,
        "error": error,
    }


def write_rows(rows: Iterable[Mapping[str, str]], handle: Any) -> None:
    writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def csv_text(rows: Iterable[Mapping[str, str]]) -> str:
    buffer = io.StringIO()
    write_rows(rows, buffer)
    return buffer.getvalue()
