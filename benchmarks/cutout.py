"""Timings of the cut (which object, and its mask), measured in one run; prints a table.

    .venv/bin/python benchmarks/cutout.py                       # CPU: ISNet, SAM ViT-B
    python benchmarks/cutout.py --device cuda --fp16            # GPU: ISNet, ViT-B and ViT-H

Stages, each on a 1024×768 photo (skimage's coffee when scikit-image is there, else a drawn
still life), median of --repeat runs after one warm-up:

- saliency: ISNet through services/models/isnet.py (the real weights from --isnet, default
  the `make quality` cache, else the tiny ONNX: then the row says "tiny");
- SAM embedding: the registry's ViT-B (and ViT-H on CUDA, or with --sam vit_h) with random
  weights (the architecture decides the time), SamPredictor.set_image at 1024 px;
- SAM prompt: box + points -> 3 masks from the cached embedding;
- mask choice: prompts from saliency, agreement ranking, fusion and cleaning (numpy/scipy).

The real ISNet (88 MB) is over a device's carry limit: split it (`split -b 40M model.onnx
carry/isnet/model.onnx.part`), carry the parts in two calls, and pass --isnet carry/isnet:
the parts are joined and checked against the manifest's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from services.models.isnet import IsnetSaliency  # noqa: E402

ISNET_SHA256 = "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
DEFAULT_ISNET = Path.home() / ".cache" / "vitrina" / "weights" / "isnet"


def photo() -> Image.Image:
    try:
        from skimage import data

        image = Image.fromarray(data.coffee())
    except ImportError:  # a bare GPU box: a drawn still life will do for timings
        image = Image.new("RGB", (600, 400), (180, 160, 140))
        draw = ImageDraw.Draw(image)
        draw.ellipse((170, 60, 430, 340), fill=(240, 240, 235))
        draw.ellipse((230, 120, 370, 280), fill=(90, 50, 30))
    return image.resize((1024, 683), Image.Resampling.BICUBIC)


def timed(fn: Callable[[], object], repeat: int, sync: Callable[[], None]) -> tuple[float, float]:
    fn()  # warm-up: lazy loads, cuDNN autotuning, allocator
    sync()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def isnet_folder(path: Path | None, scratch: Path) -> tuple[Path, str]:
    """A folder holding model.onnx: the real one (joined from parts if need be) or tiny."""
    path = path or DEFAULT_ISNET
    if (path / "model.onnx").is_file():
        return path, "real"
    parts = sorted(path.glob("model.onnx.part*")) if path.is_dir() else []
    if parts:
        out = scratch / "isnet"
        out.mkdir()
        digest = hashlib.sha256()
        with (out / "model.onnx").open("wb") as target:
            for part in parts:
                data = part.read_bytes()
                digest.update(data)
                target.write(data)
        if digest.hexdigest() != ISNET_SHA256:
            raise SystemExit(f"{path}: the joined parts do not hash to the pinned ISNet")
        return out, "real"
    from services.weights.tiny_isnet import tiny_isnet

    out = scratch / "isnet"
    out.mkdir()
    tiny_isnet(out, 0)
    return out, "tiny"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--fp16", action="store_true", help="SAM under float16 autocast (CUDA)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--isnet", type=Path, default=None, help="folder with model.onnx(.part*)")
    parser.add_argument("--sam", default=None, help="comma list: vit_b,vit_h (default by device)")
    args = parser.parse_args()

    import torch

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    fp16 = args.fp16 and cuda
    precision = "fp16 autocast" if fp16 else "fp32"
    variants = (args.sam or ("vit_b,vit_h" if cuda else "vit_b")).split(",")
    image = photo()
    pixels = np.asarray(image)
    rows: list[tuple[str, str, str, str, float, float]] = []
    device_name = (
        torch.cuda.get_device_name(0) if cuda else f"CPU ({torch.get_num_threads()} threads)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder, kind = isnet_folder(args.isnet, Path(tmp))
        isnet = IsnetSaliency(folder, args.device)
        isnet.load()
        provider = isnet.providers[0].replace("ExecutionProvider", "")
        median, best = timed(lambda: isnet.predict(image), args.repeat, lambda: None)
        rows.append(
            (
                "saliency",
                f"ISNet ({kind})",
                provider,
                "fp16 weights" if kind == "real" else "fp32",
                median,
                best,
            )
        )
        saliency = isnet.predict(image).probability

    from segment_anything import SamPredictor, sam_model_registry

    masks = None
    box = np.array([250, 120, 780, 600], dtype=np.float32)
    points = np.array([[512, 340]], dtype=np.float32)
    for variant in variants:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = sam_model_registry[variant](checkpoint=None).to(args.device).eval()
        predictor = SamPredictor(model)
        autocast = (
            torch.autocast("cuda", dtype=torch.float16)
            if fp16
            else torch.autocast("cpu", enabled=False)
        )

        def embed(predictor: SamPredictor = predictor, autocast: object = autocast) -> None:
            with torch.inference_mode(), autocast:  # type: ignore[attr-defined]
                predictor.set_image(pixels)

        median, best = timed(embed, args.repeat, sync)
        rows.append(
            ("SAM embedding", f"{variant} (random) 1024 px", args.device, precision, median, best)
        )

        def prompt(predictor: SamPredictor = predictor, autocast: object = autocast) -> object:
            with torch.inference_mode(), autocast:  # type: ignore[attr-defined]
                return predictor.predict(
                    point_coords=points, point_labels=np.array([1]), box=box, multimask_output=True
                )

        median, best = timed(prompt, args.repeat, sync)
        rows.append(
            ("SAM prompt", f"{variant} box+point -> 3 masks", args.device, precision, median, best)
        )
        masks = prompt()[0]  # type: ignore[index]
        del predictor, model
        if cuda:
            torch.cuda.empty_cache()

    try:
        from services.imaging import masks as M
    except ImportError as exc:  # scipy absent on a bare GPU box
        rows.append(
            ("mask choice", f"skipped ({exc.name} missing)", "cpu", "", float("nan"), float("nan"))
        )
    else:
        # random SAM masks: mix in a mask that agrees, so the fusion path runs, not only fallback
        candidates = [*(masks if masks is not None else []), saliency >= 0.5]

        def choose() -> object:
            M.prompts_from_saliency(saliency)
            best_index, _ = M.rank_by_agreement(candidates, saliency)[0]
            return M.fuse(candidates[best_index], saliency)

        median, best = timed(choose, args.repeat, lambda: None)
        rows.append(
            ("mask choice", "prompts + rank + fuse + clean", "cpu", "float32", median, best)
        )

    print(
        f"\ncut timings on {device_name}, image {image.width}x{image.height}, "
        f"median of {args.repeat} after a warm-up\n"
    )
    header = ("stage", "model", "device", "precision", "median s", "min s")
    widths = [max(len(str(r[i])) if i < 4 else 8 for r in [header, *rows]) for i in range(6)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        cells = [*row[:4], f"{row[4]:.3f}", f"{row[5]:.3f}"]
        print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))


if __name__ == "__main__":
    main()
