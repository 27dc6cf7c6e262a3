"""Message edits at most once per interval, the latest state always shown: the set's count
while photos arrive, a run's «7/18». With `quiet`, a burst of pokes is shown once it
settles (no poke for `quiet` seconds) rather than at its first poke: the edit that shows
the burst's last state then comes `quiet` after it, not a whole interval after an edit
that showed it half-way (issue 31: a set of 50 said "44" for a second). `quiet` may be a
function: the set's message waits less once every photo that arrived is stored, and
`wake()` says that it changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

Quiet = float | Callable[[], float]

log = logging.getLogger("vitrina.bot")


class Throttle:
    """`poke()` says the state changed; `show()` runs at most once per `interval` seconds,
    and once more after the last poke. With `quiet` > 0 a show also waits until no poke
    came for `quiet` seconds, but never more than `interval` after the first poke it shows
    (pokes that never stop are still shown once per interval)."""

    def __init__(
        self, interval: float, show: Callable[[], Awaitable[None]], *, quiet: Quiet = 0.0
    ) -> None:
        self.interval = interval
        self.quiet = quiet
        self.show = show
        self._changed = asyncio.Event()  # a poke or a wake: the wait is worked out again
        self._dirty = False
        self._last = float("-inf")
        self._first = float("-inf")  # the first poke not shown yet
        self._latest = float("-inf")  # the latest poke
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        now = time.monotonic()
        if not self._dirty:
            self._first = now
        self._latest = now
        self._dirty = True
        self._changed.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        """What `quiet` answers may have changed: a pending show works out its wait again."""
        self._changed.set()

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
                while (wait := self._wait()) > 0:  # the throttle itself: the edit may wait
                    self._changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), wait)
                self._dirty = False
                try:
                    await self.show()
                except Exception:  # an edit is a courtesy: the next one may go through
                    log.exception("a throttled message edit failed")
                self._last = time.monotonic()
        finally:
            self._task = None

    def _wait(self) -> float:
        """Seconds until the next show may run (<= 0: now)."""
        wait = self._last + self.interval
        quiet = self.quiet() if callable(self.quiet) else self.quiet
        if quiet > 0:  # a burst: once it settles, or an interval after it began
            wait = max(wait, min(self._latest + quiet, self._first + self.interval))
        return wait - time.monotonic()
