"""S1, catalogues (issue 18): set throughput against the same photos sent one by one.

The bot as a subprocess (``python -m bot``, its model worker in a process of its own)
against the tests' Bot API emulator. For Tags (the full-size CLIP ViT-B/32 architecture,
random weights) and for a colour background (``white``; tiny ISNet + SAM: the full-size
graphs are not buildable here) over N photos (default 50, 480 px):

- as a set: N image files sent in a burst, then ``/all tag`` (``/all background white``)
  once the set's message says N; photos per second from the first file sent to the ZIP's
  arrival (every result is in it, the albums and the summary came before it);
- one by one: other N photos (no cache hit), each sent with its own caption ``/tag``
  (``/background white``), at most QUEUE_MAX_PER_USER (20) waiting at a time, as the bot
  allows one user; photos per second from the first photo sent to the last result.

Each mode runs twice, in the order one by one, set, set, one by one (ABBA, other photos and
users each time), and its rate is over both: the shared 2-core machine's load drifts within
a minute, and with one run of each the drift, not the bot, decided the ratio (0.86-1.14x
on main, the worker never idle between batches in either mode).

Both include the photos' upload and intake. What only the set pays: every photo's intake
before its first job (one by one overlaps them with the work), the set's message settling
on N (SET_MESSAGE_QUIET_S after the last photo, bot/sets/collector.py), the command, and
after the last job the last album and the ZIP. What only one by one pays: a message per
photo (received, queued, the result itself). Different photos per mode: the result cache
would answer a repeat. The target is 1.0x: a set is the same work, never slower (issue 31).

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/sets.py [--sets-n 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_process import running_bot  # noqa: E402
from benchmarks.table import Row, markdown  # noqa: E402

Json = dict[str, Any]
PER_USER = 20
#: op -> (the /all command for the set, the caption for one photo, a finished result)
OPS: dict[str, tuple[str, str, Callable[[Json], bool]]] = {
    "tag": ("/all tag", "/tag", lambda r: "•" in (r["text"] or "")),
    "background": (
        "/all background white",
        "/background white",
        lambda r: r["method"] == "sendPhoto" and bool(r["reply_markup"]),
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sets-n", type=int, default=50, help="photos per set")
    parser.add_argument("--sets-side", type=int, default=480, help="photo side, px")


async def _as_set(emulator: Any, user: int, photos: list[bytes], command: str) -> float:
    from tests.set_photos import is_set_message, is_zip

    def mine(check: Callable[[Json], bool]) -> Callable[[Json], bool]:
        return lambda r: r["chat_id"] == user and check(r)

    after = len(emulator.bot_messages)
    started = time.perf_counter()
    for index, data in enumerate(photos):
        emulator.send_document(user, data, f"p{index:03d}.jpg", "image/jpeg", language_code="en")
    await emulator.wait_for_message(mine(is_set_message(len(photos))), after=after, timeout=300)
    emulator.send_text(user, command, language_code="en")
    await emulator.wait_for_message(mine(is_zip), after=after, timeout=1800)
    return time.perf_counter() - started


async def _one_by_one(
    emulator: Any, user: int, photos: list[bytes], caption: str, done: Callable[[Json], bool]
) -> float:
    after = len(emulator.bot_messages)
    started = time.perf_counter()

    def finished() -> int:
        return sum(r["chat_id"] == user and done(r) for r in emulator.bot_messages[after:])

    for index, data in enumerate(photos):
        if index - finished() >= PER_USER:  # the bot takes 20 waiting jobs from one user
            await emulator.wait_for_messages(  # (a result may be an edit of an older message)
                lambda r: r["chat_id"] == user and done(r),
                index - PER_USER + 1,
                after=after,
                timeout=600,
            )
        emulator.send_photo(user, data, caption=caption, language_code="en")
    await emulator.wait_for_messages(
        lambda r: r["chat_id"] == user and done(r), len(photos), after=after, timeout=1800
    )
    return time.perf_counter() - started


async def _throughputs(args: argparse.Namespace, workdir: Path) -> dict[str, tuple[float, float]]:
    from benchmarks.loop_latency import StampedEmulator, photo_bytes

    n, side = args.sets_n, args.sets_side
    out: dict[str, tuple[float, float]] = {}
    async with StampedEmulator() as emulator:
        settings = {"CLIP_RUNTIME": "torch", "QUEUE_MAX_PER_USER": str(PER_USER)}
        async with running_bot(emulator, workdir, workdir / "weights", settings):
            for number, (op, (command, caption, done)) in enumerate(OPS.items()):
                warm = 990 + number  # the first job of an op loads its models: not counted
                emulator.send_photo(warm, photo_bytes(9990 + number, side), caption=caption)
                await emulator.wait_for_message(
                    lambda r, u=warm, d=done: r["chat_id"] == u and d(r), timeout=600
                )
                seeds = 10_000 * (number + 1)
                photos = [
                    [photo_bytes(seeds + 2500 * k + i, side) for i in range(n)]
                    for k in (0, 1, 2, 3)
                ]
                # ABBA: one by one, a set, a set, one by one (other photos and users each
                # time): the shared machine's load drifts within a minute, and in one AB
                # pair the drift decides the ratio; in ABBA a linear drift cancels out
                one = await _one_by_one(emulator, 1000 + number, photos[0], caption, done)
                together = await _as_set(emulator, 2000 + number, photos[1], command)
                together += await _as_set(emulator, 3000 + number, photos[2], command)
                one += await _one_by_one(emulator, 4000 + number, photos[3], caption, done)
                out[op] = (2 * n / together, 2 * n / one)
    return out


def measure(args: argparse.Namespace) -> list[Row]:
    from benchmarks.batching import full_size_clip
    from services.conversion import write_tiny

    workdir = Path(tempfile.mkdtemp(prefix="vitrina-sets-"))
    try:
        write_tiny(workdir / "weights")
        full_size_clip(workdir / "weights" / "clip")
        rates = asyncio.run(_throughputs(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    how = {
        "tag": "full-size CLIP ViT-B/32 (random weights), torch",
        "background": "tiny ISNet + SAM (colour: white)",
    }
    rows = []
    for op, (together, one) in rates.items():
        rows.append(
            Row(
                "S1",
                f"{op} over {args.sets_n} photos: as a set / one by one, photos/s",
                f"{together:.2f} / {one:.2f} = {together / one:.2f}x",
                ">= 1.0x",
                together >= one,  # the same work: a set must not be slower
                f"{how[op]}; bot process + worker process vs emulator, {args.sets_side} px, "
                f"CPU, {threads} torch thread(s); from the first photo sent to the ZIP / to "
                f"the last result; one by one keeps {PER_USER} waiting; ABBA, each mode twice",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))


if __name__ == "__main__":
    main()
