"""`vitrina process --check [P]` (flags: bot/ops/marketplace.py): a seller's catalogue (or
a hotel's photos) graded in one table, OUT/check.csv: per photo its grade (a room photo:
ready or needs_fixing), each rule of the profile passed or failed with the measured value,
the text found (and where) and the banned words; `--fix P`: the fixed cards
(bot/cli/process.py writes them as OUT/<name>-fix-<P>.jpg)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: how a rule's outcome reads in the table
OUTCOME = {True: "pass", False: "fail", None: "-"}


def write_check_csv(rows: Sequence[dict[str, Any]], out: Path) -> Path | None:
    """OUT/check.csv from the `check` rows of a run (None: there were none)."""
    from services.marketplace.summary import CheckSummary  # only when a run has checks

    checks = [row for row in rows if row["op"] == "check"]
    if not checks:
        return None
    summaries = {
        row["file"]: CheckSummary.from_payload(row["result"])
        for row in checks
        if row["status"] == "done"
    }
    rules: dict[str, None] = {}  # the rules in the profiles' order, first seen first
    for summary in summaries.values():
        rules.update((rule.rule, None) for rule in summary.rules)
    header = ["file", "status", "profile", "grade", "deciding"]
    for rule in rules:
        header += [rule, f"{rule}_value"]
    header += ["text", "banned", "error"]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "check.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in checks:
            summary = summaries.get(row["file"])
            if summary is None:
                writer.writerow(
                    [row["file"], row["status"], *[""] * (len(header) - 3)]
                    + [row.get("error", "")]
                )
                continue
            by_rule = {rule.rule: rule for rule in summary.rules}
            line = [
                row["file"],
                row["status"],
                summary.profile,
                summary.grade or ("ready" if summary.ready else "needs_fixing"),  # a room
                "; ".join(f"{r.feature}={r.value:g}" for r in summary.reasons[:3]),
            ]
            for rule in rules:
                found = by_rule.get(rule)
                line += [OUTCOME[found.passed], found.measured or ""] if found else ["", ""]
            line.append(
                "; ".join(
                    f"«{t.text}» ({'own_print' if t.own_print else t.place})"
                    if t.text
                    else f"? ({t.place})"
                    for t in summary.texts
                )
            )
            line += [", ".join(hit.found for hit in summary.banned), ""]
            writer.writerow(line)
    return path
