"""P6 residency: process memory idle and with every default model loaded, and the
least-recently-used unloading under a memory budget.

    .venv/bin/python benchmarks/residency_rss.py                     # CPU, ~3 min
    python benchmarks/residency_rss.py --device cuda --fp16          # a GPU box
    .venv/bin/python benchmarks/residency_rss.py --no-residency-full # tiny weights only

Each figure comes from a fresh subprocess (RSS is read from /proc/self/status):
- idle: the bot's services built the way ``python -m bot`` builds them, nothing loaded;
- tiny: the same process after every registered model loaded through its real loader from
  ``vitrina weights tiny`` folders;
- full size: every default model's full-size architecture with random weights (CPU: fp32,
  CLIP ViT-B/32 and SAM ViT-B; CUDA: fp16, CLIP ViT-L/14 and SAM ViT-H in fp32, as the bot
  runs them), built side by side in one process, and what each added to the RSS (and to the
  CUDA allocator); ISNet loads the real ONNX file when one is found. On a CPU box the two
  SD 1.5 pipelines (~4.3 GB fp32 each) get a process each, so the total is the idle RSS + the
  model libraries' import + the sum of the per-model additions.
The LRU part runs one sequence of jobs through ModelServices (tiny weights) with no budget
and with a budget that fits about half of the models, counting loads and unloads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.full_size import FULL_LABELS, FULL_SIZE, materialise  # noqa: E402
from benchmarks.table import Row, markdown  # noqa: E402

MB = 2**20
GB = 2**30
LIBRARIES = ("torch", "transformers", "diffusers", "segment_anything", "onnxruntime")
ISNET_DIRS = (Path.home() / ".cache/vitrina/weights/isnet",)  # `make quality` fetches it
#: the job mix of the LRU sequence: (op, params)
SEQUENCE = [
    ("tag", {}),
    ("describe", {}),
    ("background", {"kind": "colour", "value": "#ffc0cb"}),
    ("night", {"seed": 1}),
    ("tag", {}),
    ("background", {"kind": "prompt", "value": "a table"}),
    ("describe", {}),
    ("night", {"seed": 2}),
    ("tag", {}),
    ("describe", {}),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options this benchmark reads (skipped when another benchmark added them)."""
    known = parser._option_string_actions  # noqa: SLF001 - run.py shares one parser
    options: list[tuple[str, dict[str, Any]]] = [
        ("--device", {"default": "cpu"}),
        ("--fp16", {"action": "store_true"}),
        (
            "--residency-full",
            {
                "action": argparse.BooleanOptionalAction,
                "default": True,
                "help": "also measure full-size architectures (random weights)",
            },
        ),
        (
            "--residency-isnet",
            {"type": Path, "default": None, "help": "a folder with the real ISNet model.onnx"},
        ),
    ]
    for flag, spec in options:
        if flag not in known:
            parser.add_argument(flag, **spec)


# ---- in the subprocesses


def rss_bytes() -> int:
    from services.models.resident import process_rss_bytes

    return process_rss_bytes()


def child_services(weights: str, device: str, load_all: bool) -> dict[str, Any]:
    """The bot's services, built as the bot builds them; then every model loaded."""
    from bot.app import build_services
    from bot.settings import settings_from_mapping

    started = time.perf_counter()
    services = build_services(settings_from_mapping({"WEIGHTS_DIR": weights, "DEVICE": device}))
    models = services.residency.models
    out: dict[str, Any] = {
        "idle_rss": rss_bytes(),
        "build_s": time.perf_counter() - started,
        "loaded_after_build": sum(m.loaded for m in models),
        "libraries_after_build": sorted(set(LIBRARIES) & set(sys.modules)),
        "models": len(models),
    }
    if load_all:
        for model in models:
            model.load()
        out["all_rss"] = rss_bytes()
        out["held"] = {m.name: m.memory_bytes() for m in models}
    return out


def child_full(names: list[str], device: str, fp16: bool, isnet: str | None) -> dict[str, Any]:
    """Default models at full size, random weights, kept side by side in this process;
    what each adds to the RSS (and to the CUDA allocator)."""
    before = rss_bytes()
    import diffusers  # noqa: F401  (the libraries are in the baseline, not the models)
    import onnxruntime  # noqa: F401
    import segment_anything  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    libraries = rss_bytes() - before
    kept: list[Any] = []
    models = [_full_one(name, device, fp16, isnet, kept) for name in names]
    return {"libraries": libraries, "models": models}


def _full_one(
    name: str, device: str, fp16: bool, isnet: str | None, kept: list[Any]
) -> dict[str, Any]:
    import torch

    from services.models.resident import _tensor_bytes

    cuda = device.startswith("cuda")
    before, allocated = rss_bytes(), torch.cuda.memory_allocated() if cuda else 0
    started = time.perf_counter()
    if name == "isnet":
        from services.models.isnet import IsnetSaliency

        model = IsnetSaliency(Path(isnet or ""), device)  # type: ignore[assignment]
        model.load()
        held: dict[str, int] = model.memory_bytes()
    else:
        builder, half = FULL_SIZE[name](cuda)
        dtype = torch.float16 if (fp16 and half) else torch.float32
        model = materialise(builder, device, dtype)
        held = {}
        _tensor_bytes(model, set(), held, 0)
    kept.append(model)
    if cuda:
        torch.cuda.synchronize()
    return {
        "rss_added": rss_bytes() - before,
        "cuda_added": (torch.cuda.memory_allocated() - allocated) if cuda else 0,
        "held": held,
        "seconds": time.perf_counter() - started,
        "label": FULL_LABELS[name](cuda),
    }


def child_isnet_runs(isnet: str, runtime: str, photos: int = 4) -> dict[str, Any]:
    """The real ISNet in `runtime` after `photos` 1200×1600 photos: the RSS it added, what
    an unload frees (malloc trimmed), and the residency's estimate for it."""
    import ctypes
    import gc

    import numpy as np
    from PIL import Image

    from services.models.isnet import IsnetSaliency
    from services.models.openvino_session import wants_openvino

    model = IsnetSaliency(Path(isnet), "cpu", runtime)
    before = rss_bytes()
    model.load()
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (1600, 1200, 3), dtype=np.uint8))
    for _ in range(photos):
        model.predict(image)
    held = rss_bytes()
    model.unload()
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return {
        "added": held - before,
        "freed": held - rss_bytes(),
        "estimate": model.estimate_bytes(),
        "provider": "OpenVINO" if wants_openvino(runtime, "cpu") else "onnxruntime",
    }


# ---- in the parent


def run_child(*argv: str, timeout: float = 300) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("OMP_NUM_THREADS", "2")
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {argv} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def lru_sequence(
    weights: Path, photo: Path, device: str, budget_bytes: int | None
) -> dict[str, Any]:
    """SEQUENCE through the real scheduler and operations; loads/unloads and peak memory."""
    from services.config import ServiceConfig
    from services.jobs import JobRequest
    from services.scheduler import ModelServices

    budget = (budget_bytes or 0) / GB
    cuda = device.startswith("cuda")
    config = ServiceConfig(
        weights_dir=weights,
        device=device,
        worker="thread",
        edit_steps=2,
        edit_max_side=64,
        background_steps=2,
        gpu_memory_budget_gb=budget if cuda else 0.0,
        cpu_memory_budget_gb=0.0 if cuda else budget,
    )
    kind = "cuda" if cuda else "cpu"
    peak = 0
    failed = []
    async with ModelServices(config) as services:
        residency = services.residency
        for op, params in SEQUENCE:
            handle = services.submit(JobRequest(op, 1, photo, params))
            try:
                await handle.result()
            except Exception as exc:  # noqa: BLE001 - reported in the table
                failed.append(f"{op}: {type(exc).__name__}")
            peak = max(peak, residency.used_bytes(kind))
        loads = sum(m.loads for m in residency.models)
        sizes = [m.measured.get(kind, 0) for m in residency.models if m.loads]
        peak = max(peak, residency.peak.get(kind, 0))
    return {
        "loads": loads,
        "unloads": residency.unloads,
        "peak": peak,
        "total": sum(sizes),
        "largest": max(sizes),
        "failed": failed,
        "events": list(residency.events),
    }


def measure(args: argparse.Namespace) -> list[Row]:
    """Each part on its own: a GPU box without the bot's packages still gets the full-size
    figures (the tiny and LRU parts need the whole project installed)."""
    device = getattr(args, "device", "cpu")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="vitrina-p6-") as scratch:
        weights = Path(scratch) / "weights"
        idle = 0
        try:
            from services.conversion import write_tiny

            write_tiny(weights)
            tiny_rows, idle = tiny_services_rows(weights, device)
            rows += tiny_rows
        except Exception as exc:  # noqa: BLE001 - reported as a row
            rows.append(_not_measured("RSS idle / with tiny models", exc))
        if getattr(args, "residency_full", True):
            try:
                rows += full_size_rows(device, bool(getattr(args, "fp16", False)), idle, args)
            except Exception as exc:  # noqa: BLE001
                rows.append(_not_measured("RSS with full-size models", exc))
            if not device.startswith("cuda"):
                try:
                    rows += isnet_held_rows(args)
                except Exception as exc:  # noqa: BLE001
                    rows.append(_not_measured("ISNet held after runs", exc))
        try:
            photo = Path(scratch) / "photo.png"
            _write_photo(photo)
            rows += lru_rows(weights, photo, device)
        except Exception as exc:  # noqa: BLE001
            rows.append(_not_measured("LRU under a budget", exc))
    return rows


def _not_measured(what: str, exc: Exception) -> Row:
    return Row("P6", what, "not measured", note=f"{type(exc).__name__}: {exc}"[:200])


def tiny_services_rows(weights: Path, device: str) -> tuple[list[Row], int]:
    tiny = run_child("services", str(weights), device, "1")
    idle = tiny["idle_rss"]
    held = sum(sum(h.values()) for h in tiny["held"].values())
    return [
        Row(
            "P6",
            "models loaded when the services are built (bot start-up)",
            f"{tiny['loaded_after_build']} of {tiny['models']}",
            "0",
            tiny["loaded_after_build"] == 0 and not tiny["libraries_after_build"],
            f"no model library imported either ({', '.join(LIBRARIES)}); "
            f"built in {tiny['build_s'] * 1000:.0f} ms",
        ),
        Row(
            "P6",
            "RSS idle: services built, nothing loaded",
            f"{idle / MB:.0f} MB",
            note="bot.app.build_services in a fresh process",
        ),
        Row(
            "P6",
            "RSS with every default model loaded, tiny weights (8 models)",
            f"{tiny['all_rss'] / MB:.0f} MB",
            note=f"real loaders; the libraries' code is most of it (weights {held / MB:.1f} MB)",
        ),
    ], idle


def lru_rows(weights: Path, photo: Path, device: str) -> list[Row]:
    free = asyncio.run(lru_sequence(weights, photo, device, None))
    budget = max(free["total"] // 2, free["largest"] * 5 // 4)  # the largest must fit
    tight = asyncio.run(lru_sequence(weights, photo, device, budget))
    jobs = len(SEQUENCE)
    where = "GPU" if device.startswith("cuda") else "CPU"
    return [
        Row(
            "P6",
            f"LRU, no budget: {jobs} jobs (tag, describe, background, night mixed)",
            f"{free['loads']} loads, {free['unloads']} unloads",
            "0 unloads",
            free["unloads"] == 0 and not free["failed"],
            f"tiny weights; every model loads once; failed: {free['failed'] or 'none'}",
        ),
        Row(
            "P6",
            f"LRU, {where} budget {budget / MB:.1f} MB of {free['total'] / MB:.1f} MB "
            f"(all models): the same {jobs} jobs",
            f"{tight['loads']} loads, {tight['unloads']} unloads; "
            f"peak {tight['peak'] / MB:.1f} MB",
            "peak <= budget",
            tight["peak"] <= budget and not tight["failed"],
            "tiny weights; unloaded: " + ", ".join(name for _, name, _ in tight["events"]),
        ),
    ]


def full_size_rows(device: str, fp16: bool, idle: int, args: argparse.Namespace) -> list[Row]:
    cuda = device.startswith("cuda")
    isnet = getattr(args, "residency_isnet", None) or next(
        (d for d in ISNET_DIRS if (d / "model.onnx").is_file()), None
    )
    small = ["clip", "sam", "blip", "opus-mt-en-ru", "opus-mt-ru-en"]
    small += ["isnet"] if isnet is not None else []
    # on a CPU box the two SD 1.5 pipelines (~4.3 GB fp32 each) get a process each
    groups = [[*small, "pix2pix", "inpaint"]] if cuda else [small, ["pix2pix"], ["inpaint"]]
    outs, libs = [], 0
    for group in groups:
        out = run_child("full", ",".join(group), device, "1" if fp16 else "0", str(isnet or ""))
        libs = max(libs, out["libraries"])
        outs += out["models"]
    rows, total_rss, total_cuda, total_held = [], 0, 0, 0
    for out in outs:
        held = sum(out["held"].values())
        total_rss += out["rss_added"]
        total_cuda += out["cuda_added"]
        total_held += held
        where = f"CUDA +{out['cuda_added'] / GB:.2f} GB, " if cuda else ""
        rows.append(
            Row(
                "P6",
                f"  {out['label']}: RSS added",
                f"{out['rss_added'] / MB:.0f} MB",
                note=f"{where}weights {held / MB:.0f} MB; built in {out['seconds']:.1f}s",
            )
        )
    dtype = "fp16 (SAM fp32)" if fp16 else "fp32"
    rows.insert(
        0,
        Row(
            "P6",
            f"RSS with every default model loaded, full-size architectures, {dtype}",
            f"{(idle + libs + total_rss) / GB:.2f} GB",
            note=f"idle {idle / MB:.0f} MB + libraries {libs / MB:.0f} MB + per-model additions "
            f"(random weights; {len(groups)} process(es): "
            + " | ".join(",".join(g) for g in groups)
            + f"; weights {total_held / GB:.2f} GB)"
            + ("" if isnet else "; ISNet not found: not counted (~88 MB file)"),
        ),
    )
    if cuda:
        rows.insert(
            1,
            Row(
                "P6",
                "VRAM of all default models (sum of per-model allocations)",
                f"{total_cuda / GB:.2f} GB",
                "<= 12 GB",
                total_cuda <= 12 * GB,
                "fp16 on CUDA, SAM fp32 with fp16 autocast; ISNet on onnxruntime not counted",
            ),
        )
    return rows


def isnet_held_rows(args: argparse.Namespace) -> list[Row]:
    """What the real ISNet holds once it has run, per CPU runtime, against the residency's
    estimate (the memory budget counts the estimate before the first load)."""
    from services.models.openvino_session import openvino_installed

    isnet = getattr(args, "residency_isnet", None) or next(
        (d for d in ISNET_DIRS if (d / "model.onnx").is_file()), None
    )
    if isnet is None:
        return [Row("P6", "ISNet held after 4 photos", "not measured", note="no real ISNet")]
    runtimes = ["onnxruntime"] + (["openvino"] if openvino_installed() else [])
    rows = []
    for runtime in runtimes:
        out = run_child("isnet", str(isnet), runtime)
        rows.append(
            Row(
                "P6",
                f"  ISNet (real) in {out['provider']} after 4 photos 1200×1600: RSS an "
                "unload frees / the budget's estimate",
                f"{out['freed'] / MB:.0f} / {out['estimate'] / MB:.0f} MB",
                "estimate >= freed",
                out["estimate"] >= out["freed"],
                note=f"RSS added by load + 4 runs {out['added'] / MB:.0f} MB; ISNET_RUNTIME="
                f"{runtime}" + ("; no memory pattern" if runtime == "onnxruntime" else ""),
            )
        )
    return rows


def _write_photo(path: Path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = np.full((96, 128, 3), 235, np.uint8)
    pixels[24:72, 40:88] = rng.integers(0, 120, (48, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "services":
            out = child_services(rest[0], rest[1], rest[2] == "1")
        elif kind == "isnet":
            out = child_isnet_runs(rest[0], rest[1])
        else:
            out = child_full(rest[0].split(","), rest[1], rest[2] == "1", rest[3] or None)
        print(json.dumps(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = measure(args)
    print(markdown(rows))
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
