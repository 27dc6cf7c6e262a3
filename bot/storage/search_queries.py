"""The search index (/find) and the library's reads (/history, /groups): SQL over
`search_texts` and its FTS5 index `search_index` (schema migration 4).

Words are normalised and stemmed in Python (services/search/text.py) on both sides; FTS5
only splits on spaces. The index is kept as rows are stored: a photo's caption with the
photo (`index_caption`), a result's words with the result (`index_result`, called in the
same transaction by `save_result` and a cache hit). Rows go with their photo or job through
ON DELETE CASCADE. `refresh_search_index` (run when the storage opens) indexes what was
stored before (an older build, a result kind wired later) and rebuilds everything when the
normalisation changed.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.storage.connection import Connection
from bot.storage.rows import JobStatus, Photo, photo_from_row
from services.models.clip import TagResult
from services.results import TAGS
from services.search import text as search_text
from services.search.result_texts import CAPTION, INDEXED_KINDS, texts_of

log = logging.getLogger("vitrina.bot")
RAW_SEPARATOR = " · "


@dataclass(frozen=True)
class WordHit:
    photo_id: int
    score: float  # FTS5 bm25 (lower is better)


@dataclass(frozen=True)
class PhotoText:
    source: str  # "caption" or the result kind ("tags", "description", ...)
    raw: str


@dataclass(frozen=True)
class HistoryItem:
    photo: Photo
    ops: tuple[str, ...]  # the operations done on it, oldest first, each once


async def index_caption(
    db: aiosqlite.Connection, photo_id: int, user_id: int, caption: str | None
) -> None:
    """The photo's caption as a row of the index (inside the caller's transaction)."""
    await db.execute("DELETE FROM search_texts WHERE photo_id = ? AND job_id IS NULL", (photo_id,))
    if caption and caption.strip():
        await _insert(db, user_id, photo_id, None, CAPTION, [caption.strip()])


async def index_result(
    db: aiosqlite.Connection, job_id: int, kind: str, payload: dict[str, Any]
) -> None:
    """A stored result's words as a row of the index (inside the caller's transaction). A
    kind with no texts of its own (an image) is not indexed; a kind that has them gets a
    row even when empty, which marks the result as indexed."""
    if kind not in INDEXED_KINDS:
        return
    async with db.execute("SELECT user_id, photo_id FROM jobs WHERE id = ?", (job_id,)) as c:
        job = await c.fetchone()
    if job is None:
        return
    await db.execute("DELETE FROM search_texts WHERE job_id = ?", (job_id,))
    await _insert(db, job[0], job[1], job_id, kind, texts_of(kind, payload))


async def _insert(
    db: aiosqlite.Connection,
    user_id: int,
    photo_id: int,
    job_id: int | None,
    source: str,
    texts: Sequence[str],
) -> None:
    await db.execute(
        "INSERT INTO search_texts (user_id, photo_id, job_id, source, raw, owner, stems) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            user_id,
            photo_id,
            job_id,
            source,
            RAW_SEPARATOR.join(texts),
            search_text.owner_token(user_id),
            search_text.index_text(texts),
        ),
    )


class SearchQueries(Connection):
    async def open(self) -> None:
        """Open, migrate, then bring the search index up to date (see the module's text)."""
        await super().open()
        await self.refresh_search_index()

    async def refresh_search_index(self) -> int:
        """Index every caption and result that has no row yet; everything again when the
        stems were made by another normalisation. Returns the rows written."""
        async with self._lock:
            async with self.db.execute("SELECT version FROM search_meta") as cursor:
                row = await cursor.fetchone()
            rebuild = row is None or row[0] != search_text.VERSION
            if rebuild:
                await self.db.execute("DELETE FROM search_texts")
            written = 0
            async with self.db.execute(
                "SELECT p.id, p.user_id, p.caption FROM photos p WHERE p.caption IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM search_texts s "
                "WHERE s.photo_id = p.id AND s.job_id IS NULL)"
            ) as cursor:
                captions = await cursor.fetchall()
            for photo_id, user_id, caption in captions:
                await index_caption(self.db, photo_id, user_id, caption)
                written += 1
            kinds = sorted(INDEXED_KINDS)
            marks = ",".join("?" * len(kinds))
            async with self.db.execute(
                f"SELECT r.job_id, r.kind, r.payload FROM results r WHERE r.kind IN ({marks}) "
                "AND NOT EXISTS (SELECT 1 FROM search_texts s WHERE s.job_id = r.job_id)",
                kinds,
            ) as cursor:
                results = await cursor.fetchall()
            for job_id, kind, payload in results:
                await index_result(self.db, job_id, kind, json.loads(payload))
                written += 1
            await self.db.execute("DELETE FROM search_meta")
            await self.db.execute("INSERT INTO search_meta VALUES (?)", (search_text.VERSION,))
            await self.db.commit()
        if written:
            log.info("search index: %d texts indexed%s", written, " (rebuilt)" if rebuild else "")
        return written

    async def search_words(self, user_id: int, stems: list[str], limit: int = 50) -> list[WordHit]:
        """The user's photos (not deleted) whose texts hold any of ``stems``, best first."""
        match = search_text.match_expression(search_text.owner_token(user_id), stems)
        if match is None:
            return []
        # bm25 over the stems only (the owner column weighs 0); MATERIALIZED: the FTS5
        # query runs as written (a flattened join cannot call bm25)
        async with self.db.execute(
            "WITH hits AS MATERIALIZED ("
            "  SELECT rowid, bm25(search_index, 0.0, 1.0) AS score FROM search_index"
            "  WHERE search_index MATCH ?"
            ") SELECT s.photo_id, MIN(h.score) AS best FROM hits h "
            "JOIN search_texts s ON s.id = h.rowid JOIN photos p ON p.id = s.photo_id "
            "WHERE p.deleted = 0 GROUP BY s.photo_id ORDER BY best, s.photo_id DESC LIMIT ?",
            (match, limit),
        ) as cursor:
            return [WordHit(row[0], row[1]) for row in await cursor.fetchall()]

    async def photo_texts(self, photo_ids: Sequence[int]) -> dict[int, list[PhotoText]]:
        """The indexed texts of each photo, caption first, then by result."""
        if not photo_ids:
            return {}
        marks = ",".join("?" * len(photo_ids))
        found: dict[int, list[PhotoText]] = {}
        async with self.db.execute(
            f"SELECT photo_id, source, raw FROM search_texts WHERE photo_id IN ({marks}) "
            "ORDER BY photo_id, job_id IS NOT NULL, job_id",
            list(photo_ids),
        ) as cursor:
            for photo_id, source, raw in await cursor.fetchall():
                found.setdefault(photo_id, []).append(PhotoText(source, raw))
        return found

    async def search_rows(self, user_id: int) -> int:
        """How many index rows the user has (tests, /forget_me checks)."""
        async with self.db.execute(
            "SELECT COUNT(*) FROM search_texts WHERE user_id = ?", (user_id,)
        ) as cursor:
            total = (await cursor.fetchone())[0]
        async with self.db.execute(
            "SELECT COUNT(*) FROM search_index WHERE search_index MATCH ?",
            (f'owner : "{search_text.owner_token(user_id)}"',),
        ) as cursor:
            return int(total) + int((await cursor.fetchone())[0])

    # ---- the library's reads

    async def library_photos(self, user_id: int, limit: int) -> list[Photo]:
        """The user's photos, newest first (not deleted)."""
        async with self.db.execute(
            "SELECT * FROM photos WHERE user_id = ? AND deleted = 0 ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        ) as cursor:
            return [photo_from_row(row) for row in await cursor.fetchall()]

    async def library_keys(self, user_id: int, limit: int) -> list[tuple[int, str]]:
        """(photo id, sha256) of the user's photos, newest first (not deleted)."""
        async with self.db.execute(
            "SELECT id, sha256 FROM photos WHERE user_id = ? AND deleted = 0 "
            "ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        ) as cursor:
            return [(row[0], row[1]) for row in await cursor.fetchall()]

    async def photos_by_id(self, photo_ids: Sequence[int]) -> dict[int, Photo]:
        if not photo_ids:
            return {}
        marks = ",".join("?" * len(photo_ids))
        async with self.db.execute(
            f"SELECT * FROM photos WHERE id IN ({marks}) AND deleted = 0", list(photo_ids)
        ) as cursor:
            return {row["id"]: photo_from_row(row) for row in await cursor.fetchall()}

    async def history_page(
        self, user_id: int, offset: int, limit: int
    ) -> tuple[int, list[HistoryItem]]:
        """(how many photos the user has, one page of them newest first with what was done
        to each)."""
        async with self.db.execute(
            "SELECT COUNT(*) FROM photos WHERE user_id = ? AND deleted = 0", (user_id,)
        ) as cursor:
            total = int((await cursor.fetchone())[0])
        async with self.db.execute(
            "SELECT * FROM photos WHERE user_id = ? AND deleted = 0 ORDER BY id DESC "
            "LIMIT ? OFFSET ?",
            (user_id, limit, max(offset, 0)),
        ) as cursor:
            rows = await cursor.fetchall()
        photos = [photo_from_row(row) for row in rows]
        ops = await self.ops_done([photo.id for photo in photos])
        return total, [HistoryItem(photo, tuple(ops.get(photo.id, ()))) for photo in photos]

    async def ops_done(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        """photo -> the operations finished on it, oldest first, each once."""
        if not photo_ids:
            return {}
        marks = ",".join("?" * len(photo_ids))
        found: dict[int, list[str]] = {}
        async with self.db.execute(
            f"SELECT photo_id, op FROM jobs WHERE photo_id IN ({marks}) AND status = ? "
            "ORDER BY id",
            [*photo_ids, JobStatus.DONE],
        ) as cursor:
            for photo_id, op in await cursor.fetchall():
                if op not in found.setdefault(photo_id, []):
                    found[photo_id].append(op)
        return found

    async def photo_results(self, photo_id: int) -> list[tuple[int, str, str, dict[str, Any]]]:
        """(job id, op, result kind, payload) of every finished job on the photo, newest
        first."""
        async with self.db.execute(
            "SELECT j.id, j.op, r.kind, r.payload FROM jobs j JOIN results r ON r.job_id = j.id "
            "WHERE j.photo_id = ? AND j.status = ? ORDER BY j.id DESC",
            (photo_id, JobStatus.DONE),
        ) as cursor:
            return [
                (row[0], row[1], row[2], json.loads(row[3])) for row in await cursor.fetchall()
            ]

    async def latest_tags(self, photo_ids: Sequence[int]) -> dict[int, TagResult]:
        """photo -> its newest tag result (one stored by an older build and unreadable: none)."""
        if not photo_ids:
            return {}
        marks = ",".join("?" * len(photo_ids))
        found: dict[int, TagResult] = {}
        async with self.db.execute(
            f"SELECT j.photo_id, r.payload FROM jobs j JOIN results r ON r.job_id = j.id "
            f"WHERE j.photo_id IN ({marks}) AND r.kind = ? ORDER BY j.id",
            [*photo_ids, TAGS.name],
        ) as cursor:
            for photo_id, payload in await cursor.fetchall():
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    found[photo_id] = TAGS.from_payload(json.loads(payload))  # the newest wins
        return found

    async def active_job_ids(self, photo_id: int) -> list[int]:
        """Jobs on the photo still queued or running (cancelled before it is deleted)."""
        async with self.db.execute(
            "SELECT id FROM jobs WHERE photo_id = ? AND status IN (?, ?)",
            (photo_id, JobStatus.QUEUED, JobStatus.RUNNING),
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]
