"""Queries on publishing (issue 30): a seller's marketplace token (encrypted: the caller
seals it; this module never sees it in clear) and the upload runs (`publish_runs`, the
cards they go to, each photo's step).

Storing or deleting a token stores an erasure in the same transaction: the WAL is emptied
by the erasure finisher once the update that carried the token is handled (its payload cut
to its id), so no clear copy of the text the seller pasted is left in the files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.storage.erasure import Erasure
from bot.storage.rows import fits, now, result_from_row

PLANNED, RUNNING, DONE, FAILED, CANCELLED = "planned", "running", "done", "failed", "cancelled"
PENDING, SENDING, SKIPPED = "pending", "sending", "skipped"


@dataclass(frozen=True)
class PublishRun:
    id: int
    user_id: int
    chat_id: int
    marketplace: str
    mode: str | None
    status: str
    progress_message_id: int | None
    summary_sent: bool
    error: str | None


@dataclass(frozen=True)
class PublishCard:
    nm_id: int
    article: str
    title: str
    count_before: int
    base: int | None
    count_after: int | None
    status: str
    error: str | None


@dataclass(frozen=True)
class PublishItem:
    position: int
    photo_id: int
    source: str  # the file uploaded: a result image, else the photo itself
    name: str
    nm_id: int
    card_index: int  # its place among this card's photos in the run (0-based)
    state: str
    error: str | None


def _run(row: aiosqlite.Row) -> PublishRun:
    return PublishRun(
        row["id"],
        row["user_id"],
        row["chat_id"],
        row["marketplace"],
        row["mode"],
        row["status"],
        row["progress_message_id"],
        bool(row["summary_sent"]),
        row["error"],
    )


class PublishQueries(Erasure):
    # ---- tokens

    async def store_token(
        self, user_id: int, marketplace: str, ciphertext: bytes, last4: str
    ) -> None:
        async with self._lock:
            await self.db.execute(
                "INSERT OR REPLACE INTO marketplace_tokens "
                "(user_id, marketplace, ciphertext, last4, created_at) VALUES (?, ?, ?, ?, ?)",
                (user_id, marketplace, ciphertext, last4, now()),
            )
            await self._store_erasure("token", [])  # the WAL emptied once the update is done
            await self.db.commit()
        self.erasure_wanted().set()

    async def forget_clear_copies(self, what: str) -> None:
        """Only an erasure: the WAL is emptied once the update in flight is handled (a token
        that was refused went through the inbox too)."""
        async with self._lock:
            await self._store_erasure(what, [])
            await self.db.commit()
        self.erasure_wanted().set()

    async def token_of(self, user_id: int, marketplace: str) -> tuple[bytes, str] | None:
        """(ciphertext, last 4 characters) of the user's token, if connected."""
        async with self.db.execute(
            "SELECT ciphertext, last4 FROM marketplace_tokens WHERE user_id = ? "
            "AND marketplace = ?",
            (user_id, marketplace),
        ) as cursor:
            row = await cursor.fetchone()
        return (bytes(row[0]), str(row[1])) if row else None

    async def erase_tokens(self, user_id: int, marketplace: str | None = None) -> int:
        """/disconnect: the token rows go and an erasure is stored, in one transaction."""
        where, args = "user_id = ?", [user_id]
        if marketplace is not None:
            where, args = where + " AND marketplace = ?", [user_id, marketplace]
        async with self._lock:
            cursor = await self.db.execute(f"DELETE FROM marketplace_tokens WHERE {where}", args)
            await self._store_erasure("token", [])
            await self.db.commit()
        self.erasure_wanted().set()
        return int(cursor.rowcount or 0)

    # ---- what to upload

    async def latest_image_files(self, photo_id: int) -> list[Path]:
        """The files of the photo's newest image result (one image; a gallery's slides in
        order) that are still on disk; [] when it has none."""
        async with self.db.execute(
            "SELECT r.job_id FROM results r JOIN jobs j ON j.id = r.job_id "
            "WHERE j.photo_id = ? AND r.kind IN ('image', 'gallery') "
            "ORDER BY r.job_id DESC LIMIT 1",
            (photo_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return await self.job_image_files(int(row[0])) if row else []

    async def job_image_files(self, job_id: int) -> list[Path]:
        """A job's image result files on disk (one image; a gallery's slides in order)."""
        async with self.db.execute(
            "SELECT job_id, kind, payload FROM results WHERE job_id = ? "
            "AND kind IN ('image', 'gallery')",
            (job_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return []
        result = result_from_row(row)
        value = result.value
        if result.kind == "image":
            names = [value.file]
        else:
            names = [slide.file for slide in value.slides if slide.file]
        paths = [self.results_dir / name for name in names if name]
        return [path for path in paths if path.is_file()]

    async def photo_file_name(self, photo_id: int) -> str | None:
        """The document's file name a set kept for this photo (the article is read from it)."""
        async with self.db.execute(
            "SELECT file_name FROM set_photos WHERE photo_id = ? AND file_name IS NOT NULL "
            "LIMIT 1",
            (photo_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    # ---- runs

    async def create_publish_run(
        self,
        user_id: int,
        chat_id: int,
        marketplace: str,
        cards: list[tuple[int, str, str, int]],
        items: list[tuple[int, str, str, int, int]],
        origin: str | None = None,
    ) -> int:
        """A planned run: `cards` (nmID, article, title, photo count now), `items` (photo id,
        file, name, nmID, index among the card's photos), in the order they will go."""
        async with self._lock:
            cursor = await self.db.execute(
                "INSERT INTO publish_runs (user_id, chat_id, marketplace, status, origin, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, chat_id, marketplace, PLANNED, origin, now()),
            )
            run_id = int(cursor.lastrowid or 0)
            await self.db.executemany(
                "INSERT INTO publish_cards (run_id, nm_id, article, title, count_before) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, *card) for card in cards],
            )
            await self.db.executemany(
                "INSERT INTO publish_items (run_id, position, photo_id, source, name, nm_id, "
                "card_index) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, i, *item) for i, item in enumerate(items, 1)],
            )
            await self.db.commit()
        return run_id

    async def publish_run_by_origin(self, origin: str) -> int | None:
        async with self.db.execute(
            "SELECT id FROM publish_runs WHERE origin = ?", (origin,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else None

    async def get_publish_run(self, run_id: int) -> PublishRun | None:
        if not fits(run_id):
            return None
        async with self.db.execute("SELECT * FROM publish_runs WHERE id = ?", (run_id,)) as c:
            row = await c.fetchone()
        return _run(row) if row else None

    async def running_publish_runs(self) -> list[PublishRun]:
        async with self.db.execute(
            "SELECT * FROM publish_runs WHERE status = ? ORDER BY id", (RUNNING,)
        ) as cursor:
            return [_run(row) for row in await cursor.fetchall()]

    async def publish_cards(self, run_id: int) -> list[PublishCard]:
        async with self.db.execute(
            "SELECT nm_id, article, title, count_before, base, count_after, status, error "
            "FROM publish_cards WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        ) as cursor:
            return [PublishCard(*row) for row in await cursor.fetchall()]

    async def publish_items(self, run_id: int) -> list[PublishItem]:
        async with self.db.execute(
            "SELECT position, photo_id, source, name, nm_id, card_index, state, error "
            "FROM publish_items WHERE run_id = ? ORDER BY position",
            (run_id,),
        ) as cursor:
            return [PublishItem(*row) for row in await cursor.fetchall()]

    async def start_publish_run(self, run_id: int, mode: str) -> bool:
        """planned -> running with the mode chosen; False when it was not planned (a second
        press, a cancelled run)."""
        async with self._lock:
            cursor = await self.db.execute(
                "UPDATE publish_runs SET mode = ?, status = ? WHERE id = ? AND status = ?",
                (mode, RUNNING, run_id, PLANNED),
            )
            await self.db.commit()
        return bool(cursor.rowcount)

    async def set_publish_run(self, run_id: int, **values: object) -> None:
        if values.get("status") in (DONE, FAILED, CANCELLED):
            values["finished_at"] = now()
        await self._set("publish_runs", "id = ?", (run_id,), values)

    async def set_publish_card(self, run_id: int, nm_id: int, **values: object) -> None:
        await self._set("publish_cards", "run_id = ? AND nm_id = ?", (run_id, nm_id), values)

    async def set_publish_item(self, run_id: int, position: int, **values: object) -> None:
        await self._set("publish_items", "run_id = ? AND position = ?", (run_id, position), values)

    async def _set(
        self, table: str, where: str, keys: tuple[int, ...], values: dict[str, object]
    ) -> None:
        """Columns of one row (names from this module's callers' code, never from input)."""
        columns = ", ".join(f"{name} = ?" for name in values)
        async with self._lock:
            await self.db.execute(
                f"UPDATE {table} SET {columns} WHERE {where}", (*values.values(), *keys)
            )
            await self.db.commit()
