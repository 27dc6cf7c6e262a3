"""`make bench`: issue 9's goals P1-P7 (and issue 18's set throughput, S1) measured in one
run, one table.

Each part is a module of this folder exposing ``add_arguments(parser)`` and
``measure(args) -> list[Row]``. The table is printed and written to benchmarks/RESULTS.md
with the machine named. Ratios matter more than absolute figures on a shared machine.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/run.py [--only P2,P3] [--device cuda]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.table import Row, markdown  # noqa: E402

#: (goal, module, function): the order of the table.
PARTS = [
    ("P1", "benchmarks.loop_latency", "measure_rows"),
    ("P2", "benchmarks.lanes", "measure"),
    ("P3", "benchmarks.batching", "measure"),  # P3 and P4
    ("P5", "benchmarks.cache", "measure"),
    ("P6", "benchmarks.residency_rss", "measure"),
    ("P7", "benchmarks.runtimes", "measure"),
    ("CHK", "benchmarks.check", "measure"),  # issue 17: /check and /clean per photo
    ("S1", "benchmarks.sets", "measure"),  # issue 18: a set vs the same photos one by one
    ("L1", "benchmarks.find", "measure"),  # issue 19: /find at 5 000 and 50 000 photos
    ("GAL", "benchmarks.gallery", "measure"),  # issue 28: seconds per /gallery, one cut
    ("HOT", "benchmarks.hotel", "measure"),  # issue 29: /check booking, straighten, enhance
    ("REM", "benchmarks.rembg_side", "measure"),  # issue 31: the cut vs rembg, same ISNet
    ("C1", "benchmarks.catalogue", "measure"),  # issue 31: 100 photos -> Fix for WB
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") if Path("/proc/cpuinfo").exists() else open(os.devnull) as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    if names:
        cpu = names[0]
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        versions = f"torch {torch.__version__}"
    except ImportError:
        gpu, versions = "torch missing", ""
    memory = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GB RAM"
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {gpu}; Python "
        f"{platform.python_version()}, {versions}, OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated goals, e.g. P1,P3")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    wanted = {g.strip().upper() for g in parser.parse_known_args()[0].only.split(",") if g}
    modules = []
    for goal, name, function in PARTS:
        if wanted and goal not in wanted and not (goal == "P3" and "P4" in wanted):
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            modules.append((goal, name, None, f"not built: {exc}"))
            continue
        getattr(module, "add_arguments", lambda p: None)(parser)
        modules.append((goal, name, getattr(module, function), ""))
    args = parser.parse_args()
    rows: list[Row] = []
    began = time.perf_counter()
    for goal, name, measure, why in modules:
        if measure is None:
            rows.append(Row(goal, name, "-", met=None, note=why))
            continue
        print(f"== {goal}: {name}", flush=True)
        started = time.perf_counter()
        try:
            part = measure(args)
        except Exception as exc:  # one broken part must not lose the others' figures
            traceback.print_exc()
            part = [Row(goal, name, "failed", met=False, note=f"{type(exc).__name__}: {exc}")]
        rows += part
        print(markdown(part), f"\n({time.perf_counter() - started:.0f} s)\n", flush=True)
    rows.append(
        Row(
            "GPU",
            "H100/H200 figures (/night 512² fp16, SAM ViT-H, CLIP ViT-L/14 b1 vs "
            "b32, VRAM of all models)",
            "not measured",
            met=None,
            note="no GPU lent to this task (device tool); rerun on one with "
            "benchmarks/residency.py --device cuda --fp16 and benchmarks/edits.py",
        )
    )
    table = markdown(rows)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"# Benchmark results (issue 9)\n\n`make bench`, {stamp}, "
        f"{time.perf_counter() - began:.0f} s.\n\nMachine: {machine()}\n\n{table}\n"
    )
    print(text)
    Path(args.results).write_text(text)
    print(f"written to {args.results}")


if __name__ == "__main__":
    main()
