"""The update inbox: stored before Telegram is told, handled once, replayed after a crash,
pruned after a day; the FSM storage on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.retention import prune_bookkeeping
from bot.storage import Storage
from bot.storage.fsm import SqliteStorage
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.waiting import eventually


def _tagged(record: dict) -> bool:
    return "•" in (record["text"] or "")


def _rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(sql).fetchall()


@pytest.mark.e2e
async def test_an_update_is_stored_before_the_offset_that_confirms_it(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes], tmp_path: Path
):
    await start_bot()
    database = tmp_path / "data" / "vitrina.sqlite3"
    seen: list[list[tuple]] = []
    user = emulator.user(5001, "en")
    sent = user.send_photo(photos["coffee"], caption="/tag")
    update_id = emulator.last_update_id
    # the moment Telegram forgets it, the update is in the inbox (another connection sees it)
    emulator.on_confirmed(
        update_id,
        lambda: seen.append(_rows(database, f"SELECT * FROM inbox WHERE update_id={update_id}")),
    )
    await user.wait_for_message(_tagged, timeout=30)
    assert seen and len(seen[0]) == 1
    await eventually(
        lambda: _rows(database, "SELECT state FROM inbox") == [("done",)],
        message=lambda: _rows(database, "SELECT update_id, state FROM inbox"),
    )
    assert sent["message_id"]


@pytest.mark.e2e
async def test_the_same_photo_update_delivered_twice_makes_one_job(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot()
    user = emulator.user(5002, "en")
    user.send_photo(photos["chelsea"], caption="/tag")
    update_id = emulator.last_update_id
    await user.wait_for_message(_tagged, timeout=30)
    # Telegram lost the confirmation and sends the update again (the same update_id)
    emulator.redeliver(update_id)
    duplicates = app.metrics.updates.labels("duplicate")
    await eventually(lambda: duplicates._value.get() == 1, 10)
    await app.db.db.commit()
    assert _count(await app.db.db.execute_fetchall("SELECT COUNT(*) FROM photos")) == 1
    assert _count(await app.db.db.execute_fetchall("SELECT COUNT(*) FROM jobs")) == 1
    assert sum(map(_tagged, user.bot_messages)) == 1


def _count(rows: object) -> int:
    return int(list(rows)[0][0])  # type: ignore[call-overload]


@pytest.mark.e2e
async def test_an_update_handled_again_after_a_crash_makes_nothing_twice(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes], tmp_path: Path
):
    """The handler finished (photo, job, result) but the crash came before the update was
    marked: at the next start it is handled again and finds what it made."""
    app = await start_bot(SET_WINDOW_S="0")
    user = emulator.user(5003, "en")
    user.send_photo(photos["coffee"], caption="/tag")
    user.send_album([photos["astronaut"], photos["rocket"]], caption="/tag")
    await user.wait_for_message(_tagged, timeout=30)
    await user.wait_for_messages(lambda r: r["method"] == "sendDocument", 1, timeout=60)  # ZIP
    database = tmp_path / "data" / "vitrina.sqlite3"
    await eventually(lambda: _rows(database, "SELECT status FROM set_runs") == [("done",)])
    await app.stop()
    before = {
        table: _rows(database, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("photos", "jobs", "sets", "set_runs")
    }
    assert before == {"photos": 3, "jobs": 3, "sets": 1, "set_runs": 1}
    with sqlite3.connect(database) as db:  # as if killed before the updates were marked
        db.execute("UPDATE inbox SET state = 'new', done_at = NULL")
    messages_before = len(user.bot_messages)

    app = await start_bot(SET_WINDOW_S="0")
    assert await app.db.inbox_backlog() == 0  # replayed before polling began
    after = {
        table: _rows(database, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("photos", "jobs", "sets", "set_runs")
    }
    assert after == before
    # no second result, no second ZIP (a "photo received" may come again: the handler's
    # answers before its job are sent again when it is handled again)
    again = user.bot_messages[messages_before:]
    assert not any(_tagged(r) or r["method"] == "sendDocument" for r in again), again


async def test_inbox_rows_replay_give_up_and_prune(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        fresh = await db.store_updates([(1, "{}", 7), (2, "{}", 7)])
        assert fresh == [1, 2]
        assert await db.store_updates([(2, "{}", 7), (3, "{}", None)]) == [3]  # 2: stored
        await db.finish_update(1)
        for _ in range(3):
            pending, given_up = await db.pending_updates(max_attempts=3)
            assert [row.update_id for row in pending] == [2, 3] and given_up == []
        pending, given_up = await db.pending_updates(max_attempts=3)
        assert pending == [] and given_up == [2, 3]  # a fourth start: given up
        assert await db.inbox_backlog() == 0
        # handled rows go after a day; a row not handled yet never does
        await db.store_updates([(4, "{}", 7)])
        assert await prune_bookkeeping(db, datetime.now(UTC) + timedelta(hours=23)) == 0
        assert await prune_bookkeeping(db, datetime.now(UTC) + timedelta(days=1, minutes=1)) == 3
        assert await db.inbox_state(4) == "new"
        # /forget_me takes a user's handled updates (and dialogues) too
        await db.upsert_user(7, "en", None)
        await db.finish_update(4)
        await db.erase_user(7)
        assert await db.inbox_state(4) is None


async def test_the_fsm_storage_keeps_state_and_data_with_a_ttl(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        storage = SqliteStorage(db, ttl_s=600)
        key = StorageKey(bot_id=1, chat_id=7, user_id=7)
        other = StorageKey(bot_id=1, chat_id=7, user_id=7, destiny="other")
        assert await storage.get_state(key) is None and await storage.get_data(key) == {}
        await storage.set_state(key, "EditPrompt:instruction")
        await storage.set_data(key, {"photo_id": 3, "note": "ночь"})
        assert await storage.update_data(key, {"x": 1}) == {"photo_id": 3, "note": "ночь", "x": 1}
        assert await storage.get_state(other) is None
        # a second storage on the same file (a restart) reads it
        again = SqliteStorage(db, ttl_s=600)
        assert await again.get_state(key) == "EditPrompt:instruction"
        assert (await again.get_data(key))["note"] == "ночь"
        # cleared: no row left
        await again.set_state(key, None)
        await again.set_data(key, {})
        assert await db.db.execute_fetchall("SELECT * FROM fsm") == []
        # expired: reads as nothing, and the retention pass removes it
        short = SqliteStorage(db, ttl_s=-1)
        await short.set_state(key, "EditPrompt:instruction")
        assert await short.get_state(key) is None
        await db.prune_fsm()
        assert await db.db.execute_fetchall("SELECT * FROM fsm") == []
