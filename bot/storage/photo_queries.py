"""Queries on `photos`: storing what a user sent (file on disk + row) and finding it again."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.storage.connection import Connection
from bot.storage.files import store_file
from bot.storage.rows import Photo, fits, now, photo_from_row
from bot.storage.search_queries import index_caption


class PhotoQueries(Connection):
    async def add_photo(
        self,
        *,
        user_id: int,
        chat_id: int,
        message_id: int,
        file_id: str,
        file_unique_id: str,
        data: bytes | None = None,
        stored: tuple[str, Path, int] | None = None,
        width: int,
        height: int,
        extension: str = "jpg",
        media_group_id: str | None = None,
        caption: str | None = None,
        media: str | None = None,
    ) -> Photo:
        """Store the file and its row; ``caption`` (the user's words under it, not a
        command) goes into the search index in the same transaction. One row per message:
        a message stored already (an update handled again after a restart) returns its row."""
        if stored is not None:  # hashed and written already (bot/intake.py): (sha256, path, size)
            digest, path, size = stored
        elif data is not None:
            digest, path = await asyncio.to_thread(store_file, self.photos_dir, data, extension)
            size = len(data)
        else:
            raise ValueError("add_photo needs the data or the stored file")
        async with self._lock:
            cursor = await self.db.execute(
                """INSERT OR IGNORE INTO photos (user_id, chat_id, message_id, file_id,
                     file_unique_id, sha256, size, width, height, path, media_group_id,
                     created_at, caption, media)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    user_id,
                    chat_id,
                    message_id,
                    file_id,
                    file_unique_id,
                    digest,
                    size,
                    width,
                    height,
                    str(path),
                    media_group_id,
                    now(),
                    caption,
                    media,
                ),
            )
            if not cursor.rowcount:  # this message's photo is stored already
                await self.db.commit()
                stored = await self.stored_photo(chat_id, message_id)
                assert stored is not None
                return stored
            photo_id = cursor.lastrowid
            await index_caption(self.db, int(photo_id or 0), user_id, caption)
            await self.db.commit()
        photo = await self.get_photo(int(photo_id or 0))
        assert photo is not None
        return photo

    async def stored_photo(self, chat_id: int, message_id: int) -> Photo | None:
        """The photo of this message, if it is stored (and not deleted)."""
        return await self._one_photo(
            "chat_id = ? AND message_id = ? AND deleted = 0", (chat_id, message_id)
        )

    async def get_photo(self, photo_id: int) -> Photo | None:
        if not fits(photo_id):  # forged callback data
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

    async def _one_photo(self, where: str, args: tuple[Any, ...]) -> Photo | None:
        async with self.db.execute(
            f"SELECT * FROM photos WHERE {where} ORDER BY id DESC LIMIT 1", args
        ) as cursor:
            row = await cursor.fetchone()
        return photo_from_row(row) if row is not None else None
