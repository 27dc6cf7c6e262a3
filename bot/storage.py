"""SQLite storage (aiosqlite, WAL). The only module that writes SQL.

The schema is created and migrated in code: `MIGRATIONS[i]` brings the database from
version i to i + 1, and the `schema_version` table remembers where a file stands.
Photos users send are kept on disk next to the database, named by their sha256, so a job
can be run again after a restart and nothing a user sent is lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiosqlite

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        language    TEXT NOT NULL DEFAULT 'ru',
        domain      TEXT NOT NULL DEFAULT 'product',
        username    TEXT,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE photos (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id         INTEGER NOT NULL REFERENCES users(id),
        chat_id         INTEGER NOT NULL,
        message_id      INTEGER NOT NULL,
        file_id         TEXT NOT NULL,
        file_unique_id  TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        size            INTEGER NOT NULL,
        width           INTEGER NOT NULL,
        height          INTEGER NOT NULL,
        path            TEXT NOT NULL,
        media_group_id  TEXT,
        deleted         INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL
    );
    CREATE INDEX photos_by_user ON photos(user_id, id);
    CREATE INDEX photos_by_message ON photos(chat_id, message_id);
    CREATE TABLE jobs (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id              INTEGER NOT NULL REFERENCES users(id),
        chat_id              INTEGER NOT NULL,
        photo_id             INTEGER NOT NULL REFERENCES photos(id),
        op                   TEXT NOT NULL,
        params               TEXT NOT NULL DEFAULT '{}',
        status               TEXT NOT NULL,
        progress_message_id  INTEGER,
        error                TEXT,
        created_at           TEXT NOT NULL,
        started_at           TEXT,
        finished_at          TEXT
    );
    CREATE INDEX jobs_by_status ON jobs(status, id);
    CREATE TABLE results (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id      INTEGER NOT NULL UNIQUE REFERENCES jobs(id),
        kind        TEXT NOT NULL,
        payload     TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    """,
    # 2: a finished result is delivered once: `delivered` is set when the user has it, so a
    # restart sends what a crash left stored but unsent (old rows count as delivered).
    """
    ALTER TABLE jobs ADD COLUMN delivered INTEGER NOT NULL DEFAULT 1;
    """,
    # 3: the result cache: a job's key (photo sha256 + op + params + model revisions, see
    # ModelServices.cache_key); a done job with the same key answers a repeat.
    """
    ALTER TABLE jobs ADD COLUMN cache_key TEXT;
    CREATE INDEX jobs_by_cache_key ON jobs(cache_key, id) WHERE cache_key IS NOT NULL;
    """,
)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class User:
    id: int
    language: str
    domain: str
    username: str | None


@dataclass(frozen=True)
class Photo:
    id: int
    user_id: int
    chat_id: int
    message_id: int
    file_id: str
    file_unique_id: str
    sha256: str
    size: int
    width: int
    height: int
    path: Path
    media_group_id: str | None
    deleted: bool


@dataclass(frozen=True)
class Job:
    id: int
    user_id: int
    chat_id: int
    photo_id: int
    op: str
    params: dict[str, Any]
    status: JobStatus
    progress_message_id: int | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    cache_key: str | None = None


@dataclass(frozen=True)
class Result:
    job_id: int
    kind: str
    payload: dict[str, Any]


def _fits(value: int) -> bool:
    """SQLite integers are 64-bit: a bigger id (forged callback data) matches nothing."""
    return -(2**63) <= value < 2**63


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _store_file(photos_dir: Path, data: bytes, extension: str) -> tuple[str, Path]:
    """Hash and write the bytes (run in a thread: hashing 20 MB takes a while)."""
    digest = hashlib.sha256(data).hexdigest()
    path = photos_dir / digest[:2] / f"{digest}.{extension}"
    if not path.exists():  # the same photo sent twice at once: both writes are whole
        _write_atomically(path, data)
    return digest, path


def _link_or_copy(source: Path, target: Path) -> bool:
    """``target`` becomes the same file as ``source`` (a hard link; a copy where links are
    not possible), atomically. Each job owns its own name, so erasing one job's files never
    takes another's. False when ``source`` is gone."""
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")
    try:
        try:
            os.link(source, tmp)
        except FileNotFoundError:
            return False
        except OSError:  # another file system, or no hard links here
            try:
                shutil.copyfile(source, tmp)
            except FileNotFoundError:
                return False
        tmp.replace(target)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file + rename: a crash leaves the old file or the new one, never half of one.
    The temp name is unique, so two threads writing the same path do not collide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


class Storage:
    def __init__(self, database_path: Path, photos_dir: Path) -> None:
        self.database_path = database_path
        self.photos_dir = photos_dir
        # Result images live beside the photos: data/results/<job id>.<ext>
        self.results_dir = photos_dir.parent / "results"
        # Model features per photo: data/features/<sha256>/ (services/features.py)
        self.features_dir = photos_dir.parent / "features"
        self._db: aiosqlite.Connection | None = None
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
        await self._migrate()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Storage:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _migrate(self) -> None:
        await self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
        version = await self.schema_version()
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.database_path} has schema version {version}, newer than this code "
                f"({len(MIGRATIONS)}): upgrade Vitrina"
            )
        for target in range(version, len(MIGRATIONS)):
            await self.db.executescript(
                "BEGIN;\n"
                + MIGRATIONS[target]
                + "\nDELETE FROM schema_version;"
                + f"\nINSERT INTO schema_version VALUES ({target + 1});"
                + "\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        async with self.db.execute("SELECT version FROM schema_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # ---- users

    async def upsert_user(self, user_id: int, language: str, username: str | None) -> User:
        """Create the user on first sight; afterwards keep their domain, refresh the rest."""
        now = _now()
        async with self._lock:
            await self.db.execute(
                """INSERT INTO users (id, language, username, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET
                     language = excluded.language, username = excluded.username,
                     updated_at = excluded.updated_at""",
                (user_id, language, username, now, now),
            )
            await self.db.commit()
        user = await self.get_user(user_id)
        assert user is not None
        return user

    async def get_user(self, user_id: int) -> User | None:
        async with self.db.execute(
            "SELECT id, language, domain, username FROM users WHERE id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return User(row["id"], row["language"], row["domain"], row["username"]) if row else None

    async def set_domain(self, user_id: int, domain: str) -> None:
        async with self._lock:
            await self.db.execute(
                "UPDATE users SET domain = ?, updated_at = ? WHERE id = ?",
                (domain, _now(), user_id),
            )
            await self.db.commit()

    # ---- photos

    async def add_photo(
        self,
        *,
        user_id: int,
        chat_id: int,
        message_id: int,
        file_id: str,
        file_unique_id: str,
        data: bytes,
        width: int,
        height: int,
        extension: str = "jpg",
        media_group_id: str | None = None,
    ) -> Photo:
        digest, path = await asyncio.to_thread(_store_file, self.photos_dir, data, extension)
        async with self._lock:
            cursor = await self.db.execute(
                """INSERT INTO photos (user_id, chat_id, message_id, file_id, file_unique_id,
                     sha256, size, width, height, path, media_group_id, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    user_id,
                    chat_id,
                    message_id,
                    file_id,
                    file_unique_id,
                    digest,
                    len(data),
                    width,
                    height,
                    str(path),
                    media_group_id,
                    _now(),
                ),
            )
            await self.db.commit()
            photo_id = cursor.lastrowid
        photo = await self.get_photo(int(photo_id or 0))
        assert photo is not None
        return photo

    async def get_photo(self, photo_id: int) -> Photo | None:
        if not _fits(photo_id):  # forged callback data
            return None
        return await self._one_photo("id = ?", (photo_id,))

    async def last_photo(self, user_id: int, chat_id: int | None = None) -> Photo | None:
        """The user's newest photo, in `chat_id` only when given."""
        if chat_id is None:
            return await self._one_photo("user_id = ? AND deleted = 0", (user_id,))
        return await self._one_photo(
            "user_id = ? AND chat_id = ? AND deleted = 0", (user_id, chat_id)
        )

    async def photo_before(
        self, photo: Photo, within_s: float | None = None, *, other_album: bool = True
    ) -> Photo | None:
        """The same user's newest photo in the same chat sent before `photo` (optionally
        at most `within_s` seconds earlier, and not from the same album)."""
        where = "user_id = ? AND chat_id = ? AND deleted = 0 AND id < ?"
        args: list[Any] = [photo.user_id, photo.chat_id, photo.id]
        if other_album and photo.media_group_id is not None:
            where += " AND (media_group_id IS NULL OR media_group_id != ?)"
            args.append(photo.media_group_id)
        if within_s is not None:
            async with self.db.execute(
                "SELECT created_at FROM photos WHERE id = ?", (photo.id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            since = datetime.fromisoformat(row["created_at"]) - timedelta(seconds=within_s)
            where += " AND created_at >= ?"
            args.append(since.isoformat(timespec="milliseconds"))
        return await self._one_photo(where, tuple(args))

    async def photo_by_message(self, chat_id: int, message_id: int) -> Photo | None:
        return await self._one_photo("chat_id = ? AND message_id = ?", (chat_id, message_id))

    async def mark_photo_deleted(self, photo_id: int) -> None:
        async with self._lock:
            await self.db.execute("UPDATE photos SET deleted = 1 WHERE id = ?", (photo_id,))
            await self.db.commit()

    # ---- erasure (retention and /forget_me)

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

    async def erase_photos(self, photo_ids: list[int]) -> list[Path]:
        """Delete photos with their jobs and results, in one transaction. Returns the files
        nothing refers to any more (photo files shared by another photo row are kept; result
        files are `results_dir/<job id>.*`; with a photo file goes its features folder,
        `features_dir/<sha256>`); the caller deletes them after the commit."""
        if not photo_ids:
            return []
        marks = ",".join("?" * len(photo_ids))
        async with self._lock:
            async with self.db.execute(
                f"SELECT id FROM jobs WHERE photo_id IN ({marks})", photo_ids
            ) as cursor:
                job_ids = [row[0] for row in await cursor.fetchall()]
            async with self.db.execute(
                f"SELECT DISTINCT path FROM photos WHERE id IN ({marks})", photo_ids
            ) as cursor:
                paths = [row[0] for row in await cursor.fetchall()]
            job_marks = ",".join("?" * len(job_ids))
            if job_ids:
                await self.db.execute(
                    f"DELETE FROM results WHERE job_id IN ({job_marks})", job_ids
                )
                await self.db.execute(f"DELETE FROM jobs WHERE id IN ({job_marks})", job_ids)
            await self.db.execute(f"DELETE FROM photos WHERE id IN ({marks})", photo_ids)
            orphans = []
            for path in paths:
                async with self.db.execute(
                    "SELECT 1 FROM photos WHERE path = ? LIMIT 1", (path,)
                ) as cursor:
                    if await cursor.fetchone() is None:
                        orphans.append(Path(path))
                        digest = Path(path).stem
                        if re.fullmatch(r"[0-9a-f]{64}", digest):
                            orphans.append(self.features_dir / digest)
            await self.db.commit()
        for job_id in job_ids:
            orphans.extend(self.results_dir.glob(f"{job_id}.*"))
        return orphans

    async def erase_user(self, user_id: int) -> list[Path]:
        """Everything of one user: photos, jobs, results and the user row (/forget_me)."""
        orphans = await self.erase_photos(await self.photo_ids_of_user(user_id))
        async with self._lock:
            async with self.db.execute("SELECT id FROM jobs WHERE user_id = ?", (user_id,)) as c:
                job_ids = [row[0] for row in await c.fetchall()]
            for job_id in job_ids:
                await self.db.execute("DELETE FROM results WHERE job_id = ?", (job_id,))
            await self.db.execute("DELETE FROM jobs WHERE user_id = ?", (user_id,))
            await self.db.execute("DELETE FROM users WHERE id = ?", (user_id,))
            await self.db.commit()
        for job_id in job_ids:
            orphans.extend(self.results_dir.glob(f"{job_id}.*"))
        return orphans

    async def _one_photo(self, where: str, args: tuple[Any, ...]) -> Photo | None:
        async with self.db.execute(
            f"SELECT * FROM photos WHERE {where} ORDER BY id DESC LIMIT 1", args
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return Photo(
            id=row["id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            message_id=row["message_id"],
            file_id=row["file_id"],
            file_unique_id=row["file_unique_id"],
            sha256=row["sha256"],
            size=row["size"],
            width=row["width"],
            height=row["height"],
            path=Path(row["path"]),
            media_group_id=row["media_group_id"],
            deleted=bool(row["deleted"]),
        )

    # ---- jobs

    async def create_job(
        self,
        *,
        user_id: int,
        chat_id: int,
        photo_id: int,
        op: str,
        params: dict[str, Any],
        cache_key: str | None = None,
    ) -> Job:
        async with self._lock:
            cursor = await self.db.execute(
                """INSERT INTO jobs (user_id, chat_id, photo_id, op, params, status, created_at,
                                     delivered, cache_key)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)""",
                (
                    user_id,
                    chat_id,
                    photo_id,
                    op,
                    json.dumps(params),
                    JobStatus.QUEUED,
                    _now(),
                    cache_key,
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
    ) -> Job:
        """A cache hit: the job, done, with a copy of ``cached``'s result, in one transaction
        (a hit waits for one commit, not two). An image result's files are named after the
        new job (``<job id>.png``/``.jpg``: the caller links them, ``link_result_file``)."""
        payload = dict(cached.payload)
        now = _now()
        async with self._lock:
            cursor = await self.db.execute(
                """INSERT INTO jobs (user_id, chat_id, photo_id, op, params, status, created_at,
                                     started_at, finished_at, delivered, cache_key)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)""",
                (
                    user_id,
                    chat_id,
                    photo_id,
                    op,
                    json.dumps(params),
                    JobStatus.DONE,
                    now,
                    now,
                    now,
                    cache_key,
                ),
            )
            job_id = int(cursor.lastrowid or 0)
            for field in ("file", "preview"):
                if cached.kind == "image" and payload.get(field):
                    payload[field] = f"{job_id}{Path(str(payload[field])).suffix}"
            await self.db.execute(
                "INSERT INTO results (job_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                (job_id, cached.kind, json.dumps(payload, ensure_ascii=False), now),
            )
            await self.db.commit()
        job = await self.get_job(job_id)
        assert job is not None
        return job

    async def get_job(self, job_id: int) -> Job | None:
        if not _fits(job_id):
            return None
        jobs = await self._jobs("id = ?", (job_id,))
        return jobs[0] if jobs else None

    async def unfinished_jobs(self) -> list[Job]:
        """Jobs a previous run left queued or running, oldest first."""
        return await self._jobs(
            "status IN (?, ?)", (JobStatus.QUEUED, JobStatus.RUNNING), order="id ASC"
        )

    async def undelivered_jobs(self) -> list[Job]:
        """Finished with a stored result the user has not received (a crash or a long
        outage came between storing and sending), oldest first."""
        return await self._jobs("status = ? AND delivered = 0", (JobStatus.DONE,), "id ASC")

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
                (status, error, _now() if status is not JobStatus.QUEUED else None, job_id),
            )
            await self.db.commit()

    async def _jobs(self, where: str, args: tuple[Any, ...], order: str = "id DESC") -> list[Job]:
        sql = f"SELECT * FROM jobs WHERE {where} ORDER BY {order}"
        async with self.db.execute(sql, args) as cursor:
            rows = await cursor.fetchall()
        return [
            Job(
                id=row["id"],
                user_id=row["user_id"],
                chat_id=row["chat_id"],
                photo_id=row["photo_id"],
                op=row["op"],
                params=json.loads(row["params"]),
                status=JobStatus(row["status"]),
                progress_message_id=row["progress_message_id"],
                error=row["error"],
                created_at=row["created_at"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                cache_key=row["cache_key"],
            )
            for row in rows
        ]

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

    # ---- results

    async def save_result(
        self, job_id: int, kind: str, payload: dict[str, Any], *, cacheable: bool = True
    ) -> None:
        """Store a job's result and mark the job done, in one transaction. ``cacheable``
        False: the result is not the answer to a repeat (its cache key is dropped)."""
        async with self._lock:
            await self.db.execute(
                "INSERT OR REPLACE INTO results (job_id, kind, payload, created_at) "
                "VALUES (?, ?, ?, ?)",
                (job_id, kind, json.dumps(payload, ensure_ascii=False), _now()),
            )
            await self.db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, error = NULL, "
                "cache_key = CASE WHEN ? THEN cache_key END WHERE id = ?",
                (JobStatus.DONE, _now(), cacheable, job_id),
            )
            await self.db.commit()

    async def write_result_file(self, job_id: int, data: bytes, extension: str) -> Path:
        """Write a result image (atomically, in a thread) before its row is saved."""
        path = self.results_dir / f"{job_id}.{extension}"
        await asyncio.to_thread(_write_atomically, path, data)
        return path

    async def find_cached(self, cache_key: str) -> Result | None:
        """The newest finished result stored under ``cache_key`` (None: a miss)."""
        async with self.db.execute(
            "SELECT r.job_id, r.kind, r.payload FROM jobs j JOIN results r ON r.job_id = j.id "
            "WHERE j.cache_key = ? AND j.status = ? ORDER BY j.id DESC LIMIT 1",
            (cache_key, JobStatus.DONE),
        ) as cursor:
            row = await cursor.fetchone()
        return Result(row["job_id"], row["kind"], json.loads(row["payload"])) if row else None

    async def link_result_file(self, job_id: int, source: Path) -> Path | None:
        """``results_dir/<job id><suffix>`` as the same file as ``source`` (another job's
        result: a cache hit). None when ``source`` is gone."""
        target = self.results_dir / f"{job_id}{source.suffix}"
        linked = await asyncio.to_thread(_link_or_copy, source, target)
        return target if linked else None

    async def get_result(self, job_id: int) -> Result | None:
        async with self.db.execute(
            "SELECT job_id, kind, payload FROM results WHERE job_id = ?", (job_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Result(row["job_id"], row["kind"], json.loads(row["payload"])) if row else None
