"""The bot as a subprocess (``python -m bot``, its model worker in a process of its own)
against the tests' Bot API emulator: what the end-to-end benchmarks time from outside."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def running_bot(
    emulator: Any, workdir: Path, weights: Path, settings: Mapping[str, str] = {}
) -> AsyncIterator[None]:
    """The bot on `emulator` with its database and files in `workdir`, its models from
    `weights`; `settings` on top (environment variables). Stopped with SIGTERM on exit,
    its log in `workdir`/bot.log."""
    env = {k: v for k, v in os.environ.items() if k != "WEIGHTS_DIR"} | {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "WEIGHTS_DIR": str(weights),
        "DATABASE_PATH": str(workdir / "db.sqlite3"),
        "DEVICE": "cpu",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        "PROGRESS_INTERVAL_S": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    with (workdir / "bot.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=workdir,
            env=env | dict(settings),
            stdout=log,
            stderr=log,
        )
        try:
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
