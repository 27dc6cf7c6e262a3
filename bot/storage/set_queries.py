"""Queries on sets: photos sent together (`sets`, `set_photos`), an action run over a set
(`set_runs`) and each photo's place in it (`set_items`, pointing at ordinary `jobs` rows).

Everything a run needs after a restart is here: which photos are done (their jobs), which
results reached the user (`sent`), whether the summary and the ZIP went (`summary_sent`,
`zip_sent`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.storage.connection import Connection
from bot.storage.rows import Photo, fits, now, photo_from_row
from bot.storage.set_rows import (
    PhotoSet,
    RunStatus,
    SetItem,
    SetRun,
    item_from_row,
    run_from_row,
    set_from_row,
)

_ITEMS = """
SELECT i.*, m.status AS measure_status, m.error AS measure_error,
       j.status AS job_status, j.error AS job_error
FROM set_items i
LEFT JOIN jobs m ON m.id = i.measure_job_id
LEFT JOIN jobs j ON j.id = i.job_id
WHERE i.run_id = ? ORDER BY i.position
"""


class SetQueries(Connection):
    # ---- sets

    async def create_set(
        self,
        user_id: int,
        chat_id: int,
        members: list[tuple[int, str | None]],
        origin: str | None = None,
    ) -> PhotoSet:
        """A set with its first photos ((photo id, the document's file name)), in one
        transaction: an empty set is never seen. ``origin``: the update it was made for
        (unique; `set_by_origin`)."""
        async with self._lock:
            cursor = await self.db.execute(
                "INSERT INTO sets (user_id, chat_id, created_at, origin) VALUES (?, ?, ?, ?)",
                (user_id, chat_id, now(), origin),
            )
            set_id = int(cursor.lastrowid or 0)
            await self.db.executemany(
                "INSERT OR IGNORE INTO set_photos (set_id, photo_id, file_name) VALUES (?, ?, ?)",
                [(set_id, photo_id, name) for photo_id, name in members],
            )
            await self.db.commit()
        found = await self.get_set(set_id)
        assert found is not None
        return found

    async def add_to_set(self, set_id: int, photo_id: int, file_name: str | None) -> None:
        async with self._lock:
            await self.db.execute(
                "INSERT OR IGNORE INTO set_photos (set_id, photo_id, file_name) VALUES (?, ?, ?)",
                (set_id, photo_id, file_name),
            )
            await self.db.commit()

    async def set_by_origin(self, origin: str) -> PhotoSet | None:
        async with self.db.execute("SELECT * FROM sets WHERE origin = ?", (origin,)) as c:
            row = await c.fetchone()
        return set_from_row(row) if row else None

    async def get_set(self, set_id: int) -> PhotoSet | None:
        if not fits(set_id):  # forged callback data
            return None
        async with self.db.execute("SELECT * FROM sets WHERE id = ?", (set_id,)) as cursor:
            row = await cursor.fetchone()
        return set_from_row(row) if row else None

    async def last_set(self, user_id: int, chat_id: int) -> PhotoSet | None:
        """The user's newest set in this chat (`/all`)."""
        async with self.db.execute(
            "SELECT * FROM sets WHERE user_id = ? AND chat_id = ? ORDER BY id DESC LIMIT 1",
            (user_id, chat_id),
        ) as cursor:
            row = await cursor.fetchone()
        return set_from_row(row) if row else None

    async def set_members(self, set_id: int) -> list[tuple[Photo, str | None]]:
        """(photo, the document's file name) in the order they were sent; erased ones left out."""
        async with self.db.execute(
            "SELECT p.*, s.file_name AS set_file_name FROM set_photos s "
            "JOIN photos p ON p.id = s.photo_id WHERE s.set_id = ? AND p.deleted = 0 "
            "ORDER BY p.message_id, p.id",
            (set_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(photo_from_row(row), row["set_file_name"]) for row in rows]

    async def set_message(self, set_id: int, message_id: int | None) -> None:
        await self._update("sets", set_id, message_id=message_id)

    async def close_set(self, set_id: int) -> None:
        await self._update("sets", set_id, closed=1)

    async def count_unprocessed(self, user_id: int, since: datetime) -> int:
        """The user's photos stored since `since` that no job has used yet (the limit on
        stored-but-unprocessed photos: flood control never drops a photo)."""
        async with self.db.execute(
            "SELECT COUNT(*) FROM photos p WHERE p.user_id = ? AND p.deleted = 0 "
            "AND p.created_at >= ? AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.photo_id = p.id)",
            (user_id, since.isoformat(timespec="milliseconds")),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # ---- runs

    async def create_run(
        self,
        photo_set: PhotoSet,
        op: str,
        params: dict[str, Any],
        items: list[tuple[int, str]],
        origin: str | None = None,
    ) -> SetRun:
        """A run of `op` over `items` ((photo id, name), in order); the set is closed (photos
        sent later start a new set). One transaction. ``origin``: the update it was made for
        (unique; `run_by_origin`)."""
        async with self._lock:
            cursor = await self.db.execute(
                """INSERT INTO set_runs (set_id, user_id, chat_id, op, params, status, created_at,
                                         origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    photo_set.id,
                    photo_set.user_id,
                    photo_set.chat_id,
                    op,
                    json.dumps(params),
                    RunStatus.RUNNING,
                    now(),
                    origin,
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            await self.db.executemany(
                "INSERT INTO set_items (run_id, position, photo_id, name) VALUES (?, ?, ?, ?)",
                [(run_id, i, photo_id, name) for i, (photo_id, name) in enumerate(items, 1)],
            )
            await self.db.execute("UPDATE sets SET closed = 1 WHERE id = ?", (photo_set.id,))
            await self.db.commit()
        run = await self.get_run(run_id)
        assert run is not None
        return run

    async def run_by_origin(self, origin: str) -> SetRun | None:
        """The run made for this update already (it is handled again after a restart)."""
        async with self.db.execute("SELECT * FROM set_runs WHERE origin = ?", (origin,)) as c:
            row = await c.fetchone()
        return run_from_row(row) if row else None

    async def get_run(self, run_id: int) -> SetRun | None:
        if not fits(run_id):
            return None
        async with self.db.execute("SELECT * FROM set_runs WHERE id = ?", (run_id,)) as cursor:
            row = await cursor.fetchone()
        return run_from_row(row) if row else None

    async def unfinished_runs(self) -> list[SetRun]:
        """Runs a previous start left with photos to process or results to send."""
        async with self.db.execute(
            "SELECT * FROM set_runs WHERE status != ? ORDER BY id", (RunStatus.DONE,)
        ) as cursor:
            rows = await cursor.fetchall()
        return [run_from_row(row) for row in rows]

    async def run_items(self, run_id: int) -> list[SetItem]:
        async with self.db.execute(_ITEMS, (run_id,)) as cursor:
            rows = await cursor.fetchall()
        return [item_from_row(row) for row in rows]

    async def set_item_job(
        self, run_id: int, position: int, job_id: int, *, measure: bool = False
    ) -> None:
        column = "measure_job_id" if measure else "job_id"
        async with self._lock:
            await self.db.execute(
                f"UPDATE set_items SET {column} = ? WHERE run_id = ? AND position = ?",
                (job_id, run_id, position),
            )
            await self.db.commit()

    async def mark_items_sent(self, run_id: int, positions: list[int]) -> None:
        """These photos' results reached the user (their jobs count as delivered too)."""
        if not positions:
            return
        marks = ",".join("?" * len(positions))
        async with self._lock:
            await self.db.execute(
                f"UPDATE set_items SET sent = 1 WHERE run_id = ? AND position IN ({marks})",
                (run_id, *positions),
            )
            await self.db.execute(
                "UPDATE jobs SET delivered = 1 WHERE id IN (SELECT job_id FROM set_items "
                f"WHERE run_id = ? AND position IN ({marks}))",
                (run_id, *positions),
            )
            await self.db.commit()

    async def set_run_shared(self, run_id: int, shared: dict[str, Any]) -> None:
        await self._update("set_runs", run_id, shared=json.dumps(shared))

    async def set_run_progress_message(self, run_id: int, message_id: int | None) -> None:
        await self._update("set_runs", run_id, progress_message_id=message_id)

    async def set_run_status(self, run_id: int, status: RunStatus) -> None:
        finished = now() if status is RunStatus.DONE else None
        await self._update("set_runs", run_id, status=status.value, finished_at=finished)

    async def mark_summary_sent(self, run_id: int) -> None:
        await self._update("set_runs", run_id, summary_sent=1)

    async def mark_zip_sent(self, run_id: int) -> None:
        await self._update("set_runs", run_id, zip_sent=1)

    async def _update(self, table: str, row_id: int, **values: Any) -> None:
        """One row's columns (names from this module's code, never from input)."""
        columns = ", ".join(f"{name} = ?" for name in values)
        async with self._lock:
            await self.db.execute(
                f"UPDATE {table} SET {columns} WHERE id = ?", (*values.values(), row_id)
            )
            await self.db.commit()
