"""Erasing photos with everything made of them (retention, /delete, /forget_me), so that no
word of them is left in the database file (issue 32).

`erase_photos` and `erase_user` delete the rows of every table (sets, and a user's updates
in the inbox, too) and store an `erasures` row naming the files nothing refers to any more,
in ONE transaction: from its commit on, nothing erased is read. What is left is finished by
`finish_erasure` (run in the background by bot/retention.py, and at the next start when a
crash came between; `erasure_wanted` wakes it):

- the files go (the caller removes them, off the loop), and the updates in flight are
  handled (`wait_for_updates_in_flight`);
- the search index is merged: FTS5 records a delete as a tombstone and keeps the old terms
  in its segments until they are merged; 'optimize' merges them all into one
  (benchmarks/erase_fts.py: ~50 ms at 50 000 photos, a 'rebuild' from `search_texts` ~4x
  that);
- the WAL is checkpointed and truncated: its frames still held the pages as they were.

With PRAGMA secure_delete (connection.py) a deleted row and a freed page are overwritten
with zeros in the file itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.connection import Connection
from bot.storage.rows import now
from services.search import user_index

#: a checkpoint that cannot truncate the WAL (a statement of ours still reading, another
#: connection's read) is tried again this many times, this far apart, before the erasure is
#: left for the next pass
CHECKPOINT_TRIES = 100
CHECKPOINT_PAUSE_S = 0.02
#: how often the finisher looks whether the updates in flight at an erasure are handled
IN_FLIGHT_POLL_S = 0.05


class Erasure(Connection):
    _erasure_event: asyncio.Event | None = None
    _finishing: asyncio.Lock | None = None

    def erasure_wanted(self) -> asyncio.Event:
        """Set when an erasure was stored (the background finisher waits on it)."""
        if self._erasure_event is None:
            self._erasure_event = asyncio.Event()
        return self._erasure_event

    def finishing(self) -> asyncio.Lock:
        """Held by whoever finishes erasures (one at a time: the background task, the
        retention sweep)."""
        if self._finishing is None:
            self._finishing = asyncio.Lock()
        return self._finishing

    async def photo_ids_older_than(self, before: datetime) -> list[int]:
        cutoff = before.astimezone(UTC).isoformat(timespec="milliseconds")
        async with self.db.execute(
            "SELECT id FROM photos WHERE created_at < ? ORDER BY id", (cutoff,)
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def photo_ids_of_user(self, user_id: int) -> list[int]:
        async with self.db.execute(
            "SELECT id FROM photos WHERE user_id = ? ORDER BY id", (user_id,)
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def erase_photos(self, photo_ids: list[int], what: str = "photos") -> list[Path]:
        """Delete photos with their jobs, results and index rows, and store the erasure, in
        one transaction. Returns the files nothing refers to any more (photo files shared by
        another photo row are kept; result files are `results_dir/<job id>.*` and a gallery's
        slides `<job id>-<n>.jpg`; with a photo
        file goes its features folder, `features_dir/<sha256>`; and each owner's embedding
        file, `features_dir/users/<user id>.emb`, to be rewritten without them):
        `finish_erasure` removes them."""
        if not photo_ids:
            return []
        async with self._lock:
            files = await self._erase_photo_rows(photo_ids)
            await self._store_erasure(what, files)
            await self.db.commit()
        self.erasure_wanted().set()
        return files

    async def erase_user(self, user_id: int) -> list[Path]:
        """Everything of one user, in one transaction: photos, jobs, results, index rows,
        sets, marketplace tokens and uploads, dialogues, the updates they sent (handled or
        not) and the user row (/forget_me). Returns the files to remove, as `erase_photos`."""
        async with self._lock:
            files = await self._erase_photo_rows(await self.photo_ids_of_user(user_id))
            index = user_index.path_for(self.features_dir, user_id)
            files += [] if index in files else [index]
            async with self.db.execute("SELECT id FROM jobs WHERE user_id = ?", (user_id,)) as c:
                job_ids = [row[0] for row in await c.fetchall()]
            for job_id in job_ids:
                await self.db.execute("DELETE FROM results WHERE job_id = ?", (job_id,))
                files.extend(self.result_files(job_id))
            await self.db.execute("DELETE FROM jobs WHERE user_id = ?", (user_id,))
            await self.db.execute("DELETE FROM search_texts WHERE user_id = ?", (user_id,))
            await self.db.execute(
                "DELETE FROM set_items WHERE run_id IN "
                "(SELECT id FROM set_runs WHERE user_id = ?)",
                (user_id,),
            )
            await self.db.execute("DELETE FROM set_runs WHERE user_id = ?", (user_id,))
            await self.db.execute(
                "DELETE FROM set_photos WHERE set_id IN (SELECT id FROM sets WHERE user_id = ?)",
                (user_id,),
            )
            await self.db.execute("DELETE FROM sets WHERE user_id = ?", (user_id,))
            # their marketplace tokens and uploads (issue 30)
            await self.db.execute("DELETE FROM marketplace_tokens WHERE user_id = ?", (user_id,))
            for table in ("publish_items", "publish_cards"):
                await self.db.execute(
                    f"DELETE FROM {table} WHERE run_id IN "
                    "(SELECT id FROM publish_runs WHERE user_id = ?)",
                    (user_id,),
                )
            await self.db.execute("DELETE FROM publish_runs WHERE user_id = ?", (user_id,))
            # their dialogues, and every update they sent (their words), this one too
            await self.db.execute("DELETE FROM fsm WHERE user_id = ?", (user_id,))
            await self.db.execute("DELETE FROM inbox WHERE user_id = ?", (user_id,))
            await self.db.execute("DELETE FROM users WHERE id = ?", (user_id,))
            await self._store_erasure("user", files)
            await self.db.commit()
        self.erasure_wanted().set()
        return files

    def result_files(self, job_id: int) -> list[Path]:
        """A job's files in the results folder: `<job id>.*`, a gallery's `<job id>-<n>.jpg`."""
        return [
            *self.results_dir.glob(f"{job_id}.*"),
            *self.results_dir.glob(f"{job_id}-[0-9]*.jpg"),
        ]

    async def pending_erasures(self) -> list[tuple[int, str, list[Path]]]:
        """(id, what, files to remove) of the erasures not finished yet, oldest first."""
        async with self.db.execute("SELECT id, what, files FROM erasures ORDER BY id") as c:
            rows = await c.fetchall()
        return [(row[0], row[1], [Path(p) for p in json.loads(row[2])]) for row in rows]

    async def embedding_keys(self, index: Path) -> set[str] | None:
        """For a user's embedding file (`user_index`): the photos (sha256) that user still
        has, the rows it may keep; None for any other path."""
        user_id = user_index.user_of(index, self.features_dir)
        if user_id is None:
            return None
        async with self.db.execute(
            "SELECT DISTINCT sha256 FROM photos WHERE user_id = ? AND deleted = 0", (user_id,)
        ) as cursor:
            return {row[0] for row in await cursor.fetchall()}

    async def unreferenced(self, files: list[Path]) -> list[Path]:
        """`files` less the photo files and feature folders (named by the photo's sha256) a
        photo row refers to again: the same bytes sent since the erasure was stored."""
        left = []
        for path in files:
            digest = path.stem
            if re.fullmatch(r"[0-9a-f]{64}", digest) is None:  # a result file: by job id
                left.append(path)
                continue
            same_file = "" if path.parent == self.features_dir else " AND path = ?"
            args = (digest,) if not same_file else (digest, str(path))
            async with self.db.execute(
                f"SELECT 1 FROM photos WHERE sha256 = ?{same_file} LIMIT 1", args
            ) as cursor:
                if await cursor.fetchone() is None:
                    left.append(path)
        return left

    async def wait_for_updates_in_flight(self, timeout: float) -> bool:
        """Wait (up to `timeout`) until every update stored by now is handled: an update
        in flight may quote what was erased (a /delete sent as a reply holds the photo's
        caption) until it is handled and cut to its id, and the WAL must be emptied after
        that. False when some were still not handled."""
        async with self.db.execute("SELECT MAX(update_id) FROM inbox WHERE state = 'new'") as c:
            row = await c.fetchone()
        newest = row[0] if row else None
        if newest is None:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.db.execute(
                "SELECT 1 FROM inbox WHERE state = 'new' AND update_id <= ? LIMIT 1", (newest,)
            ) as cursor:
                if await cursor.fetchone() is None:
                    return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(IN_FLIGHT_POLL_S)

    async def finish_erasure(self, erasure_ids: list[int]) -> None:
        """Once their files are removed: merge the search index (no tombstoned term is left
        in it), empty the WAL, and forget the erasures. Raises when the WAL could not be
        truncated (the erasures stay pending and are finished by a later pass)."""
        if not erasure_ids:
            return
        async with self._lock:
            await self.db.execute("INSERT INTO search_index(search_index) VALUES ('optimize')")
            await self.db.commit()
            if not await self._truncate_wal():
                raise RuntimeError("the WAL could not be truncated (a read in progress)")
            marks = ",".join("?" * len(erasure_ids))
            await self.db.execute(f"DELETE FROM erasures WHERE id IN ({marks})", erasure_ids)
            await self.db.commit()
            await self._truncate_wal()  # what remains is the erasures' page; tidy anyway

    async def _truncate_wal(self) -> bool:
        """PRAGMA wal_checkpoint(TRUNCATE): every page copied into the file and the WAL cut
        to nothing. False when a read of ours kept it from completing, after a few tries."""
        for _ in range(CHECKPOINT_TRIES):
            try:
                async with self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                    row = await cursor.fetchone()
            except sqlite3.OperationalError as exc:
                # "database table is locked": a statement of this connection is between
                # its first row and its end (a cursor not closed yet)
                if "locked" not in str(exc):
                    raise
                row = None
            if row is not None and row[0] == 0:
                return True
            await asyncio.sleep(CHECKPOINT_PAUSE_S)
        return False

    async def _store_erasure(self, what: str, files: list[Path]) -> None:
        await self.db.execute(
            "INSERT INTO erasures (what, files, created_at) VALUES (?, ?, ?)",
            (what, json.dumps([str(path) for path in files]), now()),
        )

    async def _erase_photo_rows(self, photo_ids: list[int]) -> list[Path]:
        """Delete the photos' rows (inside the caller's transaction); the files nothing
        refers to any more."""
        if not photo_ids:
            return []
        marks = ",".join("?" * len(photo_ids))
        async with self.db.execute(
            f"SELECT id FROM jobs WHERE photo_id IN ({marks})", photo_ids
        ) as cursor:
            job_ids = [row[0] for row in await cursor.fetchall()]
        async with self.db.execute(
            f"SELECT DISTINCT path, sha256 FROM photos WHERE id IN ({marks})", photo_ids
        ) as cursor:
            paths = [(row[0], row[1]) for row in await cursor.fetchall()]
        async with self.db.execute(
            f"SELECT DISTINCT user_id FROM photos WHERE id IN ({marks})", photo_ids
        ) as cursor:
            owners = [row[0] for row in await cursor.fetchall()]
        await self._erase_set_rows(marks, photo_ids)
        job_marks = ",".join("?" * len(job_ids))
        if job_ids:
            await self.db.execute(f"DELETE FROM results WHERE job_id IN ({job_marks})", job_ids)
            await self.db.execute(f"DELETE FROM jobs WHERE id IN ({job_marks})", job_ids)
        await self.db.execute(f"DELETE FROM photos WHERE id IN ({marks})", photo_ids)
        files = []
        for path, digest in paths:
            async with self.db.execute(
                "SELECT 1 FROM photos WHERE sha256 = ? AND path = ? LIMIT 1", (digest, path)
            ) as cursor:
                if await cursor.fetchone() is None:
                    files.append(Path(path))
                    if re.fullmatch(r"[0-9a-f]{64}", Path(path).stem):
                        files.append(self.features_dir / Path(path).stem)
        for job_id in job_ids:
            files.extend(self.result_files(job_id))
        files += [user_index.path_for(self.features_dir, owner) for owner in owners]
        return files

    async def _erase_set_rows(self, marks: str, photo_ids: list[int]) -> None:
        """The photos' places in sets and runs; runs and sets left empty go too (inside the
        caller's transaction)."""
        await self.db.execute(f"DELETE FROM set_items WHERE photo_id IN ({marks})", photo_ids)
        await self.db.execute(f"DELETE FROM publish_items WHERE photo_id IN ({marks})", photo_ids)
        await self.db.execute(f"DELETE FROM set_photos WHERE photo_id IN ({marks})", photo_ids)
        await self.db.execute(
            "DELETE FROM set_runs WHERE NOT EXISTS "
            "(SELECT 1 FROM set_items i WHERE i.run_id = set_runs.id)"
        )
        await self.db.execute(
            "DELETE FROM sets WHERE NOT EXISTS "
            "(SELECT 1 FROM set_photos p WHERE p.set_id = sets.id) AND NOT EXISTS "
            "(SELECT 1 FROM set_runs r WHERE r.set_id = sets.id)"
        )
