"""Queries on `users`: who a user is, their language, domain and marketplace profile."""

from __future__ import annotations

from bot.storage.connection import Connection
from bot.storage.rows import User, now


class UserQueries(Connection):
    async def upsert_user(self, user_id: int, language: str, username: str | None) -> User:
        """Create the user on first sight; afterwards keep their domain, refresh the rest."""
        stamp = now()
        async with self._lock:
            await self.db.execute(
                """INSERT INTO users (id, language, username, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET
                     language = excluded.language, username = excluded.username,
                     updated_at = excluded.updated_at""",
                (user_id, language, username, stamp, stamp),
            )
            await self.db.commit()
        user = await self.get_user(user_id)
        assert user is not None
        return user

    async def get_user(self, user_id: int) -> User | None:
        async with self.db.execute(
            "SELECT id, language, domain, username, profile FROM users WHERE id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return User(row["id"], row["language"], row["domain"], row["username"], row["profile"])

    async def set_domain(self, user_id: int, domain: str) -> None:
        async with self._lock:
            await self.db.execute(
                "UPDATE users SET domain = ?, updated_at = ? WHERE id = ?",
                (domain, now(), user_id),
            )
            await self.db.commit()

    async def set_profile(self, user_id: int, profile: str) -> None:
        """The marketplace profile /check and "Fix for" use when none is named."""
        async with self._lock:
            await self.db.execute(
                "UPDATE users SET profile = ?, updated_at = ? WHERE id = ?",
                (profile, now(), user_id),
            )
            await self.db.commit()
