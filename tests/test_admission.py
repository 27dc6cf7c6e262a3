"""The per-user admission map stays as small as the users active now: past MAX_TRACKED users,
those idle for longer than a burst are forgotten, and a forgotten user's count is read from
the database again at their next photo (nothing is lost by forgetting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sets.admission import Admissions
from bot.storage import Storage


async def test_idle_users_are_forgotten_and_counted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Admissions, "MAX_TRACKED", 3)
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        admissions = Admissions(db, limit=2, burst_s=0.0)  # every user idle at once
        for user in range(10):
            assert await admissions.admit(user, 1) == 1
            admissions.settle(user, stored=True)
        assert len(admissions._users) <= 3
        # a user still storing is never forgotten, however many others come
        busy = Admissions(db, limit=2, burst_s=0.0)
        busy.MAX_TRACKED = 1
        assert await busy.admit(100, 2) == 2  # in flight, not settled
        for user in range(5):
            await busy.admit(user, 1)
            busy.settle(user, stored=True)
        assert 100 in busy._users
        assert await busy.admit(100, 1) == 0  # its limit still holds
