"""`vitrina process PATH... --tag --night ... -o OUT`: the services on files, no Telegram."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.check_csv import add_check_arguments, check_ops, write_check_csv
from bot.cli.console import say
from bot.settings import Settings, SettingsError
from services.operations import EDIT_OPS, Op

if TYPE_CHECKING:
    from services.jobs import JobHandle
    from services.scheduler import ModelServices


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    proc = sub.add_parser("process", help="run the services on files or folders, no Telegram")
    proc.add_argument("paths", nargs="+", type=Path)
    proc.add_argument("--tag", action="store_true")
    proc.add_argument("--domain", choices=("product", "hotel"), default="product")
    proc.add_argument("--top-k", type=int, default=None, help="how many item tags")
    proc.add_argument(
        "--min-probability", type=float, default=None, help="threshold mode: items above this"
    )
    proc.add_argument("--night", action="store_true")
    proc.add_argument("--tulips", action="store_true")
    proc.add_argument("--edit", metavar="PROMPT", help="an instruction, e.g. 'add a vase'")
    proc.add_argument("--preset", metavar="NAME", help="a named edit (services/edit_presets.tsv)")
    proc.add_argument("--seed", type=int, default=None, help="edits: the same seed, same result")
    proc.add_argument("--steps", type=int, default=None, help="edits: denoising steps")
    proc.add_argument(
        "--background",
        metavar="SPEC",
        help="a colour (pink, #ffc0cb), 'gradient pink blue', transparent, a preset "
        "(studio, blush, sky, marble, wood, concrete, linen), a photo file, or a scene in words",
    )
    proc.add_argument(
        "--card",
        nargs="?",
        const="3:4",
        choices=("3:4", "1:1"),
        default=None,
        help="with --background: a marketplace card, 900x1200 (3:4) or 1200x1200 (1:1)",
    )
    proc.add_argument("--no-shadow", action="store_true", help="no contact shadow")
    proc.add_argument("--describe", action="store_true")
    proc.add_argument(
        "--group",
        action="store_true",
        help="cluster the images by CLIP embedding and tags (implies --tag): groups.csv, "
        "group-NN.jpg contact sheets, index.html",
    )
    add_check_arguments(proc)
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
    rows = asyncio.run(process(settings, images, ops, args.out, group=args.group))
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
) -> list[dict[str, Any]]:
    """Run `ops` on every image through the same service layer the bot uses (``group``:
    then cluster them all, bot/cli/grouping.py)."""
    from tqdm import tqdm

    from services.catalogue import needs_measure
    from services.jobs import JobRequest
    from services.results import ImageResult
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
        todo = iter([(image, op, params) for image in images for op, params in runnable.items()])
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
                        row["result"] = {"file": path.name, **result.facts}
                        edited.setdefault(op, []).append((image, path))
                    else:
                        row["result"] = _plain(result)
                except Exception as exc:  # one file's failure is a row, not the end of the run
                    row["status"], row["error"] = "failed", str(exc) or type(exc).__name__
                rows.append(row)
                bar.update()
                refill()
        if group:
            await _group(services, images, rows, out)
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
    from services.catalogue import measure_params, shared_params
    from services.jobs import JobRequest
    from services.results import ObjectMeasure

    measures: list[ObjectMeasure] = []
    window = min(services.config.queue_max_per_user, services.config.queue_max_size)
    for start in range(0, len(images), window):
        handles = [
            services.submit(JobRequest(op, 0, image, measure_params(params)))
            for image in images[start : start + window]
        ]
        for handle in handles:
            try:
                measures.append(await handle.result())
            except Exception as exc:  # this photo's row says why, in the second pass
                say(f"vitrina: measuring a photo for the catalogue failed: {exc}")
    shared = shared_params(params, measures)
    say(f"vitrina: catalogue of {len(images)} cards, object height {shared['card_share']:.1%}")
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


def _plain(result: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


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
            row.get("result") if isinstance(row.get("result"), dict) else None,
            result_file=Path(row["output"]).name if row.get("output") else "",
            error=row.get("error", ""),
        )
        for row in rows
    ]
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        write_rows(table, handle)


def _ops(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The flags as {op: job params}, checked (a SettingsError names a bad one)."""
    from bot.command_parsing import parse_background
    from services.imaging.decode import IMAGE_SUFFIXES

    ops: dict[str, dict[str, Any]] = {}
    if args.tag or getattr(args, "group", False):  # groups are named by their tags
        ops["tag"] = {"domain": args.domain}
        if args.top_k is not None:
            ops["tag"]["top_k"] = args.top_k
        if args.min_probability is not None:
            if not 0.0 <= args.min_probability <= 1.0:
                raise SettingsError("--min-probability must be between 0 and 1")
            ops["tag"]["min_probability"] = args.min_probability
    for op in (Op.NIGHT, Op.TULIPS, Op.DESCRIBE):  # the flags that take no value
        if getattr(args, op.value):
            ops[op.value] = {}
    if args.describe:
        ops["describe"] = {"domain": args.domain}
    if args.edit and args.preset:
        raise SettingsError("--edit and --preset are one edit each: give one of them")
    if args.edit:
        ops["edit"] = {"prompt": args.edit}
    if args.preset:
        from services.edit_presets import load_presets

        if args.preset.lower() not in load_presets():
            known = ", ".join(load_presets())
            raise SettingsError(f"--preset: unknown preset {args.preset!r}; known: {known}")
        ops["edit"] = {"preset": args.preset.lower()}
    if args.steps is not None and not 1 <= args.steps <= 100:
        raise SettingsError("--steps must be between 1 and 100")
    for op in EDIT_OPS:
        if op in ops:
            ops[op].update(
                {k: v for k, v in (("seed", args.seed), ("steps", args.steps)) if v is not None}
            )
    if args.background:
        as_file = Path(args.background)
        if as_file.suffix.lower() in IMAGE_SUFFIXES and as_file.is_file():
            spec: dict[str, Any] | None = {"kind": "photo", "background_path": str(as_file)}
        else:
            spec = parse_background(args.background)
        if spec is None or spec.get("kind") == "photo" and "background_path" not in spec:
            raise SettingsError(
                f"--background: cannot understand {args.background!r} (a colour such as pink "
                "or #ffc0cb, 'gradient pink blue', transparent, a preset, an image file, or a "
                "scene of a few words)"
            )
        ops["background"] = spec | ({"card": args.card} if args.card else {})
        if args.no_shadow:
            ops["background"]["shadow"] = False
    elif args.card:
        raise SettingsError("--card needs --background (e.g. --background white --card)")
    return ops | check_ops(args)
