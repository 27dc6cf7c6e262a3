"""`vitrina process --check [--profile P]`: a seller's catalogue graded in one table,
OUT/check.csv: per photo its grade, each rule of the profile passed or failed with the
measured value, the text found (and where) and the banned words; `--fix P`: the fixed
cards (bot/cli/process.py writes them as OUT/<name>-fix-<P>.jpg)."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.settings import SettingsError

#: how a rule's outcome reads in the table
OUTCOME = {True: "pass", False: "fail", None: "-"}


def add_check_arguments(proc: argparse.ArgumentParser) -> None:
    proc.add_argument(
        "--check", action="store_true", help="grade each photo for a marketplace: OUT/check.csv"
    )
    proc.add_argument(
        "--profile", metavar="P", help="--check's marketplace: wb, ozon, ym, generic (default wb)"
    )
    proc.add_argument(
        "--fix", metavar="P", help="fix each photo for marketplace P: OUT/<name>-fix-<P>.jpg"
    )


def check_ops(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The check and fix jobs the flags ask for ({op: params}); SettingsError when wrong."""
    if args.profile and not args.check:
        raise SettingsError("--profile goes with --check (e.g. --check --profile ozon)")
    ops: dict[str, dict[str, Any]] = {}
    if args.check:
        ops["check"] = {"profile": profile_flag("--profile", args.profile)}
    if args.fix:
        ops["fix"] = {"profile": profile_flag("--fix", args.fix)}
    return ops


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
                summary.grade,
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


def profile_flag(flag: str, name: str | None) -> str:
    """A marketplace profile's id from a flag's value (an id or an alias; None: the
    default); SettingsError naming the known ones otherwise."""
    from bot.command_parsing import parse_profile
    from services.marketplace.profiles import load_profiles

    if name is None:
        return load_profiles().default
    found = parse_profile(name)
    if found is None:
        known = ", ".join(load_profiles().profiles)
        raise SettingsError(f"{flag}: unknown marketplace {name!r}; known: {known}")
    return found
