"""One row format for every performance figure, so `benchmarks/run.py` prints one table.

Each benchmark module exposes ``measure(args) -> list[Row]``; ``run.py`` gathers the rows,
prints them and writes ``benchmarks/RESULTS.md`` with the machine named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    goal: str  # "P1".."P7", "GPU"
    measure: str  # what was measured, with its conditions (model, size, batch)
    value: str  # the figure, with its unit ("12.3 ms", "0.94x")
    target: str = ""  # the goal's bound ("<= 50 ms", ">= 0.9x"); empty: reported only
    met: bool | None = None  # None: no bound, or not measurable here
    note: str = ""  # how: "full-size ViT-B/32, random weights", "tiny weights", ...


def verdict(row: Row) -> str:
    return {True: "met", False: "NOT met", None: "-"}[row.met]


def markdown(rows: Iterable[Row]) -> str:
    lines = [
        "| goal | measure | value | target | verdict | how |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (row.goal, row.measure, row.value, row.target, verdict(row), row.note)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)
