"""`vitrina process PATH... --tag --night ... -o OUT`: the services on files, no Telegram."""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.check_csv import write_check_csv
from bot.cli.console import say
from bot.settings import Settings
from services.operations import EDIT_OPS, Op

if TYPE_CHECKING:
    from services.jobs import JobHandle
    from services.scheduler import ModelServices


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.ops import SPECS

    proc = sub.add_parser("process", help="run the services on files or folders, no Telegram")
    proc.add_argument("paths", nargs="+", type=Path)
    proc.add_argument("--domain", choices=("product", "hotel"), default="product")
    for spec in SPECS:  # each operation's own flags (bot/ops), in the registry's order
        if spec.cli is not None:
            spec.cli.add(proc)
    proc.add_argument(
        "--group",
        action="store_true",
        help="cluster the images by CLIP embedding and tags (implies --tag): groups.csv, "
        "group-NN.jpg contact sheets, index.html",
    )
    proc.add_argument("-o", "--out", type=Path, required=True, help="folder for results")


def run(args: argparse.Namespace, settings: Settings) -> int:
    ops = _ops(args)
    if not ops:
        say("vitrina: say what to do, e.g. --tag")
        return 2
    images = collect_images(args.paths)
    if not images:
        say("vitrina: no images found")
        return 2
    per_file = _file_params(args)
    rows = asyncio.run(
        process(settings, images, ops, args.out, group=args.group, per_file=per_file)
    )
    failed = sum(row["status"] != "done" for row in rows)
    say(f"{len(rows) - failed} done, {failed} failed; results in {args.out}/results.json")
    return 1 if failed and failed == len(rows) else 0


def collect_images(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders searched recursively for images; sorted, no duplicates."""
    from services.imaging.decode import IMAGE_SUFFIXES

    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    found[child] = None
        elif path.is_file():
            found[path] = None
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return list(found)


async def process(
    settings: Settings,
    images: Sequence[Path],
    ops: dict[str, dict[str, Any]],
    out: Path,
    *,
    group: bool = False,
    per_file: dict[str, Callable[[Path, dict[str, Any]], dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Run `ops` on every image through the same service layer the bot uses (``group``:
    then cluster them all, bot/cli/grouping.py; ``per_file``: an op's params per file)."""
    from tqdm import tqdm

    from services.catalogue import needs_measure
    from services.jobs import JobRequest
    from services.results import IMAGE, ImageResult, kind_of
    from services.scheduler import ModelServices

    services = ModelServices(settings.service_config())
    rows: list[dict[str, Any]] = []
    names: set[str] = set()
    edited: dict[str, list[tuple[Path, Path]]] = {}  # op -> (original, result file)
    async with services:
        for op in ops:
            missing = services.missing_weights(op)
            if missing is None:
                say(f"vitrina: --{op} is not available yet in this version; skipped")
            elif missing:
                say(
                    f"vitrina: --{op} needs model weights ({', '.join(missing)}) in "
                    f"{settings.weights_dir}: run 'vitrina weights download'"
                )
        runnable = {op: params for op, params in ops.items() if op in services.operations}
        for op, params in runnable.items():  # a series of cards: one scale for all (catalogue)
            if len(images) > 1 and needs_measure(op, params):
                runnable[op] = params | await _catalogue(services, images, op, params)
        own = per_file or {}
        todo = iter(
            [
                (image, op, own[op](image, params) if op in own else params)
                for image in images
                for op, params in runnable.items()
            ]
        )
        savers = _savers()
        # Keep at most one user's queue allowance in flight: enough to fill every batch.
        window = min(services.config.queue_max_per_user, services.config.queue_max_size)
        in_flight: deque[tuple[Path, str, JobHandle]] = deque()

        def refill() -> None:
            for image, op, params in itertools.islice(todo, window - len(in_flight)):
                in_flight.append((image, op, services.submit(JobRequest(op, 0, image, params))))

        refill()
        with tqdm(total=len(images) * len(runnable), unit="job", disable=None) as bar:
            while in_flight:
                image, op, handle = in_flight.popleft()
                row: dict[str, Any] = {"file": str(image), "op": op}
                try:
                    result = await handle.result()
                    row["status"] = "done"
                    if isinstance(result, ImageResult):
                        path = await asyncio.to_thread(_save_image, result, image, op, out, names)
                        row["output"] = str(path)
                        row["kind"], row["result"] = (
                            IMAGE.name,
                            {"file": path.name, **result.facts},
                        )
                        edited.setdefault(op, []).append((image, path))
                    elif op in savers:  # not one picture: the op's own files
                        row |= await asyncio.to_thread(savers[op], result, image, out)
                    else:
                        kind = kind_of(result)
                        row["kind"], row["result"] = kind.name, kind.to_payload(result)
                except Exception as exc:  # one file's failure is a row, not the end of the run
                    row["status"], row["error"] = "failed", str(exc) or type(exc).__name__
                rows.append(row)
                bar.update()
                refill()
        if group:
            await _group(services, images, rows, out)
        for op, finish in _finishers().items():  # an op's files over the whole run (--order)
            if op in runnable:
                await finish(rows, out)
    write_results(rows, out)
    write_check_csv(rows, out)
    for op, pairs in edited.items():  # originals above results, one sheet per operation
        if op not in EDIT_OPS:
            continue
        sheet = await asyncio.to_thread(_contact_sheet, pairs)
        await asyncio.to_thread(sheet.save, out / f"contact-{op}.jpg", quality=88)
    return rows


async def _group(
    services: Any, images: Sequence[Path], rows: list[dict[str, Any]], out: Path
) -> None:
    from bot.cli.grouping import group_images, write_groups

    if services.missing_weights(Op.GROUP) != []:
        say(f"vitrina: --group needs the CLIP weights in {services.config.weights_dir}")
        return
    try:
        result = await group_images(services, images, rows)
    except Exception as exc:  # the tags are written; say why the groups are not
        say(f"vitrina: grouping failed: {exc}")
        return
    await asyncio.to_thread(write_groups, out, images, result)
    say(f"groups: {result.grouping.report()}; {out}/index.html")


async def _catalogue(
    services: ModelServices, images: Sequence[Path], op: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The catalogue's first pass (services/catalogue.py): every photo cut and measured, then
    the params every card shares (the object height share)."""
    from services.catalogue import measure_op, measure_params, shared_params
    from services.jobs import JobRequest
    from services.results import ObjectMeasure

    measures: list[ObjectMeasure] = []
    window = min(services.config.queue_max_per_user, services.config.queue_max_size)
    for start in range(0, len(images), window):
        handles = [
            services.submit(JobRequest(measure_op(op), 0, image, measure_params(params)))
            for image in images[start : start + window]
        ]
        for handle in handles:
            try:
                measures.append(await handle.result())
            except Exception as exc:  # this photo's row says why, in the second pass
                say(f"vitrina: measuring a photo for the catalogue failed: {exc}")
    shared = shared_params(params, measures)
    share = shared.get("card_share", shared.get("share", 0.0))
    say(f"vitrina: catalogue of {len(images)} cards, object height {share:.1%}")
    return shared


def _save_image(result: Any, image: Path, op: str, out: Path, names: set[str]) -> Path:
    """OUT/<photo name>-<op>.png (a number added when two inputs share a name); a result
    with its own file (a fixed card) as that file: OUT/<photo name>-fix-<profile>.jpg."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{image.stem}-{op}"
    if result.facts.get("profile"):
        stem += f"-{result.facts['profile']}"
    suffix = result.extension if result.data is not None else "png"
    name, number = f"{stem}.{suffix}", 1
    while name in names:
        number += 1
        name = f"{stem}-{number}.{suffix}"
    names.add(name)
    path = out / name
    if result.data is not None:
        path.write_bytes(result.data)
    else:
        result.image.save(path, format="PNG")
    return path


def _contact_sheet(pairs: list[tuple[Path, Path]]) -> Any:
    from services.imaging.contact import contact_sheet
    from services.imaging.decode import load_rgb

    return contact_sheet([(load_rgb(a, 512), load_rgb(b, 512)) for a, b in pairs])


def write_results(rows: list[dict[str, Any]], out: Path) -> None:
    from services.results_table import result_row, write_rows

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    # the columns of the chat's ZIP of a set (services/results_table.py); all else is in JSON
    table = [
        result_row(
            row["file"],
            row["op"],
            row["status"],
            row.get("kind"),
            row.get("result") if isinstance(row.get("result"), dict) else None,
            result_file=Path(row["output"]).name if row.get("output") else "",
            error=row.get("error", ""),
        )
        for row in rows
    ]
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        write_rows(table, handle)


def _ops(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The flags as {op: job params}, in the registry's order, checked (a SettingsError
    names a bad one)."""
    from bot.ops import SPECS

    asked = ((spec.op, spec.cli.params(args)) for spec in SPECS if spec.cli is not None)
    return {op.value: params for op, params in asked if params is not None}


def _file_params(
    args: argparse.Namespace,
) -> dict[str, Callable[[Path, dict[str, Any]], dict[str, Any]]]:
    """{op: its params for one file} of the ops whose flag has them (--gallery's --texts)."""
    from bot.ops import SPECS

    return {
        spec.op.value: functools.partial(spec.cli.file_params, args)
        for spec in SPECS
        if spec.cli is not None and spec.cli.file_params is not None
    }


def _finishers() -> dict[str, Callable[[list[dict[str, Any]], Path], Any]]:
    from bot.ops import SPECS

    return {
        spec.op.value: spec.cli.finish
        for spec in SPECS
        if spec.cli is not None and spec.cli.finish is not None
    }


def _savers() -> dict[str, Callable[[Any, Path, Path], dict[str, Any]]]:
    from bot.ops import SPECS

    return {
        spec.op.value: spec.cli.save
        for spec in SPECS
        if spec.cli is not None and spec.cli.save is not None
    }
