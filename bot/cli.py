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

from bot import worker_cli
from bot.settings import Settings, SettingsError, load_settings
from services.errors import BackendUnreachable
from services.imaging.decode import IMAGE_SUFFIXES
from services.results import ImageResult

EDIT_OPS = ("night", "tulips", "edit")
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
    names: set[str] = set()
    edited: dict[str, list[tuple[Path, Path]]] = {}  # op -> (original, result file)
    async with services:
        for op in ops:
            missing = services.missing_weights(op)
            if missing is None:
                _say(f"vitrina: --{op} is not available yet in this version; skipped")
            elif missing:
                _say(
                    f"vitrina: --{op} needs model weights ({', '.join(missing)}) in "
                    f"{settings.weights_dir}: run 'vitrina weights download'"
                )
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
    write_results(rows, out)
    for op, pairs in edited.items():  # originals above results, one sheet per operation
        if op not in EDIT_OPS:
            continue
        sheet = await asyncio.to_thread(_contact_sheet, pairs)
        await asyncio.to_thread(sheet.save, out / f"contact-{op}.jpg", quality=88)
    return rows


def _save_image(result: Any, image: Path, op: str, out: Path, names: set[str]) -> Path:
    """OUT/<photo name>-<op>.png (a number added when two inputs share a name)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{image.stem}-{op}"
    name, number = f"{stem}.png", 1
    while name in names:
        number += 1
        name = f"{stem}-{number}.png"
    names.add(name)
    path = out / name
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
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "op", "status", "result", "english", "path", "error"])
        for row in rows:
            result = row.get("result")
            if isinstance(result, dict) and "benefits" in result:
                summary = "\n".join([result["title"], *result["benefits"], result["closing"]])
            elif isinstance(result, dict) and "tags" in result:
                summary = "; ".join(
                    f"{tag['en']} / {tag['ru']} ({tag['probability']:.3f})"
                    for tag in (*result["tags"], *result.get("attributes", ()))
                )
            else:
                summary = "" if result is None else json.dumps(result, ensure_ascii=False)
            english, path = "", ""
            if isinstance(result, dict) and "benefits" in result:
                copy = result["english"]
                english = "\n".join([copy["title"], *copy["benefits"], copy["closing"]])
                path = result["path"]
            writer.writerow(
                [
                    row["file"],
                    row["op"],
                    row["status"],
                    summary,
                    english,
                    path,
                    row.get("error", ""),
                ]
            )


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
    proc.add_argument("-o", "--out", type=Path, required=True, help="folder for results")

    weights = sub.add_parser("weights", help="model weights").add_subparsers(
        dest="weights_command", required=True
    )
    tiny = weights.add_parser("tiny", help="write tiny random-weight models (tests, CI)")
    tiny.add_argument("dir", type=Path)
    download = weights.add_parser("download", help="fetch the real weights (pinned)")
    download.add_argument("names", nargs="*", help="models to fetch (default: all)")
    download.add_argument("--missing", action="store_true", help="only absent models")
    download.add_argument("--dir", type=Path, default=None)
    convert = weights.add_parser(
        "convert", help="convert for the faster CPU runtimes (CTranslate2, ONNX) and check"
    )
    convert.add_argument(
        "names", nargs="*", help="opus-mt-en-ru, opus-mt-ru-en, clip (default: each one present)"
    )
    convert.add_argument("--dir", type=Path, default=None)
    verify = weights.add_parser("verify", help="check the weights folder")
    verify.add_argument("names", nargs="*", help="models to check (default: all)")
    verify.add_argument("--dir", type=Path, default=None)
    worker_cli.add_parser(sub)
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
    for op in ("night", "tulips", "edit"):
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
    return ops


def _overrides(settings: Settings) -> dict[str, str] | None:
    """CLIP_MODEL / BLIP_MODEL name another repo for a model folder."""
    chosen = {"clip": settings.clip_model, "blip": settings.blip_model}
    return {name: repo for name, repo in chosen.items() if repo} or None


def _weights(args: argparse.Namespace, settings: Settings) -> int:
    from services import weights

    if args.weights_command == "tiny":
        from services.conversion import write_tiny

        written = write_tiny(args.dir)
        _say(f"wrote tiny random-weight models: {', '.join(str(p) for p in written)}")
        return 0
    target = args.dir or settings.weights_dir
    if args.weights_command == "download":
        from services.device import resolve_device

        known = list(weights.load_manifest())
        names = list(dict.fromkeys(args.names)) or known
        unknown = [name for name in names if name not in known]
        if unknown:
            _say(f"vitrina: unknown model(s) {', '.join(unknown)}; known: {', '.join(known)}")
            return 2
        # One model at a time: an unreachable hub must not keep the npm-hosted ISNet away.
        fetched, failed = [], 0
        for name in names:
            try:
                fetched += weights.download(
                    target,
                    [name],
                    missing_only=args.missing,
                    use_gpu_variants=resolve_device(settings.device).startswith("cuda"),
                    model_override=_overrides(settings),
                )
            except weights.WeightsDownloadError as exc:
                _say(f"vitrina: {exc}")
                failed += 1
        if fetched:
            _say(f"downloaded: {', '.join(str(path) for path in fetched)}")
            failed += _convert_wanted(target, [path.name for path in fetched], settings)
        elif not failed:
            _say(f"weights in {target}: nothing missing")
        return 1 if failed else 0
    if args.weights_command == "convert":
        return _convert(target, args.names or None)
    try:
        problems = weights.verify(
            target,
            args.names or None,
            model_override=_overrides(settings),
        )
    except ValueError as exc:  # an unknown model name
        _say(f"vitrina: {exc}")
        return 2
    from services.weights.converted import verify_converted

    problems += verify_converted(target, args.names or None)
    for problem in problems:
        _say(f"vitrina: {problem}")
    for name in weights.tiny_models(target, args.names or None):
        _say(f"note: {name} holds tiny random weights (tests only: its outputs are noise)")
    if not problems:
        _say(f"weights in {target}: OK")
    return 1 if problems else 0


def _convert(target: Path, names: list[str] | None) -> int:
    """`vitrina weights convert`: 0 when every conversion passed its check."""
    from services.conversion import ConversionError, convert

    try:
        done = convert(target, names)
    except (ValueError, ConversionError) as exc:
        _say(f"vitrina: {exc}")
        return 2 if isinstance(exc, ValueError) else 1
    if not done:
        _say(f"weights in {target}: nothing to convert (no opus-mt or clip folder)")
    for item in done:
        verdict = "checked" if item.passed else "FAILED its check (not used)"
        _say(f"{item.folder} ({item.runtime}, {item.seconds:.1f}s): {verdict}: {item.summary}")
    return 0 if all(item.passed for item in done) else 1


def _convert_wanted(target: Path, names: list[str], settings: Settings) -> int:
    """After a download: convert what TRANSLATION_RUNTIME / CLIP_RUNTIME would use."""
    from services.device import resolve_device
    from services.weights.converted import CONVERTIBLE

    cpu = resolve_device(settings.device) == "cpu"
    setting = {"ctranslate2": settings.translation_runtime, "onnx": settings.clip_runtime}
    wanted = [
        name
        for name in names
        if name in CONVERTIBLE
        and (
            setting[CONVERTIBLE[name][0]] in ("ctranslate2", "onnx")
            or setting[CONVERTIBLE[name][0]] == "auto"
            and cpu
        )
    ]
    return _convert(target, wanted) if wanted else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from bot.__main__ import run

        return run([])
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level,
            stream=sys.stderr,
            format="%(levelname)s %(name)s: %(message)s",
        )
        if args.command == "weights":
            return _weights(args, settings)
        if args.command == "worker":
            return worker_cli.run_worker(args, settings)
        ops = _ops(args)
        if not ops:
            _say("vitrina: say what to do, e.g. --tag")
            return 2
        images = collect_images(args.paths)
        if not images:
            _say("vitrina: no images found")
            return 2
        rows = asyncio.run(process(settings, images, ops, args.out))
    except (SettingsError, FileNotFoundError, BackendUnreachable) as exc:
        _say(f"vitrina: {exc}")
        return 2
    failed = sum(row["status"] != "done" for row in rows)
    _say(f"{len(rows) - failed} done, {failed} failed; results in {args.out}/results.json")
    return 1 if failed and failed == len(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
