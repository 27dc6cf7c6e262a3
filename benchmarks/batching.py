"""P3 and P4: what the service costs around the model, with the full-size CLIP ViT-B/32.

CLIP ViT-B/32 with random weights (CLIPConfig's defaults, the tokenizer and a 224 px
processor of the tiny set) is saved with ``save_pretrained`` into a weights folder whose
other models are tiny; the bot and the service load it with the production loader.

* P3: 32 photos tagged at once through the service (worker process, batch window) vs the
  bare ``ClipTagger.tag`` at its best batch size; goal >= 0.9x.
* P4: one photo with the caption /tag sent to the bot (a process, against the emulator):
  from the update to the tags message, vs the bare decode + tag of that photo; goal <= 1.15x.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/batching.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.loop_latency import StampedEmulator, bot_env, photo_bytes  # noqa: E402
from benchmarks.table import Row, markdown  # noqa: E402
from services.config import ServiceConfig  # noqa: E402
from services.conversion import write_tiny  # noqa: E402
from services.jobs import JobRequest  # noqa: E402
from services.scheduler import ModelServices  # noqa: E402
from services.weights.converted import converted_dir  # noqa: E402

FULL_CLIP = "full-size CLIP ViT-B/32 (random weights), torch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-photos", type=int, default=32)
    parser.add_argument("--batch-repeat", type=int, default=3)
    parser.add_argument("--overhead-repeat", type=int, default=20)
    parser.add_argument("--batch-window-ms", type=float, default=5.0)
    parser.add_argument(
        "--p4-only", action="store_true", help="batching.py alone: skip P3, measure P4"
    )
    parser.add_argument(
        "--p4-stages", action="store_true", help="print P4's stage timeline (Bot API calls)"
    )
    parser.add_argument(
        "--p4-py-spy",
        default=None,
        metavar="FILE",
        help="record the bot process with py-spy during P4 (raw collapsed stacks to FILE)",
    )


def full_size_clip(folder: Path) -> None:
    """Replace the tiny CLIP in `folder` by the ViT-B/32 architecture, random weights."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer = CLIPProcessor.from_pretrained(folder).tokenizer
    torch.manual_seed(0)
    text = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    CLIPModel(CLIPConfig(text_config=text)).save_pretrained(folder)
    CLIPProcessor(image_processor=CLIPImageProcessor(), tokenizer=tokenizer).save_pretrained(
        folder
    )
    # the tiny set's ONNX conversion was made from the tiny CLIP: not this one's
    shutil.rmtree(converted_dir(folder.parent, "clip"), ignore_errors=True)


def _photos(workdir: Path, n: int) -> list[Path]:
    paths = []
    for seed in range(n):
        path = workdir / f"photo-{seed}.jpg"
        path.write_bytes(photo_bytes(seed, side=480))
        paths.append(path)
    return paths


def bare_throughput(weights: Path, photos: list[Path], repeat: int) -> dict[int, float]:
    """Images/s of ClipTagger.tag on decoded photos, by batch size (best of `repeat`)."""
    import torch

    from services.imaging.decode import load_rgb
    from services.models.clip import ClipTagger

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    tagger = ClipTagger(weights / "clip")
    images = [load_rgb(p, 1024) for p in photos]
    tagger.tag(images[:2], "product", top_k=5)  # load, text embeddings
    rates = {}
    for batch in (1, 8, 16, 32):
        best = 0.0
        for _ in range(repeat):
            started = time.perf_counter()
            for i in range(0, len(images), batch):
                tagger.tag(images[i : i + batch], "product", top_k=5)
            best = max(best, len(images) / (time.perf_counter() - started))
        rates[batch] = best
    return rates


def bare_tagger(weights: Path, photo: Path) -> Callable[[], float]:
    """Decode + tag of one photo (what the worker does for one job): a call, its seconds."""
    import torch

    from services.imaging.decode import load_rgb
    from services.models.clip import ClipTagger

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    tagger = ClipTagger(weights / "clip")
    tagger.tag([load_rgb(photo, 1024)], "product", top_k=5)

    def once() -> float:
        started = time.perf_counter()
        tagger.tag([load_rgb(photo, 1024)], "product", top_k=5)
        return time.perf_counter() - started

    return once


async def service_throughput(
    args: argparse.Namespace, weights: Path, photos: list[Path]
) -> tuple[float, list[int]]:
    config = ServiceConfig(
        weights, worker="process", batch_window_ms=args.batch_window_ms, clip_runtime="torch"
    )  # torch on both sides (P7 measures ONNX Runtime)
    best = 0.0
    sizes: list[int] = []
    async with ModelServices(config) as services:
        await services.submit(JobRequest("tag", 0, photos[0])).result()  # load in the worker
        for _ in range(args.batch_repeat):
            started = time.perf_counter()
            handles = [services.submit(JobRequest("tag", i, p)) for i, p in enumerate(photos)]
            await asyncio.gather(*(h.result() for h in handles))
            best = max(best, len(photos) / (time.perf_counter() - started))
            sizes = sorted({round(h.run_s * 1000) for h in handles})  # one run_s per batch
    return best, sizes


Timeline = list[tuple[float, str]]


async def bot_overhead(
    args: argparse.Namespace,
    workdir: Path,
    bare: Callable[[], float],
    timelines: list[Timeline] | None = None,
) -> tuple[list[float], list[float]]:
    """Seconds from sending a photo captioned /tag to the tags message, `repeat` times; a
    new photo each time (a repeated one is answered by the result cache, P5); and `bare`
    (decode + tag in this process) run once after each, while the bot is idle: both sides
    see the same machine (a shared VM's speed drifts by 20 % within a minute). With
    `timelines`, each run's Bot API calls are appended there (ms after the photo was sent)."""
    bare_times: list[float] = []
    env_args = argparse.Namespace(
        device="cpu",
        steps=3,
        side=64,
        no_preload=False,
        no_worker=0.0,
        preimport=False,
        switch_ms=0.0,
        slow_ms=0.0,
        worker="process",
    )
    times = []
    async with StampedEmulator() as emulator:
        env = bot_env(env_args, emulator, workdir)
        env["BATCH_WINDOW_MS"] = str(args.batch_window_ms)
        env["CLIP_RUNTIME"] = "torch"  # as the bare side (P7 measures ONNX Runtime)
        log = (workdir / "bot.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=workdir, env=env, stdout=log, stderr=log
        )
        profiler = None
        try:
            for index in range(args.overhead_repeat + 1):
                user = 700 + index
                after = len(emulator.bot_messages)
                if index == 1 and getattr(args, "p4_py_spy", None):
                    profiler = _py_spy(process.pid, Path(args.p4_py_spy))
                    await asyncio.sleep(0.5)  # attached
                photo = photo_bytes(1000 + index, side=480)
                calls = len(emulator.timeline)
                # The clock starts when the update is queued: making the photo and the
                # emulator's own work on it (Telegram's thumbnails) are not the bot's time.
                emulator.send_photo(user, photo, caption="/tag", language_code="en")
                started = time.perf_counter()
                await emulator.wait_for_message(  # the progress message, edited into tags
                    lambda r, u=user: r["chat_id"] == u and "•" in (r["text"] or ""),
                    after=after,
                    timeout=180,
                )
                ended = time.perf_counter()
                if index:  # the first one loads CLIP in the worker
                    times.append(ended - started)
                    await asyncio.sleep(0.2)  # what the bot does after the result
                    if timelines is not None:
                        timelines.append(
                            [((t - started) * 1000, what) for t, what in emulator.timeline[calls:]]
                            + [((ended - started) * 1000, "(tags message seen)")]
                        )
                    bare_times.append(await asyncio.to_thread(bare))
                await asyncio.sleep(0.3)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
                await asyncio.to_thread(profiler.wait, 30)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
            log.close()
    return times, bare_times


def _py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the bot process (root or CAP_SYS_PTRACE: attach by pid; see PROFILE.md)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.parent.mkdir(parents=True, exist_ok=True)
    # --nonblocking: sampling never pauses the bot (a paused process would be slower);
    # the worker process is left alone (sampled, a CLIP run took 2-7x as long)
    command = [exe, "record", "--pid", str(pid), "--format", "raw", "--rate", "250"]
    command += ["--threads", "--idle", "--nonblocking", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stage_table(timelines: list[Timeline]) -> list[str]:
    """Median time (ms after the photo was sent) of each Bot API call of a /tag, in order;
    the n-th call of a method is `method#n` (one long poll: the one that confirms it)."""
    offsets: dict[str, list[float]] = {}
    order: dict[str, float] = {}
    for timeline in timelines:
        seen: dict[str, int] = {}
        for offset, what in timeline:
            if what == "getUpdates" and seen.get(what):
                continue  # the long polls after the first
            seen[what] = seen.get(what, 0) + 1
            label = what if seen[what] == 1 else f"{what}#{seen[what]}"
            offsets.setdefault(label, []).append(offset)
            order.setdefault(label, offset)
    lines = [f"{'call (median of ' + str(len(timelines)) + ')':<34} {'ms':>7} {'n':>3}"]
    ranked = sorted(offsets, key=lambda k: statistics.median(offsets[k]))
    for label in ranked:
        values = offsets[label]
        lines.append(f"{label:<34} {statistics.median(values):7.1f} {len(values):>3}")
    return lines


def measure_p4(args: argparse.Namespace) -> list[Row]:
    """P4 alone (batching.py --p4-only): the bare decode+tag and the bot's e2e."""
    workdir = Path(tempfile.mkdtemp(prefix="vitrina-batching-"))
    timelines: list[Timeline] = []
    try:
        weights = workdir / "weights"
        write_tiny(weights)
        full_size_clip(weights / "clip")
        photos = _photos(workdir, 1)
        bare = bare_tagger(weights, photos[0])
        e2e, bare_times = asyncio.run(bot_overhead(args, workdir, bare, timelines))
        one = statistics.median(bare_times)
        if args.p4_stages:
            print("\n".join(stage_table(timelines)))
            log = (workdir / "bot.log").read_text(errors="replace")
            runs = [float(r) * 1000 for r in re.findall(r"op=tag wait=[\d.]+s run=([\d.]+)s", log)]
            if len(runs) > 1:  # the first one loads CLIP
                print(
                    f"the job's run in the worker (scheduler's view), median: "
                    f"{statistics.median(runs[1:]):.1f} ms; bare decode+tag {one * 1000:.1f} ms"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return [_p4_row(args, statistics.median(e2e), one, len(e2e))]


def _p4_row(args: argparse.Namespace, e2e_median: float, one: float, n: int) -> Row:
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    how = f"{FULL_CLIP}, CPU, {threads} torch thread(s)"
    overhead = e2e_median / one
    return Row(
        "P4",
        "bot e2e /tag (update -> tags message) / bare decode+tag",
        f"{e2e_median * 1000:.0f} / {one * 1000:.0f} ms = {overhead:.2f}x",
        "<= 1.15x",
        overhead <= 1.15,
        f"{how}; bot process + worker process vs emulator over HTTP, median of {n}; the bare "
        "decode+tag run in the benchmark's process after each (same machine state)",
    )


def measure(args: argparse.Namespace) -> list[Row]:
    workdir = Path(tempfile.mkdtemp(prefix="vitrina-batching-"))
    try:
        weights = workdir / "weights"
        write_tiny(weights)
        full_size_clip(weights / "clip")
        photos = _photos(workdir, args.batch_photos)
        rates = bare_throughput(weights, photos, args.batch_repeat)
        best_batch = max(rates, key=rates.__getitem__)
        service, _ = asyncio.run(service_throughput(args, weights, photos))
        e2e, bare_times = asyncio.run(bot_overhead(args, workdir, bare_tagger(weights, photos[0])))
        one = statistics.median(bare_times)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    how = f"{FULL_CLIP}, CPU, {threads} torch thread(s)"
    e2e_median = statistics.median(e2e)
    ratio = service / rates[best_batch]
    bare = ", ".join(f"b{b}: {r:.1f}" for b, r in rates.items())
    return [
        Row("P3", "bare ClipTagger.tag images/s by batch", bare, note=how),
        Row(
            "P3",
            f"service: {len(photos)} concurrent /tag jobs, images/s",
            f"{service:.1f} ({ratio:.2f}x bare best b{best_batch})",
            ">= 0.9x",
            ratio >= 0.9,
            f"{how}; worker process, window {args.batch_window_ms:g} ms",
        ),
        _p4_row(args, e2e_median, one, len(e2e)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args()
    print(markdown(measure_p4(args) if args.p4_only else measure(args)))


if __name__ == "__main__":
    main()
