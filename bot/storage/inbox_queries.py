"""Queries on `inbox`: every update stored before Telegram is told it arrived, and marked
done once its handler has finished (or failed for good); done rows go after a day.

An update is kept as Telegram sent it only while it is not handled (a replay needs it all:
the photo's file id, the caption, the command). Once handled, its payload is cut to its id
(`HANDLED_PAYLOAD`): no caption or text of a user stays in the inbox (issue 32)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.storage.connection import Connection
from bot.storage.rows import now

NEW, DONE, FAILED = "new", "done", "failed"
#: what a handled update keeps of its payload (SQL over the row)
HANDLED_PAYLOAD = "json_object('update_id', update_id)"


@dataclass(frozen=True)
class InboxRow:
    update_id: int
    payload: str  # the update's JSON as Telegram sent it (while it is not handled)
    attempts: int  # starts that found it not done (a replay is attempt 2, ...)


class InboxQueries(Connection):
    async def store_updates(self, updates: Sequence[tuple[int, str, int | None]]) -> list[int]:
        """Store (update id, JSON, user id) rows in ONE transaction; the ids that were new
        (one already stored, Telegram redelivering it, is left alone and not returned)."""
        if not updates:
            return []
        stamp = now()
        fresh: list[int] = []
        async with self._lock:
            for update_id, payload, user_id in updates:
                cursor = await self.db.execute(
                    "INSERT OR IGNORE INTO inbox (update_id, payload, user_id, received_at) "
                    "VALUES (?, ?, ?, ?)",
                    (update_id, payload, user_id, stamp),
                )
                if cursor.rowcount:
                    fresh.append(update_id)
            await self.db.commit()
        return fresh

    async def finish_update(self, update_id: int, *, failed: bool = False) -> None:
        async with self._lock:
            await self.db.execute(
                f"UPDATE inbox SET state = ?, done_at = ?, payload = {HANDLED_PAYLOAD} "
                "WHERE update_id = ?",
                (FAILED if failed else DONE, now(), update_id),
            )
            await self.db.commit()

    async def pending_updates(self, max_attempts: int) -> tuple[list[InboxRow], list[int]]:
        """At start: the updates not done, oldest first, each counted as one more attempt;
        and those given up (`max_attempts` starts saw them undone: an update that kills
        the process is not replayed forever), marked failed."""
        async with self._lock:
            await self.db.execute(
                "UPDATE inbox SET attempts = attempts + 1 WHERE state = ?", (NEW,)
            )
            async with self.db.execute(
                "SELECT update_id, payload, attempts FROM inbox WHERE state = ? "
                "ORDER BY update_id",
                (NEW,),
            ) as cursor:
                rows = [InboxRow(r[0], r[1], r[2]) for r in await cursor.fetchall()]
            given_up = [row.update_id for row in rows if row.attempts > max_attempts]
            if given_up:
                marks = ",".join("?" * len(given_up))
                await self.db.execute(
                    f"UPDATE inbox SET state = ?, done_at = ?, payload = {HANDLED_PAYLOAD} "
                    f"WHERE update_id IN ({marks})",
                    (FAILED, now(), *given_up),
                )
            await self.db.commit()
        return [row for row in rows if row.attempts <= max_attempts], given_up

    async def inbox_backlog(self) -> int:
        """Updates stored and not done yet."""
        async with self.db.execute("SELECT COUNT(*) FROM inbox WHERE state = ?", (NEW,)) as c:
            row = await c.fetchone()
        return int(row[0]) if row else 0

    async def inbox_state(self, update_id: int) -> str | None:
        async with self.db.execute(
            "SELECT state FROM inbox WHERE update_id = ?", (update_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    async def prune_inbox(self, before: datetime) -> int:
        """Done (and failed) rows finished before `before` go; undone rows always stay."""
        async with self._lock:
            cursor = await self.db.execute(
                "DELETE FROM inbox WHERE state != ? AND done_at < ?",
                (NEW, before.isoformat(timespec="milliseconds")),
            )
            await self.db.commit()
        return int(cursor.rowcount or 0)
