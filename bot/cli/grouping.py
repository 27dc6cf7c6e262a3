"""`vitrina process DIR --tag --group -o OUT`: the images clustered by their CLIP embeddings
and tags (services/grouping.py, through the ``group`` operation), written as OUT/groups.csv,
one contact sheet per group (OUT/group-01.jpg, ...) and OUT/index.html."""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.jobs import NO_PHOTO, JobRequest
from services.operations import Op
from services.operations.library import LibraryGroups
from services.scheduler import ModelServices

SHEET_PHOTOS = 36


async def group_images(
    services: ModelServices, images: Sequence[Path], rows: Sequence[dict[str, Any]]
) -> LibraryGroups:
    """Cluster ``images``; their tags come from the tag rows of this run (``rows``)."""
    tags: dict[str, list[list[Any]]] = {}
    for row in rows:
        if row["op"] == "tag" and row["status"] == "done":
            tags[row["file"]] = [
                [tag["en"], tag["ru"], tag["probability"]] for tag in row["result"]["tags"]
            ]
    params = {
        "photos": [""] * len(images),  # no photo rows here: embeddings are not kept
        "paths": [str(image) for image in images],
        "tags": [tags.get(str(image), []) for image in images],
    }
    return await services.submit(JobRequest(Op.GROUP, 0, NO_PHOTO, params)).result()


def write_groups(out: Path, images: Sequence[Path], result: LibraryGroups) -> list[Path]:
    """groups.csv, a contact sheet per group and index.html; returns the sheets."""
    from services.imaging.contact import grid_sheet
    from services.imaging.decode import load_rgb

    out.mkdir(parents=True, exist_ok=True)
    grouping = result.grouping
    sheets = []
    with (out / "groups.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "group", "name_en", "name_ru", "group_size"])
        for number, group in enumerate(grouping.groups, start=1):
            for member in group.members:
                writer.writerow(
                    [images[member], number, group.name_en, group.name_ru, len(group.members)]
                )
            pictures = [load_rgb(images[m], 384) for m in group.members[:SHEET_PHOTOS]]
            sheet = out / f"group-{number:02d}.jpg"
            grid_sheet(pictures, cell=160).save(sheet, quality=85)
            sheets.append(sheet)
        for member in result.left_out:
            writer.writerow([images[member], "", "", "", ""])
    (out / "index.html").write_text(_index(images, result, sheets), encoding="utf-8")
    return sheets


def _index(images: Sequence[Path], result: LibraryGroups, sheets: Sequence[Path]) -> str:
    grouping = result.grouping
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Vitrina groups</title>",
        "<style>body{font-family:sans-serif;margin:2em}img{max-width:100%}"
        "li{color:#555;font-size:90%}</style></head><body>",
        f"<h1>Groups</h1><p>{html.escape(grouping.report())}</p>",
    ]
    if result.left_out:
        parts.append(f"<p>{len(result.left_out)} images could not be read.</p>")
    for number, (group, sheet) in enumerate(zip(grouping.groups, sheets, strict=True), 1):
        name = " / ".join(n for n in (group.name_en, group.name_ru) if n) or "no common tags"
        parts.append(
            f"<h2>{number}. {html.escape(name)} ({len(group.members)})</h2>"
            f"<img src='{html.escape(sheet.name)}' alt='group {number}'><ul>"
        )
        parts += [f"<li>{html.escape(images[m].name)}</li>" for m in group.members]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
