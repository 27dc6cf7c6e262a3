"""Shared fixtures: real photos, tiny weights, the Bot API emulator and the running bot."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from bot.app import Application
from bot.settings import settings_from_mapping
from services.conversion import write_tiny
from tests.emulator import BotAPIEmulator
from tests.redis_server import redis_server


def encode(array: np.ndarray, fmt: str = "JPEG", max_side: int = 320) -> bytes:
    image = Image.fromarray(array)
    image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """Real photographs shipped with scikit-image, as small JPEG/PNG files."""
    return {
        "coffee": encode(skdata.coffee()),
        "chelsea": encode(skdata.chelsea()),
        "astronaut": encode(skdata.astronaut()),
        "rocket": encode(skdata.rocket(), "PNG"),
    }


@pytest.fixture(scope="session")
def broken_jpeg(photos: dict[str, bytes]) -> bytes:
    return photos["coffee"][: len(photos["coffee"]) // 3]


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    write_tiny(folder)
    return folder


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the scale-out tests (SERVICE_BACKEND=redis://)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emu:
        yield emu


StartBot = Callable[..., Awaitable[Application]]


@pytest.fixture
async def start_bot(
    emulator: BotAPIEmulator, tiny_weights: Path, tmp_path: Path
) -> AsyncIterator[StartBot]:
    """Start the real application against the emulator; stopped at teardown."""
    running: list[tuple[Application, asyncio.Task[None]]] = []

    async def start(**overrides: str) -> Application:
        values = {
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.base_url,
            "WEIGHTS_DIR": str(tiny_weights),
            "DATABASE_PATH": str(tmp_path / "data" / "vitrina.sqlite3"),
            "DEVICE": "cpu",
            "PROGRESS_INTERVAL_S": "0",
            # the progress message at once, as the tests of it expect (test_quick_jobs.py:
            # the delay that spares a quick job its progress message)
            "PROGRESS_DELAY_S": "0",
            "LOG_LEVEL": "DEBUG",
            # The worker's contract is tested on both engines (test_worker.py) and the bot
            # with a worker process end to end (test_e2e_worker.py); here a thread spares
            # every test the seconds a process needs to import torch.
            "MODEL_WORKER": "thread",
        } | overrides
        app = Application(settings_from_mapping(values))
        calls_before = len(emulator.calls)
        task = asyncio.create_task(app.run(handle_signals=False))
        running.append((app, task))
        # taking updates has begun once the bot asks for them or sets its webhook (or the
        # bot stopped: its error)
        method = "setWebhook" if values.get("WEBHOOK_URL") else "getUpdates"
        polled = asyncio.ensure_future(emulator.wait_for_calls(method, after=calls_before))
        await asyncio.wait({polled, task}, return_when=asyncio.FIRST_COMPLETED)
        if not polled.done():
            polled.cancel()
            task.result()
            raise AssertionError("the bot stopped before it polled for updates")
        polled.result()  # EmulatorTimeout after 10 s: the bot did not start polling
        return app

    yield start
    for app, task in running:
        if not task.done():
            with contextlib.suppress(RuntimeError):
                await app.stop()
        await asyncio.wait_for(task, 15)
