"""Data protection: photos and results older than RETENTION_DAYS go, /delete and /forget_me;
the inbox's handled updates after a day, expired dialogues.

An erasure deletes the rows at once (one transaction, which stores the erasure) and is
finished in the background by `finish_erasures`: the files, the search index merged, the
WAL emptied (bot/storage/erasure.py), so that nothing erased is left in the database file.
What a crash interrupts is finished at the next start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import Storage
from services.search import user_index

log = logging.getLogger("vitrina.bot")
#: a handled update stays in the inbox this long (Telegram keeps an unconfirmed one a day)
INBOX_KEEP = timedelta(days=1)
#: how long an erasure's finishing waits for the updates in flight to be handled (cut to
#: their ids) before it empties the WAL; one still running after that (a replay waiting
#: for the start to end, a slow handler) keeps its payload until the next checkpoint
IN_FLIGHT_WAIT_S = 10.0
#: an erasure whose finishing failed (the WAL held by a long read, a full disk) is tried
#: again after these waits, doubled each time (the last one repeated)
ERASURE_RETRY_S = (0.5, 60.0)


def _unlink(paths: list[Path]) -> int:
    removed = 0
    for path in paths:
        if path.is_dir():  # a photo's features folder
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


async def remove_files(paths: list[Path]) -> int:
    """Delete files off the loop (a user may have hundreds)."""
    return await asyncio.to_thread(_unlink, paths)


async def finish_erasures(db: Storage) -> int:
    """Finish the stored erasures: their files removed, then the search index merged and
    the WAL truncated (`Storage.finish_erasure`). Returns how many were finished."""
    async with db.finishing():
        pending = await db.pending_erasures()
        if not pending:
            return 0
        files = await db.unreferenced([path for _, _, files in pending for path in files])
        files = await _scrub_embedding_files(db, files)
        removed = await remove_files(files)
        if not await db.wait_for_updates_in_flight(IN_FLIGHT_WAIT_S):
            log.warning("erasure: updates still being handled; the WAL is emptied without them")
        await db.finish_erasure([erasure_id for erasure_id, _, _ in pending])
    what = ", ".join(sorted({what for _, what, _ in pending}))
    log.info("erasure finished: %d (%s), files removed: %d", len(pending), what, removed)
    return len(pending)


async def _scrub_embedding_files(db: Storage, files: list[Path]) -> list[Path]:
    """Each user embedding file among `files` rewritten with only the photos its user still
    has (removed when none is left): an erased photo's row goes from it too. Returns the
    other files. A crash before this leaves the erasure pending (finished at the next
    start), and /find never answers with a photo the database no longer lists."""
    others = []
    for path in dict.fromkeys(files):
        keep = await db.embedding_keys(path)
        if keep is None:
            others.append(path)
            continue
        rows = await asyncio.to_thread(user_index.keep_only, path, keep)
        log.info("erasure: %d rows removed from an embedding file", rows)
    return others


async def purge_expired(db: Storage, days: float, now: datetime | None = None) -> int:
    """Erase photos (with their jobs, results and files) older than `days`, and finish the
    erasure (it runs in the background already). Returns how many photos went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    photo_ids = await db.photo_ids_older_than(cutoff)
    if photo_ids:
        await db.erase_photos(photo_ids, what="retention")
        await finish_erasures(db)
        log.info("retention: removed %d photos older than %s days", len(photo_ids), days)
    return len(photo_ids)


async def forget_user(db: Storage, user_id: int) -> int:
    """Erase everything the bot keeps about `user_id`: the rows at once, the rest in the
    background (`RetentionTask`). Returns the number of files to remove."""
    files = await db.erase_user(user_id)
    log.info("forget_me: user %s erased (%d files to remove)", user_id, len(files))
    return len(files)


async def delete_photo(db: Storage, photo_id: int) -> int:
    """Erase one photo (/delete): its row, jobs, results and index rows at once; the files
    nothing else refers to, the index and the WAL in the background. Returns the number of
    files to remove."""
    files = await db.erase_photos([photo_id], what="delete")
    log.info("delete: photo %s erased (%d files to remove)", photo_id, len(files))
    return len(files)


async def prune_bookkeeping(db: Storage, now: datetime | None = None) -> int:
    """Handled updates older than INBOX_KEEP go from the inbox (undone ones always stay),
    and expired dialogues from the FSM table. Returns how many inbox rows went."""
    pruned = await db.prune_inbox((now or datetime.now(UTC)) - INBOX_KEEP)
    await db.prune_fsm()
    if pruned:
        log.info("inbox: removed %d handled updates older than %s", pruned, INBOX_KEEP)
    return pruned


class RetentionTask:
    """Runs `purge_expired` (when RETENTION_DAYS is set) and `prune_bookkeeping` at start
    and then every `interval_s` seconds; and `finish_erasures` at start (what a crash left)
    and whenever an erasure is stored."""

    def __init__(self, db: Storage, days: float, interval_s: float = 3600.0) -> None:
        self.db = db
        self.days = days
        self.interval_s = interval_s
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._loop(), name="vitrina-retention"),
                asyncio.create_task(self._erasures(), name="vitrina-erasures"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _erasures(self) -> None:
        wanted = self.db.erasure_wanted()
        first, longest = ERASURE_RETRY_S
        delay = first
        while True:
            wanted.clear()
            try:
                await finish_erasures(self.db)
            except Exception:  # the WAL held, a full disk: the erasure stays stored
                log.exception("finishing an erasure failed; again in %.1fs", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wanted.wait(), delay)
                delay = min(delay * 2, longest)
                continue
            delay = first
            await wanted.wait()

    async def _loop(self) -> None:
        while True:
            try:
                if self.days > 0:
                    await purge_expired(self.db, self.days)
                await prune_bookkeeping(self.db)
            except Exception:  # a locked or full database must not end the loop
                log.exception("retention pass failed; will try again")
            await asyncio.sleep(self.interval_s)
