"""`vitrina weights download|verify|tiny|convert`: the model folders under WEIGHTS_DIR."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.console import say
from bot.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    weights = sub.add_parser("weights", help="model weights").add_subparsers(
        dest="weights_command", required=True
    )
    tiny = weights.add_parser("tiny", help="write tiny random-weight models (tests, CI)")
    tiny.add_argument("dir", type=Path)
    download = weights.add_parser("download", help="fetch the real weights (pinned)")
    download.add_argument("names", nargs="*", help="models to fetch (default: all)")
    download.add_argument("--missing", action="store_true", help="only absent models")
    download.add_argument("--dir", type=Path, default=None)
    download.add_argument(
        "--variant",
        choices=("auto", "gpu", "cpu"),
        default="auto",
        help="which variant of each model (auto: the GPU one when DEVICE resolves to CUDA)",
    )
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


def run(args: argparse.Namespace, settings: Settings) -> int:

    if args.weights_command == "tiny":
        from services.conversion import write_tiny  # the models and their converted folders

        written = write_tiny(args.dir)
        say(f"wrote tiny random-weight models: {', '.join(str(p) for p in written)}")
        return 0
    target = args.dir or settings.weights_dir
    if args.weights_command == "download":
        return _download(args, settings, target)
    if args.weights_command == "convert":
        return convert(target, args.names or None)
    return _verify(args, settings, target)


def _overrides(settings: Settings) -> dict[str, str] | None:
    """CLIP_MODEL / BLIP_MODEL name another repo for a model folder."""
    chosen = {"clip": settings.clip_model, "blip": settings.blip_model}
    return {name: repo for name, repo in chosen.items() if repo} or None


def _download(args: argparse.Namespace, settings: Settings, target: Path) -> int:
    from services import weights
    from services.device import resolve_device

    known = list(weights.load_manifest())
    names = list(dict.fromkeys(args.names)) or known
    unknown = [name for name in names if name not in known]
    if unknown:
        say(f"vitrina: unknown model(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return 2
    variant = getattr(args, "variant", "auto")
    gpu = variant == "gpu" or (
        variant == "auto" and resolve_device(settings.device).startswith("cuda")
    )
    # One model at a time: an unreachable hub must not keep the npm-hosted ISNet away.
    fetched, failed = [], 0
    for name in names:
        try:
            fetched += weights.download(
                target,
                [name],
                missing_only=args.missing,
                use_gpu_variants=gpu,
                model_override=_overrides(settings),
            )
        except weights.WeightsDownloadError as exc:
            say(f"vitrina: {exc}")
            failed += 1
    if fetched:
        say(f"downloaded: {', '.join(str(path) for path in fetched)}")
        failed += convert_wanted(target, [path.name for path in fetched], settings)
    elif not failed:
        say(f"weights in {target}: nothing missing")
    return 1 if failed else 0


def _verify(args: argparse.Namespace, settings: Settings, target: Path) -> int:
    from services import weights

    try:
        problems = weights.verify(
            target,
            args.names or None,
            model_override=_overrides(settings),
        )
    except ValueError as exc:  # an unknown model name
        say(f"vitrina: {exc}")
        return 2
    from services.weights.converted import verify_converted

    problems += verify_converted(target, args.names or None)
    for problem in problems:
        say(f"vitrina: {problem}")
    for name in weights.tiny_models(target, args.names or None):
        say(f"note: {name} holds tiny random weights (tests only: its outputs are noise)")
    if not problems:
        say(f"weights in {target}: OK")
    return 1 if problems else 0


def convert(target: Path, names: list[str] | None) -> int:
    """`vitrina weights convert`: 0 when every conversion passed its check."""
    from services.conversion import ConversionError
    from services.conversion import convert as convert_folders

    try:
        done = convert_folders(target, names)
    except (ValueError, ConversionError) as exc:
        say(f"vitrina: {exc}")
        return 2 if isinstance(exc, ValueError) else 1
    if not done:
        say(f"weights in {target}: nothing to convert (no opus-mt or clip folder)")
    for item in done:
        verdict = "checked" if item.passed else "FAILED its check (not used)"
        say(f"{item.folder} ({item.runtime}, {item.seconds:.1f}s): {verdict}: {item.summary}")
    return 0 if all(item.passed for item in done) else 1


def convert_wanted(target: Path, names: list[str], settings: Settings) -> int:
    """After a download: convert what TRANSLATION_RUNTIME / CLIP_RUNTIME would use."""
    from services.device import resolve_device
    from services.weights.converted import CONVERTIBLE as convertible

    cpu = resolve_device(settings.device) == "cpu"
    setting = {"ctranslate2": settings.translation_runtime, "onnx": settings.clip_runtime}
    wanted = [
        name
        for name in names
        if name in convertible
        and (
            setting[convertible[name][0]] in ("ctranslate2", "onnx")
            or setting[convertible[name][0]] == "auto"
            and cpu
        )
    ]
    return convert(target, wanted) if wanted else 0
