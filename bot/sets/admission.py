"""The per-user limit on stored-but-unprocessed photos (MAX_UNPROCESSED_PHOTOS): flood control
lets every photo through, and this is what bounds them. Exact within a burst: the database
is counted when a burst begins and again before any photo would be refused (jobs may have
used photos meanwhile), plus what was stored and what is being stored since. Photos past
the limit are refused with one message per burst that names it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiogram.types import Message

from bot.jobs.delivery import SEND_ERRORS
from bot.storage import Storage
from bot.texts import tn

#: photos older than this no longer count as waiting to be processed
UNPROCESSED_WITHIN = timedelta(hours=24)


@dataclass
class Admission:
    """One user's count."""

    base: int = 0  # counted in the database
    stored: int = 0  # stored since
    in_flight: int = 0  # admitted, being downloaded and stored
    counted: float = float("-inf")
    last: float = float("-inf")
    told: bool = False  # told about the limit in this burst
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Admissions:
    #: past this many users, those idle for a burst are forgotten (a count is re-read from
    #: the database at a user's next burst anyway): the map stays as small as the active users
    MAX_TRACKED = 10_000

    def __init__(self, db: Storage, limit: int, burst_s: float) -> None:
        self.db = db
        self.limit = limit
        self.burst_s = burst_s
        self._users: dict[int, Admission] = {}

    async def admit(self, user_id: int, wanted: int) -> int:
        """How many of `wanted` images may be stored now (the first ones)."""
        if wanted == 0:
            return 0
        state = self._user(user_id)
        async with state.lock:
            now = time.monotonic()
            if now - state.last > self.burst_s:
                state.told = False  # a new burst
            state.last = now
            stale = state.in_flight == 0 and now - state.counted > self.burst_s
            if stale or self._room(state) < wanted:  # near the limit: jobs may have made room
                since = datetime.now(UTC) - UNPROCESSED_WITHIN
                state.base = await self.db.count_unprocessed(user_id, since)
                state.stored, state.counted = 0, now
            allowed = max(0, min(wanted, self._room(state)))
            state.in_flight += allowed
            return allowed

    def settle(self, user_id: int, *, stored: bool) -> None:
        """An admitted photo was stored (or refused by the intake checks)."""
        state = self._users.get(user_id)
        if state is not None and state.in_flight > 0:
            state.in_flight -= 1
            state.stored += int(stored)

    async def tell(self, user_id: int, message: Message, lang: str) -> None:
        """One answer per burst, naming the limit, to the first photo refused."""
        state = self._user(user_id)
        if state.told:
            return
        state.told = True
        with contextlib.suppress(*SEND_ERRORS):
            await message.reply(tn(lang, "set.too_many", self.limit, limit=self.limit))

    def _user(self, user_id: int) -> Admission:
        state = self._users.get(user_id)
        if state is None:
            if len(self._users) >= self.MAX_TRACKED:
                self._forget_idle()
            state = self._users[user_id] = Admission()
        return state

    def _forget_idle(self) -> None:
        now = time.monotonic()
        self._users = {
            user: state
            for user, state in self._users.items()
            if state.in_flight or state.lock.locked() or now - state.last <= self.burst_s
        }

    def _room(self, state: Admission) -> int:
        return self.limit - state.base - state.stored - state.in_flight
