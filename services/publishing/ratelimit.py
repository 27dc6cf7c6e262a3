"""A token bucket shared by every request made with one marketplace token.

Wildberries limits the Content methods together per seller account: 100 requests a minute,
one every 600 ms, a burst of 5 (products YAML, "Лимит запросов"). A 429 pauses the whole
bucket for the seconds WB names (X-Ratelimit-Retry), so the other requests of that account
wait too instead of earning 429s of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

WB_BURST = 5
WB_INTERVAL_S = 0.6


@dataclass
class TokenBucket:
    burst: int = WB_BURST
    interval_s: float = WB_INTERVAL_S
    _tokens: float = field(default=-1.0, repr=False)
    _stamp: float = field(default=0.0, repr=False)
    _paused_until: float = field(default=0.0, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def _refill(self, now: float) -> None:
        if self._tokens < 0:  # first use: a full bucket
            self._tokens, self._stamp = float(self.burst), now
            return
        if self.interval_s > 0:
            self._tokens = min(
                float(self.burst), self._tokens + (now - self._stamp) / self.interval_s
            )
        else:
            self._tokens = float(self.burst)
        self._stamp = now

    async def acquire(self) -> None:
        """Wait until a request may go (one at a time through the lock: fair, in order)."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                now = loop.time()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._refill(now)
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) * self.interval_s)

    def pause(self, seconds: float) -> None:
        """WB said 429: nobody sends for `seconds`, and the bucket starts empty after."""
        loop = asyncio.get_running_loop()
        until = loop.time() + max(0.0, seconds)
        self._paused_until = max(self._paused_until, until)
        self._tokens, self._stamp = 0.0, self._paused_until


_BUCKETS: dict[tuple[int, str], TokenBucket] = {}


def bucket_for(
    token: str, burst: int = WB_BURST, interval_s: float = WB_INTERVAL_S
) -> TokenBucket:
    """The one bucket of this token in this event loop (keyed by the token's digest: the
    token itself is kept nowhere)."""
    key = (id(asyncio.get_running_loop()), hashlib.sha256(token.encode()).hexdigest())
    found = _BUCKETS.get(key)
    if found is None or (found.burst, found.interval_s) != (burst, interval_s):
        found = _BUCKETS[key] = TokenBucket(burst, interval_s)
    return found
