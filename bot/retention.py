"""Data protection: photos and results older than RETENTION_DAYS go, and /forget_me; the
inbox's handled updates after a day, expired dialogues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import Storage

log = logging.getLogger("vitrina.bot")
#: a handled update stays in the inbox this long (Telegram keeps an unconfirmed one a day)
INBOX_KEEP = timedelta(days=1)


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


async def purge_expired(db: Storage, days: float, now: datetime | None = None) -> int:
    """Erase photos (with their jobs, results and files) older than `days`. Returns how
    many photos went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    photo_ids = await db.photo_ids_older_than(cutoff)
    if photo_ids:
        files = await db.erase_photos(photo_ids)
        await remove_files(files)
        log.info("retention: removed %d photos older than %s days", len(photo_ids), days)
    return len(photo_ids)


async def forget_user(db: Storage, user_id: int) -> int:
    """Erase everything the bot keeps about `user_id`. Returns the number of files removed."""
    files = await db.erase_user(user_id)
    removed = await remove_files(files)
    log.info("forget_me: user %s erased (%d files)", user_id, removed)
    return removed


async def delete_photo(db: Storage, photo_id: int) -> int:
    """Erase one photo (/delete): its row, jobs, results, index rows and the files nothing
    else refers to. Returns the number of files removed."""
    removed = await remove_files(await db.erase_photos([photo_id]))
    log.info("delete: photo %s erased (%d files)", photo_id, removed)
    return removed


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
    and then every `interval_s` seconds."""

    def __init__(self, db: Storage, days: float, interval_s: float = 3600.0) -> None:
        self.db = db
        self.days = days
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="vitrina-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                if self.days > 0:
                    await purge_expired(self.db, self.days)
                await prune_bookkeeping(self.db)
            except Exception:  # a locked or full database must not end the loop
                log.exception("retention pass failed; will try again")
            await asyncio.sleep(self.interval_s)
