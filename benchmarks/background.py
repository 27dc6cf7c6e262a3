"""Timings of /background, measured in one run: compositing (feather, decontaminate, shadow,
composite, transparent) at 1024 px and 12 MP, preset generation, the card, the cut through
ObjectCutter (saliency, SAM embedding, SAM predict, choice), one whole job, and the
inpainting model when its weights are there.

    .venv/bin/python benchmarks/background.py [--repeat 3] [--weights DIR] [--device cuda]
                                              [--fp16] [--skip-12mp] [--steps 25]

Without --weights it writes tiny random weights to a temp folder: then the model rows time
the plumbing with toy models (ISNet/SAM/SD at toy sizes), not the real networks; pass a
folder with the real weights (`vitrina weights download`) for real figures. Needs numpy,
pillow, scipy, torch (+ onnxruntime, segment-anything, diffusers for the model rows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from services.imaging import backgrounds, card, compositing  # noqa: E402

SIZES = {"1024 px": (1024, 768), "12 MP": (4000, 3000)}


def photo_and_mask(size: tuple[int, int]) -> tuple[Image.Image, np.ndarray]:
    """A photo-like test image (a lit 'product' on a textured table) and its soft mask."""
    width, height = size
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    table = np.stack([180 + 30 * yy / height, 150 + 20 * xx / width, 120 + 0 * xx], axis=-1)
    table += rng.normal(0, 6, (height, width, 1)).astype(np.float32)
    inside = ((xx - width * 0.5) / (width * 0.22)) ** 2 + (
        (yy - height * 0.5) / (height * 0.3)
    ) ** 2
    edge = max(1.5, 0.002 * width)
    alpha = np.clip((1 - inside) * (min(width, height) * 0.25) / edge, 0, 1).astype(np.float32)
    product = np.stack([200 - 60 * yy / height, 40 + 30 * xx / width, 50 + 0 * xx], axis=-1)
    pixels = alpha[..., None] * product + (1 - alpha[..., None]) * table
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB"), alpha


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of `repeat` calls (after one warm-up call when repeat > 1)."""
    if repeat > 1:
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def compositing_rows(repeat: int, sizes: dict[str, tuple[int, int]]) -> list[tuple[str, ...]]:
    rows = []
    for label, size in sizes.items():
        image, alpha = photo_and_mask(size)
        rgb = np.asarray(image)
        sigma = compositing.feather_sigma(size)
        soft = compositing.feather(alpha, sigma)
        rgba = compositing.transparent(image, alpha)
        back = backgrounds.solid(size, "#ffc0cb")
        reps = repeat if size[0] <= 1024 else max(1, repeat // 2)
        for name, fn in (
            (
                f"feather (sigma {sigma:.1f} px)",
                lambda a=alpha, s=sigma: compositing.feather(a, s),
            ),
            ("decontaminate edge colours", lambda r=rgb, s=soft: compositing.decontaminate(r, s)),
            ("contact shadow", lambda s=soft: compositing.contact_shadow(s)),
            ("over (composite + shadow)", lambda r=rgba, b=back: compositing.over(r, b)),
            (
                "transparent RGBA (feather+decont.)",
                lambda i=image, a=alpha: compositing.transparent(i, a),
            ),
            (
                "composite, all steps",
                lambda i=image, a=alpha, b=back: compositing.composite(i, a, b),
            ),
        ):
            rows.append((f"compositing {label}", name, f"{timed(fn, reps):.3f}"))
    return rows


def preset_rows(repeat: int, sizes: dict[str, tuple[int, int]]) -> list[tuple[str, ...]]:
    rows = []
    for label, size in {"card 900x1200": (900, 1200), **sizes}.items():
        for name in backgrounds.PRESETS:
            seconds = timed(lambda n=name, s=size: backgrounds.preset(n, s, seed=1), repeat)
            rows.append((f"preset {label}", name, f"{seconds:.3f}"))
    return rows


def card_rows(repeat: int, sizes: dict[str, tuple[int, int]]) -> list[tuple[str, ...]]:
    rows = []
    for label, size in sizes.items():
        image, alpha = photo_and_mask(size)
        rgba = compositing.transparent(image, alpha)
        back = backgrounds.preset("studio", (900, 1200), seed=0)

        def make(r: Image.Image = rgba, b: Image.Image = back) -> None:
            compositing.over(card.place(r, (900, 1200)), b)

        rows.append((f"card from {label}", "place + over, 900x1200", f"{timed(make, repeat):.3f}"))
    return rows


def model_rows(
    weights: Path, device: str, repeat: int, steps: int, sizes: dict[str, tuple[int, int]]
) -> list[tuple[str, ...]]:
    from services.errors import ModelUnavailable
    from services.models.inpaint import BackgroundPainter
    from services.operations import RunContext
    from services.operations.background import BackgroundOperation
    from services.operations.cutout import ObjectCutter
    from services.weights import missing_models, tiny_models

    tiny = set(tiny_models(weights))
    rows: list[tuple[str, ...]] = []
    cutter = ObjectCutter(weights, device=device)
    if cutter.missing_weights():
        return [("cut", "no isnet/sam weights", "-")]
    kind = "tiny" if {"isnet", "sam"} & tiny else "real"
    started = time.perf_counter()
    cutter.warm_up()
    rows.append(
        (f"cut ({kind} weights)", "load ISNet + SAM", f"{time.perf_counter() - started:.3f}")
    )
    image, _ = photo_and_mask((1024, 768))
    cold = []
    stages: dict[str, list[float]] = {}
    for index in range(repeat):
        started = time.perf_counter()
        cut = cutter.cut(image, cache_key=f"bench-{index}")
        cold.append(time.perf_counter() - started)
        for stage, seconds in cut.timings.items():
            stages.setdefault(stage, []).append(seconds)
    for stage, values in stages.items():
        rows.append((f"cut 1024 px ({kind})", stage, f"{statistics.median(values):.3f}"))
    rows.append(
        (f"cut 1024 px ({kind})", "ObjectCutter.cut, new photo", f"{statistics.median(cold):.3f}")
    )
    cached = timed(lambda: cutter.cut(image, candidate=1, cache_key="bench-0"), repeat)
    rows.append((f"cut 1024 px ({kind})", "next candidate, cached photo", f"{cached:.3f}"))

    painter = BackgroundPainter(weights / "inpaint", device=device)
    op = BackgroundOperation(
        cutter, painter, painter_missing=lambda: missing_models(weights, ["inpaint"]), steps=steps
    )
    context = RunContext(report=lambda fraction, step, total: None, is_cancelled=lambda: False)
    with tempfile.TemporaryDirectory() as folder:
        for label, size in sizes.items():
            path = Path(folder) / f"{size[0]}.png"
            photo_and_mask(size)[0].save(path)
            params = {"kind": "colour", "value": "#ffc0cb"}
            seconds = timed(lambda p=path, q=params: op.make(p, q, context), max(1, repeat // 2))
            rows.append((f"whole job {label} ({kind})", "colour, cut cached", f"{seconds:.3f}"))
        if missing_models(weights, ["inpaint"]):
            rows.append(("inpaint", "no inpaint weights", "-"))
            return rows
        path = Path(folder) / "1024.png"
        photo_and_mask((1024, 768))[0].save(path)
        paint_kind = "tiny" if "inpaint" in tiny else "real"
        try:
            started = time.perf_counter()
            painter.load()
            rows.append(
                (
                    f"inpaint ({paint_kind})",
                    "load pipeline",
                    f"{time.perf_counter() - started:.3f}",
                )
            )
            params = {"kind": "prompt", "value": "on a marble table", "steps": steps}
            seconds = timed(lambda: op.make(path, params, context), max(1, repeat // 2))
            side = painter.native_side
            rows.append(
                (
                    f"inpaint ({paint_kind}) 1024 px, work side {side}",
                    f"whole job, {steps} steps",
                    f"{seconds:.3f}",
                )
            )
        except ModelUnavailable as exc:
            rows.append(("inpaint", str(exc)[:60], "-"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--weights", type=Path, default=None, help="default: tiny, in a temp dir")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--fp16",
        action="store_true",
        help="on CUDA the models already run in fp16; recorded in the header",
    )
    parser.add_argument("--skip-12mp", action="store_true")
    parser.add_argument("--skip-models", action="store_true")
    parser.add_argument("--steps", type=int, default=25, help="diffusion steps (inpaint row)")
    args = parser.parse_args()
    sizes = {k: v for k, v in SIZES.items() if not (args.skip_12mp and k == "12 MP")}
    rows = [
        *compositing_rows(args.repeat, sizes),
        *preset_rows(args.repeat, sizes),
        *card_rows(args.repeat, sizes),
    ]
    if not args.skip_models:
        with tempfile.TemporaryDirectory() as folder:
            weights = args.weights
            if weights is None:
                from services.conversion import write_tiny

                weights = Path(folder)
                write_tiny(weights, ["isnet", "sam", "inpaint"])
            rows += model_rows(weights, args.device, args.repeat, args.steps, sizes)
    print(
        f"# background benchmark: device={args.device} fp16={args.fp16} "  # noqa: T201
        f"repeat={args.repeat} (median seconds)"
    )
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in [("what", "step", "seconds"), *rows]:
        print(f"{row[0]:<{width[0]}}  {row[1]:<{width[1]}}  {row[2]:>{width[2]}}")  # noqa: T201


if __name__ == "__main__":
    main()
