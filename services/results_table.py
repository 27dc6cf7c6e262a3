"""results.csv: one row per photo and operation, with the same columns in the chat's ZIP of
a set and in `vitrina process`: the photo's file name (or number), the operation, its status,
and the result's own cells (`ResultKind.csv_cells`: tags with their scores, the description
text, the grade of a check), the result file's name, or why it failed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from services.results.kinds import KIND_COLUMNS, KINDS

RESULT_COLUMNS = ("file", "op", "status", *KIND_COLUMNS, "result_file", "error")


def result_row(
    file: str,
    op: str,
    status: str,
    kind: str | None = None,
    payload: Mapping[str, Any] | None = None,
    *,
    result_file: str = "",
    error: str = "",
) -> dict[str, str]:
    """One row: the photo, the op, its status, and what a stored result of `kind` says."""
    found = KINDS.get(kind or "")
    cells = found.cells_of(payload) if found is not None and payload is not None else {}
    return {
        "file": file,
        "op": op,
        "status": status,
        **{column: cells.get(column, "") for column in KIND_COLUMNS},
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
