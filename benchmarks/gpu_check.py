"""`make gpu-check` (issue 27): every model once on a GPU, through the bot's own model classes.

    PYTHONPATH=. .venv/bin/python benchmarks/gpu_check.py [--device cuda] [--out benchmarks/GPU.md]

Loads each model of WEIGHTS_DIR that holds real weights (tiny random ones where the real are
absent, said in the table: those rows time the plumbing, not the model), runs each operation
on a fixed photo (skimage's coffee, 512 px): one warm-up, then the median of ``--runs`` (5).
Writes seconds per operation, the load time, the peak GPU memory per model, torch.compile and
channels-last off/on for pix2pix and SAM (compile on CUDA only), and CLIP batch 1 vs 32.
Meant for a lent GPU's short time: under 5 minutes on one H100 (tiny or real weights).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402

from services.weights import incomplete_reason, load_manifest, read_marker  # noqa: E402

GIB = 1 << 30
Row = dict[str, Any]


def fixed_photo(side: int = 512) -> Image.Image:
    image = Image.fromarray(skdata.coffee())
    image.thumbnail((side, side))
    return image.convert("RGB")


def median_s(fn: Callable[[], object], runs: int, device: str) -> float:
    """One warm-up, then the median of ``runs`` timed calls (synchronised on CUDA)."""
    fn()
    times = []
    for _ in range(runs):
        _sync(device)
        started = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@contextmanager
def peak_memory(device: str, row: Row) -> Iterator[None]:
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    yield
    if device.startswith("cuda"):
        row["peak"] = f"{torch.cuda.max_memory_allocated() / GIB:.2f} GiB"


def choose_folders(weights_dir: Path, tiny_dir: Path) -> dict[str, tuple[Path, str]]:
    """Model name -> (its folder, "real" or "tiny"): a complete folder of WEIGHTS_DIR as it is
    (tiny if its marker says so), else tiny random weights written into ``tiny_dir``."""
    chosen: dict[str, tuple[Path, str]] = {}
    missing = []
    for name, spec in load_manifest().items():
        folder = weights_dir / name
        if incomplete_reason(folder, spec) is not None:
            missing.append(name)
            continue
        chosen[name] = (folder, "tiny" if (read_marker(folder) or {}).get("tiny") else "real")
    if missing:
        from services.weights import write_tiny_models

        write_tiny_models(tiny_dir, missing)
        chosen |= {name: (tiny_dir / name, "tiny") for name in missing}
    return chosen


def _loaded(model: Any, device: str, row: Row) -> Any:
    _sync(device)
    started = time.perf_counter()
    model.load()
    _sync(device)
    row["load_s"] = time.perf_counter() - started
    return model


def _variants(
    module_owner: Any, attribute: str, device: str, run: Callable[[], object], runs: int
) -> list[tuple[str, float | None]]:
    """The operation with the module ``owner.attribute`` as is, channels-last, compiled
    (CUDA only) and both: (label, median seconds or None when not measured)."""
    original = getattr(module_owner, attribute)
    results: list[tuple[str, float | None]] = []
    for label, channels_last, compiled in (
        ("default", False, False),
        ("channels-last", True, False),
        ("torch.compile", False, True),
        ("torch.compile + channels-last", True, True),
    ):
        if compiled and not device.startswith("cuda"):
            results.append((label, None))
            continue
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        original.to(memory_format=fmt)
        setattr(module_owner, attribute, torch.compile(original) if compiled else original)
        try:
            results.append((label, median_s(run, runs, device)))
        finally:
            setattr(module_owner, attribute, original)
            original.to(memory_format=torch.contiguous_format)
    return results


def check_models(folders: dict[str, tuple[Path, str]], args: argparse.Namespace) -> list[Row]:
    from services.models.blip import Captioner
    from services.models.clip import ClipTagger
    from services.models.inpaint import BackgroundPainter
    from services.models.isnet import IsnetSaliency
    from services.models.marian import MarianTranslator
    from services.models.pix2pix import Pix2PixEditor
    from services.models.sam import SamSegmenter

    device, runs, steps = args.device, args.runs, args.steps
    photo = fixed_photo()
    pixels = np.asarray(photo)
    rows: list[Row] = []

    def measure(name: str, model: Any, operations: Callable[[Any, Row], None]) -> None:
        kind = folders[name][1]
        row: Row = {"model": name, "weights": kind, "peak": "–", "ops": [], "variants": []}
        with peak_memory(device, row):
            operations(_loaded(model, device, row), row)
        model.unload()
        rows.append(row)

    def clip_ops(clip: Any, row: Row) -> None:
        for batch in (1, 32):
            seconds = median_s(lambda b=batch: clip.tag([photo] * b, "product"), runs, device)
            row["ops"].append((f"tag, batch {batch}", seconds, seconds / batch))

    def one(label: str, fn: Callable[[], object]) -> Callable[[Any, Row], None]:
        return lambda model, row: row["ops"].append((label, median_s(fn, runs, device), None))

    def pix2pix_ops(editor: Any, row: Row) -> None:
        def edit() -> object:
            return editor.edit([photo], "make it night", [0], steps=steps, max_side=512)

        row["ops"].append((f"edit, {steps} steps", median_s(edit, runs, device), None))
        row["variants"] = _variants(editor.pipeline, "unet", device, edit, runs)

    def sam_ops(sam: Any, row: Row) -> None:
        def embed() -> object:
            return sam.embed(pixels)

        box = np.array([100, 80, 400, 300])
        embedding = sam.embed(pixels)
        row["ops"].append(("embed (image encoder)", median_s(embed, runs, device), None))
        predict = median_s(lambda: sam.predict(embedding, box=box), runs, device)
        row["ops"].append(("predict (a box)", predict, None))
        row["variants"] = _variants(sam._model, "image_encoder", device, embed, runs)

    def inpaint_ops(painter: Any, row: Row) -> None:
        side = painter.native_side
        image = photo.resize((side, side))
        mask = Image.new("L", (side, side), 255)
        mask.paste(0, (side // 4, side // 4, 3 * side // 4, 3 * side // 4))
        paint = lambda: painter.paint(image, mask, "on a marble table", seed=0, steps=steps)  # noqa: E731
        row["ops"].append(
            (f"paint, {steps} steps, {side} px", median_s(paint, runs, device), None)
        )

    path = {name: folder for name, (folder, _) in folders.items()}
    clip = ClipTagger(path["clip"], device)
    measure("clip", clip, clip_ops)
    blip = Captioner(path["blip"], device)
    measure("blip", blip, one("caption", lambda: blip.caption([photo])))
    en_ru = MarianTranslator(path["opus-mt-en-ru"], device)
    english = ["A white ceramic mug on a wooden table."]
    measure("opus-mt-en-ru", en_ru, one("translate a line", lambda: en_ru.translate(english)))
    ru_en = MarianTranslator(path["opus-mt-ru-en"], device)
    russian = ["Сделай фон ночным"]
    measure("opus-mt-ru-en", ru_en, one("translate a line", lambda: ru_en.translate(russian)))
    measure("pix2pix", Pix2PixEditor(path["pix2pix"], device), pix2pix_ops)
    measure("sam", SamSegmenter(path["sam"], device), sam_ops)
    isnet = IsnetSaliency(path["isnet"], device)
    measure("isnet", isnet, one("saliency", lambda: isnet.predict(photo)))
    measure("inpaint", BackgroundPainter(path["inpaint"], device), inpaint_ops)
    return rows


def markdown(rows: list[Row], args: argparse.Namespace, seconds: float) -> str:
    device = args.device
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor()
    tiny = [r["model"] for r in rows if r["weights"] == "tiny"]
    out = [
        "# GPU check (`make gpu-check`, benchmarks/gpu_check.py)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; device `{device}` ({name or 'cpu'}); "
        f"torch {torch.__version__}; median of {args.runs} runs after one warm-up; "
        f"diffusion steps {args.steps}; the whole check took {seconds:.0f} s.",
        "",
    ]
    if tiny:
        out += [
            f"**Tiny random weights** (the real ones are absent) for: {', '.join(tiny)}. "
            "Their rows time the plumbing, not the real models.",
            "",
        ]
    out += [
        "| model | weights | load s | operation | s (median) | per image s | peak GPU memory |"
    ]
    out += ["|---|---|---|---|---|---|---|"]
    for row in rows:
        for label, s, per in row["ops"]:
            per_image = f"{per:.4f}" if per is not None else ""
            load = f"{row['load_s']:.2f}"
            out.append(
                f"| {row['model']} | {row['weights']} | {load} | {label} | {s:.4f} | "
                f"{per_image} | {row['peak']} |"
            )
    out += ["", "## torch.compile and channels-last (the UNet of pix2pix, SAM's image encoder)"]
    out += ["", "| model | setting | s (median) |", "|---|---|---|"]
    for row in rows:
        for label, s in row["variants"]:
            value = f"{s:.4f}" if s is not None else "not measured (CUDA only)"
            out.append(f"| {row['model']} | {label} | {value} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--weights", type=Path, default=None, help="default: WEIGHTS_DIR")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "GPU.md")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="diffusion steps (pix2pix, SD)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.stderr.write("gpu-check: torch sees no GPU; use --device cpu to try the plumbing\n")
        return 2
    if args.weights is None:
        from bot.settings import load_settings

        args.weights = load_settings().weights_dir
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tiny:
        rows = check_models(choose_folders(args.weights, Path(tiny)), args)
    text = markdown(rows, args, time.perf_counter() - started)
    args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
