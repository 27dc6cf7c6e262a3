"""How many bot/ + handlers/ files name each operation (issue 26's op-spread figure).

An operation is named by `Op.NAME` or by its id as a string literal ("background"). The goal:
the median op in at most 3 files and every op in at most 6. Words that are the same string
but another concept are not the op: a user-settings column (`background`), a check rule
(`background`) and a doctor's check are listed in `OTHER_MEANINGS` with where they
live, so the figure counts only what names the operation.

    python benchmarks/op_spread.py          # the table; exit 1 when a goal is missed
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.operations import Op  # noqa: E402

CODE_DIRS = ("bot", "handlers")
MEDIAN_GOAL, MAX_GOAL = 3, 6
#: (file, string) pairs where the op's id means something else (not counted)
OTHER_MEANINGS = {
    ("bot/storage/user_queries.py", "background"),  # the users table's settings column
    ("bot/storage/rows.py", "background"),  # the same column read into the User row
    ("bot/user_settings.py", "background"),  # the /settings row that writes it
    ("bot/check_rendering.py", "background"),  # the marketplace rule "background"
    ("bot/check_keys.py", "background"),  # the same rule's sentence key
    ("bot/cli/doctor.py", "check"),  # the name of a doctor's check that raised
}


def names_in(path: Path) -> set[str]:
    """The op ids `path` names: `Op.X` attributes and string constants equal to an id."""
    ids = {op.value for op in Op}
    members = {op.name: op.value for op in Op}
    found: set[str] = set()
    relative = path.relative_to(ROOT).as_posix()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "Op" and node.attr in members:
                found.add(members[node.attr])
            continue
        named = isinstance(node, ast.Constant) and node.value in ids
        if named and (relative, node.value) not in OTHER_MEANINGS:
            found.add(node.value)
    return found


def spread() -> dict[str, list[str]]:
    """op id -> the files that name it."""
    files: dict[str, list[str]] = {op.value: [] for op in Op}
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for op in names_in(path):
                files[op].append(path.relative_to(ROOT).as_posix())
    return files


def main() -> int:
    files = spread()
    counts = {op: len(paths) for op, paths in files.items()}
    width = max(map(len, counts))
    print(f"{'op':<{width}}  files  where")
    for op, paths in sorted(files.items(), key=lambda item: -len(item[1])):
        print(f"{op:<{width}}  {len(paths):>5}  {', '.join(paths)}")
    median, most = statistics.median(counts.values()), max(counts.values())
    print(f"\nmedian {median:g} (goal <= {MEDIAN_GOAL}), max {most} (goal <= {MAX_GOAL})")
    return 0 if median <= MEDIAN_GOAL and most <= MAX_GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
