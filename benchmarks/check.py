"""/check and /clean on the CPU, seconds per photo at 1 MP and 12 MP, stage by stage
(text detector, Tesseract, the cut, the scoring; the mask and the fill), and the text
detector with 1 vs 2 onnxruntime threads. One of `make bench`'s parts (the rows "CHK").

    PYTHONPATH=$PWD python benchmarks/check.py [--check-weights DIR] [--repeat 3]

The photo is tests/ocr_photos.py's coffee card (drawn marketplace text on a photograph)
scaled to 1224×816 and 4240×2832. The models are the real ones where the weights folder
(default: `make quality`'s cache, ~/.cache/vitrina/weights) holds them: the PP-OCRv4
detector and ISNet (SAM, CLIP and SD too if present); any of the detector and ISNet
missing is a tiny random model instead, and the row says so (its time means little).
Each figure is the median of --repeat runs after one warm-up, the cut not cached.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.table import Row  # noqa: E402

REAL = Path.home() / ".cache" / "vitrina" / "weights"
SIZES = {"1 MP": (1224, 816), "12 MP": (4240, 2832)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check-weights", type=Path, default=REAL, help="real weights folder")
    parser.add_argument("--check-repeat", type=int, default=3)


def _weights(real: Path, scratch: Path) -> tuple[Path, list[str]]:
    """A folder with the real ocr/isnet (and sam, clip, inpaint) where `real` has them,
    tiny ones for ocr and isnet where it does not; and the names that are tiny."""
    from services.weights import read_marker, write_tiny_models

    folder, tiny = scratch / "weights", []
    folder.mkdir()
    for name in ("ocr", "isnet", "sam", "clip", "inpaint"):
        source = real / name
        usable = source.is_dir() and any(source.iterdir())
        if usable and not (read_marker(source) or {}).get("tiny"):
            (folder / name).symlink_to(source.resolve(), target_is_directory=True)
        elif name in ("ocr", "isnet"):
            tiny.append(name)
    if tiny:
        write_tiny_models(folder, tiny)
    return folder, tiny


def _median(fn: Callable[[], dict[str, float]], repeat: int) -> dict[str, float]:
    fn()  # warm-up: loads, onnxruntime's arena
    runs = [fn() for _ in range(max(1, repeat))]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def measure(args: argparse.Namespace) -> list[Row]:
    from PIL import Image

    from services.config import ServiceConfig
    from services.marketplace.facts import read_facts
    from services.models.ocr_detector import TextDetector
    from services.models.residency import ModelResidency
    from services.operations import RunContext
    from services.operations.cutout import ObjectCutter
    from services.wiring import marketplace_operations
    from tests.ocr_photos import coffee_card

    context = RunContext(report=lambda fraction, step, total: None, is_cancelled=lambda: False)
    repeat = getattr(args, "check_repeat", 3)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        weights, tiny = _weights(Path(getattr(args, "check_weights", REAL)), Path(scratch))
        ops = marketplace_operations(
            ServiceConfig(weights_dir=weights), ModelResidency(), ObjectCutter(weights)
        )
        check, clean = ops["check"], ops["clean"]
        profile = check.profile({"profile": "wb"})
        how = "CPU, " + (f"tiny {', '.join(tiny)}" if tiny else "real PP-OCRv4 + ISNet")
        how += "; SAM" if (weights / "sam").exists() else "; no SAM (ISNet cut)"
        how += ", CLIP" if (weights / "clip").exists() else ", no CLIP"
        how += ", SD fill" if clean.filler.diffusion() else ", Telea fill"
        card = coffee_card().image
        for label, size in SIZES.items():
            image = card.resize(size, Image.Resampling.BICUBIC)
            path = Path(scratch) / f"card-{size[0]}.jpg"
            image.save(path, quality=92)

            def one_check(path: Path = path, image: Image.Image = image) -> dict[str, float]:
                started = time.perf_counter()
                facts = read_facts(path.read_bytes())
                summary = check.inspect(facts, image, profile, context, cut_source=image)
                return {**summary.seconds, "total": time.perf_counter() - started}

            def one_clean(image: Image.Image = image) -> dict[str, float]:
                started = time.perf_counter()
                cleaned = clean.clean(image, context)
                return {**cleaned.seconds, "total": time.perf_counter() - started}

            for name, fn, stages in (
                ("/check", one_check, ("detect", "read", "cut", "clip", "score", "total")),
                ("/clean", one_clean, ("detect", "cut", "mask", "fill", "total")),
            ):
                found = _median(fn, repeat)
                for stage in stages:
                    if stage in found:
                        rows.append(
                            Row(
                                "CHK",
                                f"{name} {label} ({size[0]}×{size[1]}): {stage}",
                                f"{found[stage]:.2f} s",
                                note=how,
                            )
                        )
        for label, size in SIZES.items():
            image = card.resize(size, Image.Resampling.BICUBIC)
            seconds = []
            for threads in (1, 2):
                detector = TextDetector(weights / "ocr", threads=threads)
                found = _median(lambda d=detector, i=image: {"s": d.detect(i).seconds}, repeat)
                seconds.append(found["s"])
            rows.append(
                Row(
                    "CHK",
                    f"text detector {label}, onnxruntime 1 vs 2 threads",
                    f"{seconds[0]:.3f} / {seconds[1]:.3f} s = {seconds[0] / seconds[1]:.2f}x",
                    note="real PP-OCRv4" if "ocr" not in tiny else "tiny detector",
                )
            )
    return rows


def main() -> None:
    from benchmarks.table import markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))  # noqa: T201


if __name__ == "__main__":
    main()
