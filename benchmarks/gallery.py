"""/gallery on the CPU: seconds per gallery (five slides of a 600×400 photo of a cup, the
Wildberries profile) split into the one cut, the drawing and the self-check (each slide
checked by /check and read back by Tesseract), the number of cuts (one, reused by every
slide), and a repeat of the same photo (its cut from the cache). One of `make bench`'s
parts (the rows "GAL"); with --gallery-sheet it also writes the slides as a contact
sheet (docs/gallery-example.jpg).

    PYTHONPATH=$PWD python benchmarks/gallery.py [--gallery-weights DIR] [--gallery-sheet F]

The models are the real ones where the weights folder (default: `make quality`'s cache,
~/.cache/vitrina/weights) holds them (ISNet, PP-OCRv4; SAM and CLIP if present), tiny
random ones otherwise, and the rows say which. Figures are from one run after a warm-up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.check import REAL, _weights  # noqa: E402
from benchmarks.table import Row  # noqa: E402

TITLE = "Керамическая чашка ручной работы"
BENEFITS = [
    "Держит тепло до двух часов",
    "Можно мыть в посудомоечной машине",
    "Натуральная глина без красителей",
    "Объём 250 мл",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gallery-weights", type=Path, default=REAL, help="real weights folder")
    parser.add_argument("--gallery-sheet", type=Path, default=None, help="contact sheet to write")


def sheet(slides: list, path: Path, cell: int = 300, limit: int = 200_000) -> int:
    """The slides side by side, JPEG under `limit` bytes; its size."""
    from PIL import Image

    height = round(cell * slides[0].image.height / slides[0].image.width)
    gap = 12
    canvas = Image.new("RGB", (len(slides) * (cell + gap) + gap, height + 2 * gap), "white")
    for index, slide in enumerate(slides):
        thumb = slide.image.resize((cell, height), Image.Resampling.LANCZOS)
        canvas.paste(thumb, (gap + index * (cell + gap), gap))
    for quality in (85, 78, 70, 60, 50):
        canvas.save(path, "JPEG", quality=quality, optimize=True)
        if path.stat().st_size < limit:
            break
    return path.stat().st_size


def measure(args: argparse.Namespace) -> list[Row]:
    from PIL import Image
    from skimage import data as skdata

    from services.config import ServiceConfig
    from services.jobs import JobRequest
    from services.models.residency import ModelResidency
    from services.operations import RunContext
    from services.operations.cutout import ObjectCutter
    from services.weights.digest import sha256_file
    from services.wiring import marketplace_operations

    context = RunContext(report=lambda fraction, step, total: None, is_cancelled=lambda: False)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        real = Path(getattr(args, "gallery_weights", REAL))
        weights, tiny = _weights(real, Path(scratch))
        cutter = ObjectCutter(weights)
        cuts = {"n": 0}
        original = cutter.cut

        def counted(*a, **k):  # noqa: ANN002, ANN003, ANN202
            cuts["n"] += 1
            return original(*a, **k)

        cutter.cut = counted  # type: ignore[method-assign]
        op = marketplace_operations(ServiceConfig(weights_dir=weights), ModelResidency(), cutter)
        gallery = op["gallery"]
        how = "CPU, " + (f"tiny {', '.join(tiny)}" if tiny else "real ISNet + PP-OCRv4")
        how += ", Tesseract rus+eng" if gallery.checker.finder.reader.available else ", no OCR"
        path = Path(scratch) / "coffee.jpg"
        Image.fromarray(skdata.coffee()).save(path, quality=95)
        params = {"profile": "wb", "title": TITLE, "benefits": BENEFITS}
        gallery.warm_up()

        def one(photo: str | None) -> tuple[object, float]:
            started = time.perf_counter()
            request = JobRequest(gallery.name, 1, path, params, photo_sha256=photo)
            result = gallery.run([request], context)[0]
            if isinstance(result, Exception):
                raise result
            return result, time.perf_counter() - started

        sha = sha256_file(path)
        cutter._analyses.clear()  # a cold cut for the timed run
        cuts["n"] = 0
        result, total = one(sha)
        first_cuts = cuts["n"]
        again, repeat = one(sha)
        s = result.facts["seconds"]
        passed = sum(slide.passed for slide in result.slides)
        redraws = sum(slide.redraws for slide in result.slides)
        figures = [
            ("seconds per gallery (5 slides, 1200×1600)", f"{total:.1f} s"),
            ("  the cut (detector + ISNet, once)", f"{s['cut']:.1f} s"),
            ("  drawing the 4 infographic slides", f"{s['draw']:.2f} s"),
            (
                "  self-check (5 × /check + Tesseract read-back)",
                f"{total - s['cut'] - s['draw']:.1f} s",
            ),
            ("cuts per gallery (the cut is reused by every slide)", str(first_cuts)),
            (
                "the same photo again (its cut from the cache)",
                f"{repeat:.1f} s, the cut {again.facts['seconds']['cut']:.2f} s",  # type: ignore[attr-defined]
            ),
            ("slides passing their self-check / redraws", f"{passed}/5, {redraws} redraws"),
        ]
        rows = [Row("GAL", name, value, note=how) for name, value in figures]
        target = getattr(args, "gallery_sheet", None)
        if target is not None:
            size = sheet(list(result.slides), Path(target))
            rows.append(Row("GAL", f"contact sheet {target}", f"{size / 1000:.0f} KB", note=how))
    return rows


def main() -> None:
    from benchmarks.table import markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))  # noqa: T201


if __name__ == "__main__":
    main()
