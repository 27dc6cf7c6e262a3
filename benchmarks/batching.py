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
import shutil
import signal
import statistics
import sys
import tempfile
import time
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
    parser.add_argument("--overhead-repeat", type=int, default=10)
    parser.add_argument("--batch-window-ms", type=float, default=5.0)


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


def bare_one(weights: Path, photo: Path, repeat: int) -> float:
    """Decode + tag of one photo (what the worker does for one job), median seconds."""
    import torch

    from services.imaging.decode import load_rgb
    from services.models.clip import ClipTagger

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    tagger = ClipTagger(weights / "clip")
    tagger.tag([load_rgb(photo, 1024)], "product", top_k=5)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        tagger.tag([load_rgb(photo, 1024)], "product", top_k=5)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


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


async def bot_overhead(args: argparse.Namespace, workdir: Path) -> list[float]:
    """Seconds from sending a photo captioned /tag to the tags message, `repeat` times; a
    new photo each time (a repeated one is answered by the result cache, P5)."""
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
        try:
            for index in range(args.overhead_repeat + 1):
                user = 700 + index
                after = len(emulator.bot_messages)
                started = time.perf_counter()
                photo = photo_bytes(1000 + index, side=480)
                emulator.send_photo(user, photo, caption="/tag", language_code="en")
                await emulator.wait_for_message(  # the progress message, edited into tags
                    lambda r, u=user: r["chat_id"] == u and "•" in (r["text"] or ""),
                    after=after,
                    timeout=180,
                )
                if index:  # the first one loads CLIP in the worker
                    times.append(time.perf_counter() - started)
                await asyncio.sleep(0.3)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
            log.close()
    return times


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
        one = bare_one(weights, photos[0], args.overhead_repeat)
        e2e = asyncio.run(bot_overhead(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    how = f"{FULL_CLIP}, CPU, {threads} torch thread(s)"
    e2e_median = statistics.median(e2e)
    ratio = service / rates[best_batch]
    overhead = e2e_median / one
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
        Row(
            "P4",
            "bot e2e /tag (update -> tags message) / bare decode+tag",
            f"{e2e_median * 1000:.0f} / {one * 1000:.0f} ms = {overhead:.2f}x",
            "<= 1.15x",
            overhead <= 1.15,
            f"{how}; bot process + worker process vs emulator over HTTP, median of {len(e2e)}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))


if __name__ == "__main__":
    main()
