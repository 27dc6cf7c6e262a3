"""Memory soak: the real bot process against the Bot API emulator, tiny random weights, a
fixed number of mixed jobs from 20 users, the RSS of the bot and of its model worker
sampled every N jobs. The line must be flat after warm-up.

The mix, in a fixed cycle of 20 requests: new photos to tag (6), to put on a colour
background (3), to describe (2) and to edit (/night, 2 steps; 2); the same photo and choice
again, answered from the result cache (tag 2, background 1, describe 1); bad inputs (a
broken JPEG, a 16 px image, a text file; 3). Every user has one request in flight at a
time; a request counts as done when its job is settled in SQLite (delivered, or failed)
or, for a bad input, when its refusal arrives.

    PYTHONPATH=$PWD python benchmarks/soak.py --jobs 2000 --every 100   # make soak
    PYTHONPATH=$PWD python benchmarks/soak.py --jobs 300 --every 50     # the test's run

Prints the samples and the growth between `--from` jobs and the end; `--out` writes
the table as markdown (make soak: benchmarks/SOAK.md).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.conversion import write_tiny  # noqa: E402
from tests.emulator import BotAPIEmulator  # noqa: E402

USERS = 20
#: one cycle of the mix: (kind, caption); "again" resends an earlier photo of that caption
MIX: tuple[tuple[str, str], ...] = (
    ("new", "/tag"),
    ("new", "/background pink"),
    ("new", "/tag"),
    ("again", "/tag"),
    ("new", "/describe"),
    ("broken", "/tag"),
    ("new", "/night"),
    ("new", "/tag"),
    ("new", "/background #30a0ff"),
    ("again", "/background pink"),
    ("new", "/tag"),
    ("tiny", "/tag"),
    ("new", "/describe"),
    ("again", "/describe"),
    ("new", "/tag"),
    ("new", "/night"),
    ("text", "/tag"),
    ("new", "/background white"),
    ("again", "/tag"),
    ("new", "/tag"),
)
SETTLED = "j.delivered = 1 OR j.status IN ('failed', 'cancelled')"


def photo_bytes(seed: int, side: int = 384) -> bytes:
    """A JPEG with some structure (an object on a gradient, noise), new for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side]
    base = np.stack([x * 255 / side, y * 255 / side, (x + y) * 127 / side], axis=-1)
    cx, cy, r = rng.integers(side // 4, 3 * side // 4, 2).tolist() + [side // 5]
    inside = (x - cx) ** 2 + (y - cy) ** 2 < r**2
    base[inside] = rng.integers(0, 255, 3)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def rss_kb(pid: int | None) -> int | None:
    """Resident memory of a process (psutil when installed, else /proc)."""
    if pid is None:
        return None
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss // 1024)
    except ImportError:
        pass
    except Exception:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def worker_pid(bot_pid: int) -> int | None:
    """The model worker: the bot's child started by multiprocessing's spawn (not its
    resource tracker)."""
    for children in Path(f"/proc/{bot_pid}/task").glob("*/children"):
        for child in children.read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                return int(child)
    return None


@dataclass
class Sample:
    jobs: int
    seconds: float
    bot_kb: int | None
    worker_kb: int | None


@dataclass
class Soak:
    """The driver: sends requests, notices when each is done, samples memory."""

    emulator: BotAPIEmulator
    database: Path
    bot_pid: int
    total: int
    every: int
    samples: list[Sample] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    done: int = 0
    _jobs: dict[tuple[int, int], asyncio.Future[None]] = field(default_factory=dict)
    _replies: dict[tuple[int, int], asyncio.Future[None]] = field(default_factory=dict)
    _seen: int = 0  # bot_messages already looked at
    _low: int = 0  # every job up to this id is settled
    _sent: dict[str, list[bytes]] = field(default_factory=dict)  # caption -> photos sent
    _started: float = field(default_factory=time.monotonic)

    async def run(self) -> None:
        self.sample()  # before any job: after start-up
        watcher = asyncio.create_task(self._watch())
        numbers = itertools.count()
        try:
            await asyncio.gather(*(self._user(7000 + u, numbers) for u in range(USERS)))
        finally:
            watcher.cancel()

    def sample(self) -> None:
        self.samples.append(
            Sample(
                self.done,
                time.monotonic() - self._started,
                rss_kb(self.bot_pid),
                rss_kb(worker_pid(self.bot_pid)),
            )
        )

    async def _user(self, user_id: int, numbers: itertools.count[int]) -> None:
        user = self.emulator.user(user_id, "en")
        while (number := next(numbers)) < self.total:
            kind, caption = MIX[number % len(MIX)]
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            if kind in ("new", "again"):
                earlier = self._sent.setdefault(caption, [])
                data = earlier[-1] if kind == "again" and earlier else photo_bytes(number)
                sent = user.send_photo(data, caption=caption)
                earlier[:] = [data]
                self._jobs[(user_id, sent["message_id"])] = future
            else:
                if kind == "broken":
                    data = photo_bytes(number)
                    sent = user.send_document(data[: len(data) // 3], "broken.jpg", "image/jpeg")
                elif kind == "tiny":
                    sent = user.send_photo(tiny_png(), caption=caption)
                else:
                    sent = user.send_document(b"not a photo\n" * 20, "notes.txt", "text/plain")
                self._replies[(user_id, sent["message_id"])] = future
            try:
                await asyncio.wait_for(future, 180)
                outcome = kind
            except TimeoutError:
                outcome = f"{kind}: timed out"
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            self.done += 1
            if self.done % self.every == 0:
                self.sample()

    async def _watch(self) -> None:
        """Bad inputs: their reply arrived; jobs: settled in SQLite."""
        while True:
            records = self.emulator.bot_messages
            for record in records[self._seen :]:
                key = (record["chat_id"], record["reply_to_message_id"])
                future = self._replies.pop(key, None)
                if future is not None and not future.done():
                    future.set_result(None)
            self._seen = len(records)
            if self._jobs:
                for key in self._settled():
                    future = self._jobs.pop(key, None)
                    if future is not None and not future.done():
                        future.set_result(None)
            await asyncio.sleep(0.05)

    def _settled(self) -> list[tuple[int, int]]:
        try:
            with sqlite3.connect(self.database, timeout=1) as db:
                rows = db.execute(
                    "SELECT j.id, p.chat_id, p.message_id, "
                    f"({SETTLED}) FROM jobs j JOIN photos p ON p.id = j.photo_id "
                    "WHERE j.id > ? ORDER BY j.id",
                    (self._low,),
                ).fetchall()
        except sqlite3.OperationalError:  # busy, or not created yet: next time
            return []
        open_ids = [row[0] for row in rows if not row[3]]
        self._low = (min(open_ids) - 1) if open_ids else (rows[-1][0] if rows else self._low)
        return [(row[1], row[2]) for row in rows if row[3]]


def bot_env(emulator: BotAPIEmulator, weights: Path, database: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "WEIGHTS_DIR"} | {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "WEIGHTS_DIR": str(weights),
        "DATABASE_PATH": str(database),
        "PYTHONPATH": str(ROOT),
        "DEVICE": "cpu",
        "MODEL_WORKER": "process",
        "LOG_LEVEL": "WARNING",
        "EDIT_STEPS": "2",
        "EDIT_MAX_SIDE": "64",
        "RATE_LIMIT_PER_MINUTE": "0",  # 20 users at machine speed: no flood control
        "SET_WINDOW_S": "0",  # every photo its own request, never a set
        "PROGRESS_INTERVAL_S": "1",
        "OMP_NUM_THREADS": "1",
    }


@dataclass
class Result:
    samples: list[Sample]  # the first before any job
    outcomes: dict[str, int]  # requests by kind
    jobs: dict[str, int]  # "op status" -> job rows

    def summary(self) -> str:
        requests = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        jobs = ", ".join(f"{k} {v}" for k, v in sorted(self.jobs.items()))
        return f"Requests: {requests}.\nJobs: {jobs}."


async def soak(jobs: int, every: int, workdir: Path, weights: Path | None = None) -> Result:
    """Run the bot for `jobs` requests."""
    if weights is None:
        weights = workdir / "weights"
        write_tiny(weights)
    database = workdir / "data" / "vitrina.sqlite3"
    async with BotAPIEmulator() as emulator:
        log = (workdir / "bot.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=workdir,
            env=bot_env(emulator, weights, database),
            stdout=log,
            stderr=log,
        )
        try:
            emulator.user(1, "en").send_text("/start")
            await emulator.wait_for_message(lambda r: r["chat_id"] == 1, timeout=120)
            driver = Soak(emulator, database, process.pid, jobs, every)
            await driver.run()
            await asyncio.sleep(0)
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()
            log.close()
    failures = {k: v for k, v in driver.outcomes.items() if "timed out" in k}
    if failures:
        raise RuntimeError(f"requests not answered: {failures}; see {workdir / 'bot.log'}")
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT op, status, COUNT(*) FROM jobs GROUP BY op, status")
        counted = {f"{op} {status}": count for op, status, count in rows}
    return Result(driver.samples, driver.outcomes, counted)


def at(samples: list[Sample], jobs: int) -> Sample:
    """The first sample taken at or after `jobs` done."""
    return next(s for s in samples if s.jobs >= jobs)


def growth(samples: list[Sample], start: int, attribute: str) -> float:
    first, last = getattr(at(samples, start), attribute), getattr(samples[-1], attribute)
    return (last - first) / first if first and last else float("nan")


def table(samples: list[Sample]) -> str:
    lines = ["| jobs | seconds | bot RSS (MB) | worker RSS (MB) |", "|---|---|---|---|"]
    for s in samples:
        bot = f"{s.bot_kb / 1024:.1f}" if s.bot_kb else "-"
        worker = f"{s.worker_kb / 1024:.1f}" if s.worker_kb else "-"
        lines.append(f"| {s.jobs} | {s.seconds:.0f} | {bot} | {worker} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--every", type=int, default=100, help="sample RSS every N jobs")
    parser.add_argument("--from", dest="start", type=int, default=200, help="warm-up: jobs")
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--out", type=Path, default=None, help="write the table (markdown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vitrina-soak-") as folder:
        result = asyncio.run(soak(args.jobs, args.every, Path(folder)))
    samples = result.samples
    bot, worker = growth(samples, args.start, "bot_kb"), growth(samples, args.start, "worker_kb")
    report = (
        f"{table(samples)}\n\nGrowth from job {args.start} to job {samples[-1].jobs}: "
        f"bot {bot:+.1%}, worker {worker:+.1%} (bound {args.max_growth:.0%}).\n\n"
        f"{result.summary()}\n"
    )
    print(report)
    if args.out is not None:
        command = f"python benchmarks/soak.py --jobs {args.jobs} --every {args.every}"
        args.out.write_text(
            f"# Memory soak\n\n`{command}` ({os.cpu_count()} CPUs, tiny weights, "
            f"MODEL_WORKER=process, {USERS} users)\n\n{report}"
        )
    return 0 if max(bot, worker) < args.max_growth else 1


if __name__ == "__main__":
    sys.exit(main())
