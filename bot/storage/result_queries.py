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
from services.results.kinds import slide_file


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
        """A stored result's files are still on disk (a text result has none to lose)."""
        image = cached.image
        if image is not None:  # its preview is encoded again when gone
            return bool(image.file and (self.results_dir / image.file).is_file())
        return all((self.results_dir / name).is_file() for name in cached.files)

    async def link_cached_files(self, job_id: int, cached: Result) -> bool:
        """A cache hit's files (a picture and its preview, a gallery's slides) linked under
        the new job's names; False when one is gone (purged meanwhile). A text result has
        nothing to link: True."""
        sources = cached.files
        targets = Result(job_id, cached.kind, cached.renamed(job_id)).files
        for number, (source, target) in enumerate(zip(sources, targets, strict=True)):
            linked = await asyncio.to_thread(
                link_or_copy, self.results_dir / source, self.results_dir / target
            )
            if not linked and (number == 0 or cached.image is None):
                return False  # an image's preview alone may be gone: encoded again
        return True

    async def write_result_files(self, job_id: int, files: list[bytes]) -> list[Path]:
        """A gallery's slides as "<job id>-<n>.jpg" (n from 1), before its row is saved."""
        paths = [self.results_dir / slide_file(job_id, n) for n in range(1, len(files) + 1)]
        for path, data in zip(paths, files, strict=True):
            await asyncio.to_thread(write_atomically, path, data)
        return paths

    async def latest_result(self, user_id: int, sha256: str, kind: str) -> Result | None:
        """The user's newest stored result of `kind` for this photo (the same bytes sent
        again count: e.g. /gallery's text from its /describe copy)."""
        async with self.db.execute(
            "SELECT r.job_id, r.kind, r.payload FROM results r JOIN jobs j ON j.id = r.job_id "
            "JOIN photos p ON p.id = j.photo_id WHERE j.user_id = ? AND p.sha256 = ? "
            "AND r.kind = ? ORDER BY r.job_id DESC LIMIT 1",
            (user_id, sha256, kind),
        ) as cursor:
            row = await cursor.fetchone()
        return result_from_row(row) if row else None

    async def get_result(self, job_id: int) -> Result | None:
        async with self.db.execute(
            "SELECT job_id, kind, payload FROM results WHERE job_id = ?", (job_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return result_from_row(row) if row else None
