"""Issue 10: /tag burst throughput with 1 vs 2 `vitrina worker` processes over Redis, and
the latency the Redis path adds to one job over the in-process worker.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/scaleout.py [--photos 32] \\
        [--repeat 10] [--tiny] [--device cuda] [--fp16]

Everything runs here: a real redis-server (Debian's) on a free loopback port, the service
layer of the bot (`ModelServices`, the scheduler the bot uses) and worker subprocesses with
one torch thread each. CLIP ViT-B/32 full-size architecture with random weights (or
`--tiny`). On CUDA, fp16 is what the model classes already pick on a GPU (issue 9, P6);
`--fp16` is accepted for symmetry with the other scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.batching import _photos, full_size_clip  # noqa: E402
from benchmarks.table import Row, markdown  # noqa: E402
from services.config import ServiceConfig  # noqa: E402
from services.conversion import write_tiny  # noqa: E402
from services.jobs import JobRequest  # noqa: E402
from services.scheduler import ModelServices  # noqa: E402
from tests.redis_server import (  # noqa: E402
    redis_server,
    start_worker,
    stop_worker,
    wait_for_workers,
)


async def one_job_s(configs: list[ServiceConfig], photo: Path, repeat: int) -> list[float]:
    """Median seconds of one /tag submitted alone, per config; the configs take turns job by
    job (after a warm-up job each), so a noisy machine weighs on both alike."""
    async with contextlib.AsyncExitStack() as stack:
        services = [await stack.enter_async_context(ModelServices(c)) for c in configs]
        for service in services:
            await service.submit(JobRequest("tag", 1, photo)).result()
        times: list[list[float]] = [[] for _ in services]
        for _ in range(repeat):
            for service, samples in zip(services, times, strict=True):
                started = time.perf_counter()
                await service.submit(JobRequest("tag", 1, photo)).result()
                samples.append(time.perf_counter() - started)
    return [statistics.median(samples) for samples in times]


async def burst_per_s(config: ServiceConfig, photos: list[Path], repeat: int) -> tuple[float, str]:
    """Best jobs/s of a burst (every photo a /tag from a user of its own, all at once), and
    how many batches each worker answered."""
    async with ModelServices(config) as services:
        await services.submit(JobRequest("tag", 1, photos[0])).result()  # every worker warm:
        await asyncio.gather(
            *(services.submit(JobRequest("tag", i, p)).result() for i, p in enumerate(photos))
        )
        best = 0.0
        for _ in range(repeat):
            started = time.perf_counter()
            handles = [services.submit(JobRequest("tag", i, p)) for i, p in enumerate(photos)]
            await asyncio.gather(*(h.result() for h in handles))
            best = max(best, len(photos) / (time.perf_counter() - started))
        answered = getattr(services.engine, "answered_by", {})
    return best, ", ".join(f"{w}: {n} batches" for w, n in sorted(answered.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=10, help="single-job latency samples")
    parser.add_argument("--bursts", type=int, default=3, help="bursts per worker count")
    parser.add_argument("--tiny", action="store_true", help="tiny CLIP instead of full-size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="vitrina-scaleout-") as tmp:
        workdir = Path(tmp)
        weights = workdir / "weights"
        weights.mkdir()
        write_tiny(weights)
        if args.tiny:
            how = "tiny CLIP"
        else:
            full_size_clip(weights / "clip")  # replaces the tiny one
            how = "full-size CLIP ViT-B/32, random weights"
        how += f", {args.device}, 1 torch thread per worker"
        photos = _photos(workdir, args.photos)
        local = ServiceConfig(weights, device=args.device, worker="process", batch_window_ms=5)
        with redis_server(workdir / "redis") as url:
            remote = ServiceConfig(weights, device=args.device, batch_window_ms=5, backend=url)
            workers = [start_worker(url, weights, "bench-1", ops="tag", device=args.device)]
            try:
                await asyncio.to_thread(wait_for_workers, url, {"bench-1"}, 120, tuple(workers))
                local_s, redis_s = await one_job_s([local, remote], photos[0], args.repeat)
                one, one_spread = await burst_per_s(remote, photos, args.bursts)
                workers.append(
                    start_worker(url, weights, "bench-2", ops="tag", device=args.device)
                )
                await asyncio.to_thread(wait_for_workers, url, {"bench-2"}, 120, tuple(workers))
                two, two_spread = await burst_per_s(remote, photos, args.bursts)
            finally:
                for worker in workers:
                    stop_worker(worker)
    n = args.photos
    rows = [
        Row(
            "S1",
            f"/tag burst of {n} photos, 1 worker",
            f"{one:.1f} jobs/s",
            note=f"{how}; {one_spread}",
        ),
        Row(
            "S1",
            f"/tag burst of {n} photos, 2 workers",
            f"{two:.1f} jobs/s",
            note=f"{how}; {two_spread}",
        ),
        Row("S1", "2 workers / 1 worker", f"{two / one:.2f}x", note="same run"),
        Row(
            "S2",
            "one /tag, in-process worker (MODEL_WORKER=process)",
            f"{local_s * 1e3:.0f} ms",
            note=f"median of {args.repeat}, taking turns with the next row",
        ),
        Row(
            "S2",
            "one /tag, Redis + 1 vitrina worker",
            f"{redis_s * 1e3:.0f} ms",
            note=f"median of {args.repeat}",
        ),
        Row(
            "S2",
            "added by the Redis path",
            f"{(redis_s - local_s) * 1e3:+.0f} ms",
            note=f"{redis_s / local_s:.2f}x",
        ),
    ]
    print(markdown(rows))


if __name__ == "__main__":
    main()
