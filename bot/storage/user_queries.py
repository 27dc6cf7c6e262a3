"""Queries on `users`: who a user is, their language, domain and marketplace profile."""

from __future__ import annotations

from bot.storage.connection import Connection
from bot.storage.rows import User, now, user_from_row

#: the users' columns /settings may write (bot/user_settings.py), each with what it takes;
#: `profile` (the default marketplace profile) exists once the check issue's migration ran
SETTING_COLUMNS = ("domain", "background", "tags_mode", "edit_strength", "profile", "brand")


class UserQueries(Connection):
    async def upsert_user(self, user_id: int, language: str, username: str | None) -> User:
        """Create the user on first sight; afterwards keep their domain and settings, refresh
        the rest (Telegram's language only while the user has not chosen one)."""
        stamp = now()
        async with self._lock:
            await self.db.execute(
                """INSERT INTO users (id, language, username, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET
                     language = CASE WHEN users.language_chosen THEN users.language
                                     ELSE excluded.language END,
                     username = excluded.username, updated_at = excluded.updated_at""",
                (user_id, language, username, stamp, stamp),
            )
            await self.db.commit()
        user = await self.get_user(user_id)
        assert user is not None
        return user

    async def get_user(self, user_id: int) -> User | None:
        async with self.db.execute("SELECT * FROM users WHERE id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return user_from_row(row) if row else None

    async def set_language(self, user_id: int, language: str) -> None:
        """The user's own choice (/settings): kept over Telegram's from now on."""
        async with self._lock:
            await self.db.execute(
                "UPDATE users SET language = ?, language_chosen = 1, updated_at = ? WHERE id = ?",
                (language, now(), user_id),
            )
            await self.db.commit()

    async def user_columns(self) -> frozenset[str]:
        """The users table's columns (a setting whose column a build lacks is not shown)."""
        async with self.db.execute("PRAGMA table_info(users)") as cursor:
            return frozenset(row[1] for row in await cursor.fetchall())

    async def get_setting(self, user_id: int, column: str) -> str | None:
        if column not in SETTING_COLUMNS or column not in await self.user_columns():
            return None
        async with self.db.execute(
            f"SELECT {column} FROM users WHERE id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else str(row[0])

    async def set_setting(self, user_id: int, column: str, value: str | None) -> None:
        """One /settings value (None: back to the deployment's default)."""
        if column not in SETTING_COLUMNS:
            raise ValueError(f"{column!r} is not a user setting")
        async with self._lock:
            await self.db.execute(
                f"UPDATE users SET {column} = ?, updated_at = ? WHERE id = ?",
                (value, now(), user_id),
            )
            await self.db.commit()

    async def set_domain(self, user_id: int, domain: str) -> None:
        async with self._lock:
            await self.db.execute(
                "UPDATE users SET domain = ?, updated_at = ? WHERE id = ?",
                (domain, now(), user_id),
            )
            await self.db.commit()

    async def set_profile(self, user_id: int, profile: str) -> None:
        """The marketplace profile /check and "Fix for" use when none is named."""
        await self.set_setting(user_id, "profile", profile)
