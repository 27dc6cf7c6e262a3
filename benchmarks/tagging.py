"""CPU timings of /tag with tiny random weights, measured in one run.

    .venv/bin/python benchmarks/tagging.py [--repeat 20]

Prints a table: a single /tag through the service layer (cold and warm), eight jobs
batched against eight run one by one, and one /tag end to end through the real bot and
the Bot API emulator (button press -> result message). Tiny weights make the model itself
nearly free, so these numbers are the plumbing's overhead, not CLIP's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402

from bot.app import Application  # noqa: E402
from bot.settings import settings_from_mapping  # noqa: E402
from services.config import ServiceConfig  # noqa: E402
from services.conversion import write_tiny  # noqa: E402
from services.jobs import JobRequest  # noqa: E402
from services.scheduler import ModelServices  # noqa: E402
from tests.emulator import BotAPIEmulator  # noqa: E402


def jpeg(array, side: int = 640) -> bytes:
    image = Image.fromarray(array)
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def service_timings(weights: Path, photo: Path, repeat: int) -> dict[str, float]:
    config = ServiceConfig(weights, device="cpu", worker="thread", batch_window_ms=0.0)
    async with ModelServices(config) as services:
        start = time.perf_counter()
        await services.submit(JobRequest("tag", 1, photo)).result()
        cold = time.perf_counter() - start
        singles = []
        for _ in range(repeat):
            start = time.perf_counter()
            await services.submit(JobRequest("tag", 1, photo)).result()
            singles.append(time.perf_counter() - start)
        one_by_one, batched = [], []
        for _ in range(max(3, repeat // 4)):
            start = time.perf_counter()
            for user in range(8):
                await services.submit(JobRequest("tag", user, photo)).result()
            one_by_one.append(time.perf_counter() - start)
            start = time.perf_counter()
            handles = [services.submit(JobRequest("tag", user, photo)) for user in range(8)]
            await asyncio.gather(*(h.result() for h in handles))
            batched.append(time.perf_counter() - start)
    return {
        "cold": cold,
        "warm": statistics.median(singles),
        "eight_one_by_one": statistics.median(one_by_one),
        "eight_batched": statistics.median(batched),
    }


async def bot_timing(weights: Path, photo: bytes, database: Path, repeat: int) -> float:
    async with BotAPIEmulator() as emulator:
        settings = settings_from_mapping(
            {
                "BOT_TOKEN": emulator.token,
                "TELEGRAM_API_URL": emulator.base_url,
                "WEIGHTS_DIR": str(weights),
                "DATABASE_PATH": str(database),
                "DEVICE": "cpu",
                "PROGRESS_INTERVAL_S": "0",
                "LOG_LEVEL": "WARNING",
            }
        )
        app = Application(settings)
        task = asyncio.create_task(app.run(handle_signals=False))
        user = emulator.user(1)
        sent = user.send_photo(photo)
        keyboard = await emulator.wait_for_message(
            lambda r: r["reply_to_message_id"] == sent["message_id"] and r["reply_markup"]
        )
        tag = next(d for _, d in emulator.buttons(keyboard) if d.endswith(":tag"))
        timings = []
        for _ in range(repeat + 1):  # the first press also loads the model: not counted
            before = len(emulator.bot_messages)
            start = time.perf_counter()
            user.press_button(keyboard, tag)
            await emulator.wait_for_message(lambda r: "•" in (r["text"] or ""), after=before)
            timings.append(time.perf_counter() - start)
        await app.stop()
        await task
    return statistics.median(timings[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tiny(root / "weights")
        photo_bytes = jpeg(skdata.coffee())
        photo = root / "coffee.jpg"
        photo.write_bytes(photo_bytes)
        service = asyncio.run(service_timings(root / "weights", photo, args.repeat))
        bot = asyncio.run(
            bot_timing(root / "weights", photo_bytes, root / "db.sqlite3", args.repeat // 2)
        )
    warm = service["warm"]
    rows = [
        ("service: first /tag (loads the model)", service["cold"]),
        ("service: one /tag, warm", warm),
        ("service: 8 jobs one by one", service["eight_one_by_one"]),
        ("service: 8 jobs submitted together (batched)", service["eight_batched"]),
        ("bot e2e: button press -> tags message", bot),
    ]
    sys.stdout.write(f"{'measurement (tiny CLIP, CPU)':<48} {'median s':>10} {'x warm':>8}\n")
    for name, seconds in rows:
        sys.stdout.write(f"{name:<48} {seconds:>10.4f} {seconds / warm:>8.2f}\n")
    ratio = service["eight_one_by_one"] / service["eight_batched"]
    sys.stdout.write(f"batching speed-up for 8 jobs: {ratio:.2f}x\n")


if __name__ == "__main__":
    main()
