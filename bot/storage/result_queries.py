"""Queries on `results`, their image files, and the result cache (a repeat's answer)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.storage.connection import Connection
from bot.storage.files import link_or_copy, write_atomically
from bot.storage.rows import JobStatus, Result, now, result_from_row
from bot.storage.search_queries import index_result


class ResultQueries(Connection):
    async def save_result(
        self, job_id: int, kind: str, payload: dict[str, Any], *, cacheable: bool = True
    ) -> None:
        """Store a job's result and mark the job done, in one transaction. ``cacheable``
        False: the result is not the answer to a repeat (its cache key is dropped)."""
        async with self._lock:
            await self.db.execute(
                "INSERT OR REPLACE INTO results (job_id, kind, payload, created_at) "
                "VALUES (?, ?, ?, ?)",
                (job_id, kind, json.dumps(payload, ensure_ascii=False), now()),
            )
            await self.db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, error = NULL, "
                "cache_key = CASE WHEN ? THEN cache_key END WHERE id = ?",
                (JobStatus.DONE, now(), cacheable, job_id),
            )
            await index_result(self.db, job_id, kind, payload)  # found by /find at once
            await self.db.commit()

    async def write_result_file(self, job_id: int, data: bytes, extension: str) -> Path:
        """Write a result image (atomically, in a thread) before its row is saved."""
        path = self.results_dir / f"{job_id}.{extension}"
        await asyncio.to_thread(write_atomically, path, data)
        return path

    async def find_cached(self, cache_key: str) -> Result | None:
        """The newest finished result stored under ``cache_key`` (None: a miss)."""
        async with self.db.execute(
            "SELECT r.job_id, r.kind, r.payload FROM jobs j JOIN results r ON r.job_id = j.id "
            "WHERE j.cache_key = ? AND j.status = ? ORDER BY j.id DESC LIMIT 1",
            (cache_key, JobStatus.DONE),
        ) as cursor:
            row = await cursor.fetchone()
        return result_from_row(row) if row else None

    async def link_result_file(self, job_id: int, source: Path) -> Path | None:
        """``results_dir/<job id><suffix>`` as the same file as ``source`` (another job's
        result: a cache hit). None when ``source`` is gone."""
        target = self.results_dir / f"{job_id}{source.suffix}"
        linked = await asyncio.to_thread(link_or_copy, source, target)
        return target if linked else None

    def has_files(self, cached: Result) -> bool:
        """A stored result's picture is still on disk (a text result has none to lose)."""
        image = cached.image
        return image is None or bool(image.file and (self.results_dir / image.file).is_file())

    async def link_cached_files(self, job_id: int, cached: Result) -> bool:
        """A cache hit's picture (and its preview) linked under the new job; False when the
        picture is gone (purged meanwhile). A text result has nothing to link: True."""
        image = cached.image
        if image is None:
            return True
        if await self.link_result_file(job_id, self.results_dir / image.file) is None:
            return False
        if image.preview:  # else: encoded again when sent
            await self.link_result_file(job_id, self.results_dir / image.preview)
        return True

    async def get_result(self, job_id: int) -> Result | None:
        async with self.db.execute(
            "SELECT job_id, kind, payload FROM results WHERE job_id = ?", (job_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return result_from_row(row) if row else None
