"""The set's ZIP: every result at full size and results.csv (one row per photo, the columns of
`services/results_table.py`). Written to disk in a thread (200 full-size PNGs do not fit in
memory); parts of at most ZIP_PART_BYTES, as bots may upload 50 MB a file."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

ZIP_PART_BYTES = 45 * 2**20


@dataclass(frozen=True)
class Member:
    arcname: str  # the name inside the ZIP
    path: Path  # the stored result file


def item_names(names: Sequence[str | None]) -> list[str]:
    """Each photo's name in the ZIP and results.csv: a document's own file name, else
    photo-NN (its number in the set); a repeated name gets -2, -3..."""
    width = max(2, len(str(len(names))))
    taken: set[str] = set()
    found = []
    for number, name in enumerate(names, start=1):
        base = PurePath(name).name if name else f"photo-{number:0{width}d}"
        candidate, copy = base, 1
        while candidate.lower() in taken:
            copy += 1
            stem, suffix = PurePath(base).stem, PurePath(base).suffix
            candidate = f"{stem}-{copy}{suffix}"
        taken.add(candidate.lower())
        found.append(candidate)
    return found


def result_name(item_name: str, op: str, suffix: str) -> str:
    """`IMG_0001.jpg` + background + .png -> `IMG_0001-background.png` (`suffix`: the stored
    result's own, a PNG or a marketplace card's JPEG)."""
    return f"{PurePath(item_name).stem}-{op}{suffix}"


def write_zip(
    folder: Path,
    stem: str,
    members: Sequence[Member],
    csv_text: str,
    part_bytes: int = ZIP_PART_BYTES,
) -> list[Path]:
    """`stem.zip` (or `stem-part1.zip`, `-part2`... past `part_bytes`); results.csv in the
    first. PNGs are stored as they are (compressing them again gains nothing)."""
    parts: list[list[Member]] = [[]]
    size = len(csv_text.encode())
    for member in members:
        length = member.path.stat().st_size
        if parts[-1] and size + length > part_bytes:
            parts.append([])
            size = 0
        parts[-1].append(member)
        size += length
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, part in enumerate(parts, start=1):
        name = f"{stem}.zip" if len(parts) == 1 else f"{stem}-part{number}.zip"
        path = folder / name
        with zipfile.ZipFile(path, "w") as archive:
            if number == 1:
                archive.writestr("results.csv", csv_text, compress_type=zipfile.ZIP_DEFLATED)
            for member in part:
                archive.write(member.path, member.arcname, compress_type=zipfile.ZIP_STORED)
        written.append(path)
    return written
