"""Per-user flood control: a token bucket per user, one polite "slow down" per burst. Photos
and image files are never dropped here: a catalogue comes as a burst of them, and the set
collector bounds them instead (MAX_UNPROCESSED_PHOTOS, bot/sets/collector.py)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.intake import has_image
from bot.texts import language_of, t

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class TokenBucket:
    """`take()` is True at most `rate` times a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def full(self) -> bool:
        self._refill()
        return self._tokens >= self.burst


class _UserState:
    __slots__ = ("bucket", "warned")

    def __init__(self, rate: float, burst: float) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.warned = False


class RateLimitMiddleware(BaseMiddleware):
    """Drops a user's updates beyond `per_minute` on average (`burst` at once), except
    photos and image files, which pass without taking a token (nothing the user sent to be
    processed is lost; text and buttons after a burst of photos are not refused for it).

    The first update refused in a burst gets one "slow down" answer; the rest of the burst
    is dropped silently, so a flood costs us one message, not one per message. Registered
    before the user middleware: a flood never reaches the database. Other users are never
    slowed: the state is per user and the check is O(1).
    """

    MAX_TRACKED = 10_000

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._users: dict[int, _UserState] = {}
        self.refused = 0

    def _state(self, user_id: int) -> _UserState:
        state = self._users.get(user_id)
        if state is None:
            if len(self._users) >= self.MAX_TRACKED:  # forget users who are idle again
                self._users = {k: v for k, v in self._users.items() if not v.bucket.full}
            state = self._users[user_id] = _UserState(self.rate, self.burst)
        return state

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = getattr(event, "from_user", None)
        if self.rate <= 0 or sender is None or sender.is_bot:
            return await handler(event, data)
        if isinstance(event, Message) and has_image(event):
            return await handler(event, data)
        state = self._state(sender.id)
        if state.bucket.take():
            state.warned = False
            return await handler(event, data)
        self.refused += 1
        lang = language_of(sender.language_code)
        # Decide before any await: updates are handled concurrently, and a burst's messages
        # must not all see "not warned yet".
        warn = isinstance(event, CallbackQuery) or (
            not state.warned and isinstance(event, Message)
        )  # a button press is always answered: its spinner waits
        state.warned = True
        if warn:
            with contextlib.suppress(TelegramAPIError):
                await event.answer(t(lang, "flood.slow_down"))  # type: ignore[union-attr]
        return None
