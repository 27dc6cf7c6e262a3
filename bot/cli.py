"""`vitrina`: run the bot, process files without Telegram, manage weights."""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import logging
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.settings import Settings, SettingsError, load_settings
from services.imaging.decode import IMAGE_SUFFIXES
from services.results import ImageResult

PROCESS_OPS = ("tag", "night", "tulips", "edit", "background", "describe")


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


def collect_images(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders searched recursively for images; sorted, no duplicates."""
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
    settings: Settings, images: Sequence[Path], ops: dict[str, dict[str, Any]], out: Path
) -> list[dict[str, Any]]:
    """Run `ops` on every image through the same service layer the bot uses."""
    from tqdm import tqdm

    from bot.app import build_services
    from services.jobs import JobHandle, JobRequest

    services = build_services(settings)
    rows: list[dict[str, Any]] = []
    out.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    edited: dict[str, list[tuple[Path, Path]]] = {}  # op -> (original, edited file)
    async with services:
        for op in ops:
            missing = services.missing_weights(op)
            if missing is None:
                _say(f"vitrina: --{op} is not available yet in this version; skipped")
            elif missing:
                _say(f"vitrina: --{op} needs model weights ({', '.join(missing)}) in "
                     f"{settings.weights_dir}: run 'vitrina weights download'")  # fmt: skip
        runnable = {op: params for op, params in ops.items() if op in services.operations}
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
                        name = _output_name(image, op, written)
                        await asyncio.to_thread(result.image.save, out / name, compress_level=3)
                        row["result"] = {**result.facts, "output": name}
                        edited.setdefault(op, []).append((image, out / name))
                    else:
                        row["result"] = _plain(result)
                except Exception as exc:  # one file's failure is a row, not the end of the run
                    row["status"], row["error"] = "failed", str(exc) or type(exc).__name__
                rows.append(row)
                bar.update()
                refill()
    write_results(rows, out)
    for op, pairs in edited.items():
        sheet = await asyncio.to_thread(_contact_sheet, pairs)
        await asyncio.to_thread(sheet.save, out / f"contact-{op}.jpg", quality=88)
    return rows


def _output_name(image: Path, op: str, written: set[str]) -> str:
    """``<stem>.<op>.png``, numbered when two inputs share a stem."""
    name, number = f"{image.stem}.{op}.png", 2
    while name in written:
        name, number = f"{image.stem}-{number}.{op}.png", number + 1
    written.add(name)
    return name


def _contact_sheet(pairs: list[tuple[Path, Path]]) -> Any:
    from services.imaging.contact import contact_sheet
    from services.imaging.decode import load_rgb

    return contact_sheet([(load_rgb(a, 512), load_rgb(b, 512)) for a, b in pairs])


def _plain(result: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


def write_results(rows: list[dict[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "op", "status", "result", "error"])
        for row in rows:
            result = row.get("result")
            if isinstance(result, dict) and "tags" in result:
                summary = "; ".join(
                    f"{tag['en']} / {tag['ru']} ({tag['probability']:.3f})"
                    for tag in (*result["tags"], *result.get("attributes", ()))
                )
            else:
                summary = "" if result is None else json.dumps(result, ensure_ascii=False)
            writer.writerow([row["file"], row["op"], row["status"], summary, row.get("error", "")])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitrina", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (same as python -m bot)")

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
    proc.add_argument("--background", metavar="SPEC")
    proc.add_argument("--describe", action="store_true")
    proc.add_argument("-o", "--out", type=Path, required=True, help="folder for results")

    weights = sub.add_parser("weights", help="model weights").add_subparsers(
        dest="weights_command", required=True
    )
    tiny = weights.add_parser("tiny", help="write tiny random-weight models (tests, CI)")
    tiny.add_argument("dir", type=Path)
    download = weights.add_parser("download", help="fetch the real weights (pinned)")
    download.add_argument("--missing", action="store_true", help="only absent models")
    download.add_argument("--dir", type=Path, default=None)
    verify = weights.add_parser("verify", help="check the weights folder")
    verify.add_argument("--dir", type=Path, default=None)
    return parser


def _ops(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from bot.commands import parse_background

    ops: dict[str, dict[str, Any]] = {}
    if args.tag:
        ops["tag"] = {"domain": args.domain}
        if args.top_k is not None:
            ops["tag"]["top_k"] = args.top_k
        if args.min_probability is not None:
            if not 0.0 <= args.min_probability <= 1.0:
                raise SettingsError("--min-probability must be between 0 and 1")
            ops["tag"]["min_probability"] = args.min_probability
    for flag in ("night", "tulips", "describe"):
        if getattr(args, flag):
            ops[flag] = {}
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
    for op in ("night", "tulips", "edit"):
        if op in ops:
            ops[op].update({k: v for k, v in (("seed", args.seed), ("steps", args.steps))
                            if v is not None})  # fmt: skip
    if args.background:
        spec = parse_background(args.background)
        if spec is None:
            raise SettingsError(f"--background: cannot understand {args.background!r}")
        ops["background"] = spec
    return ops


def _weights(args: argparse.Namespace, settings: Settings) -> int:
    from services import weights

    if args.weights_command == "tiny":
        written = weights.write_tiny(args.dir)
        _say(f"wrote tiny random-weight models: {', '.join(str(p) for p in written)}")
        return 0
    target = args.dir or settings.weights_dir
    if args.weights_command == "download":
        from services.device import resolve_device

        try:
            fetched = weights.download(
                target,
                missing_only=args.missing,
                use_gpu_variants=resolve_device(settings.device).startswith("cuda"),
                model_override={"clip": settings.clip_model} if settings.clip_model else None,
            )
        except weights.WeightsDownloadError as exc:
            _say(f"vitrina: {exc}")
            return 1
        if fetched:
            _say(f"downloaded: {', '.join(str(path) for path in fetched)}")
        else:
            _say(f"weights in {target}: nothing missing")
        return 0
    problems = weights.verify(
        target, model_override={"clip": settings.clip_model} if settings.clip_model else None
    )
    for problem in problems:
        _say(f"vitrina: {problem}")
    for name in weights.tiny_models(target):
        _say(f"note: {name} holds tiny random weights (tests only: its outputs are noise)")
    if not problems:
        _say(f"weights in {target}: OK")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from bot.__main__ import run

        return run([])
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
        if args.command == "weights":
            return _weights(args, settings)
        ops = _ops(args)
        if not ops:
            _say("vitrina: say what to do, e.g. --tag")
            return 2
        images = collect_images(args.paths)
        if not images:
            _say("vitrina: no images found")
            return 2
        rows = asyncio.run(process(settings, images, ops, args.out))
    except (SettingsError, FileNotFoundError) as exc:
        _say(f"vitrina: {exc}")
        return 2
    failed = sum(row["status"] != "done" for row in rows)
    _say(f"{len(rows) - failed} done, {failed} failed; results in {args.out}/results.json")
    return 1 if failed and failed == len(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
