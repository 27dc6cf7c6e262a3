"""Message edits at most once per interval, the latest state always shown: the set's count
while photos arrive, a run's «7/18»."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("vitrina.bot")


class Throttle:
    """`poke()` says the state changed; `show()` runs at most once per `interval` seconds,
    and once more after the last poke."""

    def __init__(self, interval: float, show: Callable[[], Awaitable[None]]) -> None:
        self.interval = interval
        self.show = show
        self._dirty = False
        self._last = float("-inf")
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._dirty = True
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def settle(self) -> None:
        """Wait until what was poked has been shown."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def discard(self) -> None:
        """Cancel a pending show without waiting (its owner is being cancelled itself)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def _run(self) -> None:
        try:
            while self._dirty:  # no await between this check and `finally`: no poke is lost
                wait = self._last + self.interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # the throttle itself: the next edit may wait
                self._dirty = False
                try:
                    await self.show()
                except Exception:  # an edit is a courtesy: the next one may go through
                    log.exception("a throttled message edit failed")
                self._last = time.monotonic()
        finally:
            self._task = None
