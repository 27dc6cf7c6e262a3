"""aiogram's FSM storage on the bot's own SQLite database: a dialogue (the Edit button's
"send me the instruction", a set's edit prompt) survives a restart or a deploy.

One row per aiogram `StorageKey` (bot, chat, user, thread, business connection, destiny)
holds the state and its data (JSON). Every write sets `expires_at` = now + the TTL; an
expired row reads as no state and no data (and `prune_fsm` removes it), so a question left
unanswered does not capture a message sent days later. A cleared dialogue leaves no row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.connection import Connection

Key = tuple[int, int, int, int, str, str]
_WHERE = (
    "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ? AND business_id = ? "
    "AND destiny = ?"
)
_COLUMNS = "bot_id, chat_id, user_id, thread_id, business_id, destiny"


class FsmQueries(Connection):
    async def fsm_read(self, key: Key) -> tuple[str | None, str] | None:
        """(state, data JSON) of a dialogue that has not expired."""
        async with self.db.execute(
            f"SELECT state, data FROM fsm WHERE {_WHERE} AND expires_at > ?", (*key, time.time())
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    async def fsm_write(self, key: Key, column: str, value: str | None, ttl_s: float) -> None:
        """Set `column` ("state" or "data"); the other keeps its value unless the row had
        expired. The TTL starts again."""
        other = {"state": "data", "data": "state"}[column]
        fresh = {"state": None, "data": "{}", column: value}
        stamp = time.time()
        async with self._lock:
            await self.db.execute(
                f"INSERT INTO fsm ({_COLUMNS}, state, data, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT ({_COLUMNS}) DO UPDATE SET {column} = excluded.{column}, "
                f"expires_at = excluded.expires_at, {other} = CASE WHEN fsm.expires_at > ? "
                f"THEN fsm.{other} ELSE excluded.{other} END",
                (*key, fresh["state"], fresh["data"], stamp + ttl_s, stamp),
            )
            await self.db.execute(
                f"DELETE FROM fsm WHERE {_WHERE} AND state IS NULL AND data = '{{}}'", key
            )
            await self.db.commit()

    async def prune_fsm(self) -> int:
        """Expired dialogues go (the retention task)."""
        async with self._lock:
            cursor = await self.db.execute("DELETE FROM fsm WHERE expires_at <= ?", (time.time(),))
            await self.db.commit()
        return int(cursor.rowcount or 0)


def _key(key: StorageKey) -> Key:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id or 0,
        key.business_connection_id or "",
        key.destiny,
    )


class SqliteStorage(BaseStorage):
    """`Dispatcher(storage=SqliteStorage(db, ttl_s))`; `db` is opened and closed by the app."""

    def __init__(self, db: FsmQueries, ttl_s: float) -> None:
        self.db = db
        self.ttl_s = ttl_s

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.db.fsm_write(_key(key), "state", value, self.ttl_s)

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self.db.fsm_read(_key(key))
        return row[0] if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):  # as aiogram's own storages refuse it
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        payload = json.dumps(dict(data), ensure_ascii=False)
        await self.db.fsm_write(_key(key), "data", payload, self.ttl_s)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self.db.fsm_read(_key(key))
        return dict(json.loads(row[1])) if row else {}

    async def close(self) -> None:
        """The connection is the application's: it closes it after the dispatcher stops."""
