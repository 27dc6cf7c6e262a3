"""The one aiosqlite connection (WAL) and the paths of the files kept beside it; each table
group's queries are a mixin over this base (see `bot.storage.Storage`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Self

import aiosqlite

from bot.storage.schema import migrate
from bot.storage.schema import schema_version as read_version


class Connection:
    def __init__(self, database_path: Path, photos_dir: Path) -> None:
        self.database_path = database_path
        self.photos_dir = photos_dir
        # Result images live beside the photos: data/results/<job id>.<ext>
        self.results_dir = photos_dir.parent / "results"
        # Model features per photo: data/features/<sha256>/ (services/features.py)
        self.features_dir = photos_dir.parent / "features"
        self._db: aiosqlite.Connection | None = None
        # One writer at a time: a commit of one query group must not take another's half.
        self._lock = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("Storage is not open: call await storage.open() first")
        return self._db

    async def open(self) -> None:
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        self.photos_dir.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.database_path)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit does not wait for fsync (5-20 ms on a busy disk; a cache hit
        # is one commit). Safe against a crash of the process (the kill test); a power cut
        # may lose the last commits, as it may the photo files (written without fsync).
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await self._db.execute("PRAGMA busy_timeout=5000")
        # what is deleted is overwritten with zeros, in its page and in freed pages: an erased
        # caption leaves no bytes in the file (issue 32; the WAL and FTS5: erasure.py)
        await self._db.execute("PRAGMA secure_delete=ON")
        # and the WAL is cut back each time it starts over after a checkpoint: it holds the
        # pages written since the last checkpoint, not older ones left behind them
        await self._db.execute("PRAGMA journal_size_limit=0")
        await migrate(self._db, self.database_path)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        return await read_version(self.db)
