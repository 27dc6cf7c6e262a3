"""Queries on `jobs`: a request's row from queued to delivered (and /stats counts)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.storage.connection import Connection
from bot.storage.rows import FINISHED, Job, JobStatus, Result, fits, job_from_row, now
from bot.storage.search_queries import index_result


class JobQueries(Connection):
    async def create_job(
        self,
        *,
        user_id: int,
        chat_id: int,
        photo_id: int,
        op: str,
        params: dict[str, Any],
        cache_key: str | None = None,
        set_run_id: int | None = None,
        origin: str | None = None,
    ) -> Job:
        """``set_run_id``: one photo's job of a set's run (`bot.sets`), resumed by the set
        runner after a restart, not by the one-job runner. ``origin``: the update it was
        made for (bot/inbox/origin.py), unique: see `job_by_origin`."""
        async with self._lock:
            cursor = await self.db.execute(
                """INSERT INTO jobs (user_id, chat_id, photo_id, op, params, status, created_at,
                                     delivered, cache_key, set_run_id, origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)""",
                (
                    user_id,
                    chat_id,
                    photo_id,
                    op,
                    json.dumps(params),
                    JobStatus.QUEUED,
                    now(),
                    cache_key,
                    set_run_id,
                    origin,
                ),
            )
            await self.db.commit()
            job_id = cursor.lastrowid
        job = await self.get_job(int(job_id or 0))
        assert job is not None
        return job

    async def create_cached_job(
        self,
        *,
        user_id: int,
        chat_id: int,
        photo_id: int,
        op: str,
        params: dict[str, Any],
        cache_key: str,
        cached: Result,
        set_run_id: int | None = None,
        origin: str | None = None,
    ) -> Job:
        """A cache hit: the job, done, with a copy of ``cached``'s result, in one transaction
        (a hit waits for one commit, not two). An image result's files are named after the
        new job (``<job id>.png``/``.jpg``: the caller links them, ``link_result_file``)."""
        stamp = now()
        async with self._lock:
            cursor = await self.db.execute(
                """INSERT INTO jobs (user_id, chat_id, photo_id, op, params, status, created_at,
                                     started_at, finished_at, delivered, cache_key, set_run_id,
                                     origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)""",
                (
                    user_id,
                    chat_id,
                    photo_id,
                    op,
                    json.dumps(params),
                    JobStatus.DONE,
                    stamp,
                    stamp,
                    stamp,
                    cache_key,
                    set_run_id,
                    origin,
                ),
            )
            job_id = int(cursor.lastrowid or 0)
            payload = cached.renamed(job_id)  # its files are linked under this job's names
            await self.db.execute(
                "INSERT INTO results (job_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                (job_id, cached.kind, json.dumps(payload, ensure_ascii=False), stamp),
            )
            await index_result(self.db, job_id, cached.kind, payload)
            await self.db.commit()
        job = await self.get_job(job_id)
        assert job is not None
        return job

    async def get_job(self, job_id: int) -> Job | None:
        if not fits(job_id):
            return None
        jobs = await self._jobs("id = ?", (job_id,))
        return jobs[0] if jobs else None

    async def job_by_origin(self, origin: str) -> Job | None:
        """The job made for this update and request already (the update is handled again
        after a restart: the job is not made twice)."""
        jobs = await self._jobs("origin = ?", (origin,))
        return jobs[0] if jobs else None

    async def unfinished_jobs(self) -> list[Job]:
        """Jobs a previous run left queued or running, oldest first (a set's jobs are the
        set runner's: `SetQueries.unfinished_runs`)."""
        return await self._jobs(
            "status IN (?, ?) AND set_run_id IS NULL",
            (JobStatus.QUEUED, JobStatus.RUNNING),
            order="id ASC",
        )

    async def undelivered_jobs(self) -> list[Job]:
        """Finished with a stored result the user has not received (a crash or a long
        outage came between storing and sending), oldest first."""
        return await self._jobs(
            "status = ? AND delivered = 0 AND set_run_id IS NULL", (JobStatus.DONE,), "id ASC"
        )

    async def mark_delivered(self, job_id: int, *, file_id: str | None = None) -> None:
        """The user has the result; ``file_id``: Telegram's id of the image sent, kept in the
        result so "Show again" and cache hits send it without uploading it again."""
        async with self._lock:
            await self.db.execute("UPDATE jobs SET delivered = 1 WHERE id = ?", (job_id,))
            if file_id:
                await self.db.execute(
                    "UPDATE results SET payload = json_set(payload, '$.telegram_file_id', ?) "
                    "WHERE job_id = ?",
                    (file_id, job_id),
                )
            await self.db.commit()

    async def set_progress_message(self, job_id: int, message_id: int) -> None:
        async with self._lock:
            await self.db.execute(
                "UPDATE jobs SET progress_message_id = ? WHERE id = ?", (message_id, job_id)
            )
            await self.db.commit()

    async def set_job_status(
        self, job_id: int, status: JobStatus, *, error: str | None = None
    ) -> None:
        if status is JobStatus.RUNNING:
            stamp = "started_at = ?"
        elif status in FINISHED:
            stamp = "finished_at = ?"
        else:  # back to the queue (a restart): it has not started yet
            stamp = "started_at = NULL, finished_at = ?"
        async with self._lock:
            await self.db.execute(
                f"UPDATE jobs SET status = ?, error = ?, {stamp} WHERE id = ?",
                (status, error, now() if status is not JobStatus.QUEUED else None, job_id),
            )
            await self.db.commit()

    async def counts(self, since: datetime) -> dict[str, Any]:
        """Users, photos, and jobs by status created since `since` (for /stats)."""
        async with self.db.execute(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM photos)"
        ) as cursor:
            users, photos = await cursor.fetchone()
        async with self.db.execute(
            "SELECT status, COUNT(*) FROM jobs WHERE created_at >= ? GROUP BY status",
            (since.isoformat(timespec="milliseconds"),),
        ) as cursor:
            jobs = {row[0]: row[1] for row in await cursor.fetchall()}
        return {"users": users, "photos": photos, "jobs": jobs}

    async def _jobs(self, where: str, args: tuple[Any, ...], order: str = "id DESC") -> list[Job]:
        sql = f"SELECT * FROM jobs WHERE {where} ORDER BY {order}"
        async with self.db.execute(sql, args) as cursor:
            rows = await cursor.fetchall()
        return [job_from_row(row) for row in rows]
