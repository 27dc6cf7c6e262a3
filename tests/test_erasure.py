"""Erased means erased (issue 32): after /forget_me, /delete and the retention sweep no word
a user sent is left in the bytes of the database file, its WAL or its shared memory: not in
a row, not in the WAL's old frames, not in the search index's tombstones. And the inbox
keeps no caption or text once an update is handled; no such text is logged at INFO."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.retention import RetentionTask, finish_erasures
from bot.storage import Storage
from services.search.text import owner_token, stems
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator, FakeUser
from tests.waiting import eventually

Json = dict[str, Any]
CAPTION = "секретная подпись 7311"
PHONE_TEXT = "мой телефон +79991237311"
KEPT_CAPTION = "синяя кружка 4455"


def secrets_of(*texts: str) -> set[str]:
    """The words of `texts`, their stems (the search index's own stemmer) and the digits."""
    found = {"7311", "79991237311"}
    for text in texts:
        found.update(word.strip("+") for word in text.split())
        found.update(stems(text))
    return {word for word in found if len(word) >= 3}  # «мой» → «мо»: too short to mean it


def database_files(database: Path) -> list[Path]:
    return [p for p in database.parent.glob(database.name + "*") if p.is_file()]


def left_in_files(database: Path, words: set[str]) -> dict[str, list[str]]:
    """word -> the files (the database, -wal, -shm) whose raw bytes hold it in UTF-8."""
    found: dict[str, list[str]] = {}
    for path in database_files(database):
        data = path.read_bytes()
        for word in words:
            if word.encode() in data:
                found.setdefault(word, []).append(path.name)
    return found


def info_logs(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)


async def _photo_answered(user: FakeUser, message: Json) -> None:
    await user.wait_for_message(
        lambda r: r["reply_to_message_id"] == message["message_id"] and r["reply_markup"]
    )


async def _erasures_finished(db: Storage) -> None:
    seen: list[object] = []

    async def finished() -> bool:
        seen[:] = [await db.pending_erasures(), await db.inbox_backlog()]
        return seen == [[], 0]

    await eventually(finished, timeout=20, message=lambda: f"(erasures, inbox backlog): {seen}")


async def _none_pending(db: Storage) -> bool:
    return await db.pending_erasures() == [] and await db.inbox_backlog() == 0


@pytest.mark.e2e
async def test_forget_me_leaves_no_word_in_the_database_files(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await start_bot()
    db: Storage = app.db
    database = Path(app.settings.database_path)
    user, other = emulator.user(9511, "ru"), emulator.user(9512, "ru")
    message = user.send_photo(photos["coffee"], caption=CAPTION)
    await _photo_answered(user, message)
    before = len(emulator.bot_messages)
    user.send_text(PHONE_TEXT)
    await user.wait_for_message(after=before)
    user.send_text("/tag")
    await user.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=30)
    kept = other.send_photo(photos["chelsea"], caption=KEPT_CAPTION)
    await _photo_answered(other, kept)

    words = secrets_of(CAPTION, PHONE_TEXT) | {owner_token(user.user_id)}
    assert {"секретн", "подп", "7311", "79991237311", "телефон"} <= words
    # the check sees them while they are kept (in the file or in the WAL)
    assert set(left_in_files(database, {"секретн", "7311"})) == {"секретн", "7311"}

    user.send_text("/forget_me")
    ask = await user.wait_for_message(lambda r: "Удалить все ваши фото" in (r["text"] or ""))
    yes = emulator.buttons(ask)[0][1]
    await emulator.wait_for_callback_answer(user.press_button(ask, yes))
    await user.wait_for_message(lambda r: "всё, что я хранил" in (r["text"] or ""))
    await _erasures_finished(db)

    running = {path.name for path in database_files(database)}
    assert {database.name + suffix for suffix in ("", "-wal", "-shm")} <= running
    assert left_in_files(database, words) == {}  # while the bot runs: file, WAL, shm
    assert await db.search_words(other.user_id, stems(KEPT_CAPTION)) != []
    logged = info_logs(caplog)
    assert [word for word in secrets_of(CAPTION, PHONE_TEXT) if word in logged] == []
    await app.stop()
    assert left_in_files(database, words) == {}
    assert left_in_files(database, set(stems(KEPT_CAPTION))) != {}


@pytest.mark.e2e
async def test_delete_of_one_photo_leaves_no_word_of_it(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    db: Storage = app.db
    database = Path(app.settings.database_path)
    user = emulator.user(9513, "ru")
    erased = user.send_photo(photos["coffee"], caption=CAPTION)
    await _photo_answered(user, erased)
    kept = user.send_photo(photos["chelsea"], caption=KEPT_CAPTION)
    await _photo_answered(user, kept)
    words = secrets_of(CAPTION)
    assert set(left_in_files(database, {"7311"})) == {"7311"}

    user.send_text("/delete", reply_to=erased["message_id"])
    ask = await user.wait_for_message(lambda r: "Удалить это фото" in (r["text"] or ""))
    photo = await db.photo_by_message(user.user_id, erased["message_id"])
    assert photo is not None
    await emulator.wait_for_callback_answer(user.press_button(ask, emulator.buttons(ask)[0][1]))
    await user.wait_for_message(lambda r: "Фото и его результаты удалены" in (r["text"] or ""))
    await _erasures_finished(db)
    await eventually(lambda: not photo.path.exists())

    assert left_in_files(database, words) == {}
    before = len(emulator.bot_messages)
    user.send_text("/find кружка")
    listing = await user.wait_for_message(lambda r: "кружка" in (r["text"] or ""), after=before)
    assert "нашлось 1 фото" in listing["text"]


async def _photo(
    db: Storage, user_id: int, message_id: int, caption: str, data: bytes = b""
) -> int:
    await db.upsert_user(user_id, "ru", None)
    photo = await db.add_photo(
        user_id=user_id,
        chat_id=user_id,
        message_id=message_id,
        file_id=f"f{message_id}",
        file_unique_id=f"u{message_id}",
        data=data or f"photo {message_id}".encode(),
        width=64,
        height=64,
        caption=caption,
    )
    return photo.id


async def test_an_erasure_a_crash_interrupted_is_finished_at_the_next_start(
    tmp_path: Path,
) -> None:
    database = tmp_path / "db.sqlite3"
    async with Storage(database, tmp_path / "photos") as db:
        await _photo(db, 1, 1, CAPTION)
        await _photo(db, 2, 2, KEPT_CAPTION)
        stored = await db.get_photo(1)
        assert stored is not None
        files = await db.erase_user(1)  # the rows go; nothing finishes it: "killed"
        assert stored.path in files and stored.path.exists()
        assert await db.last_photo(1) is None
    # closing checkpointed the WAL, but the index's tombstones still hold the caption
    assert "7311" in left_in_files(database, {"7311"})
    async with Storage(database, tmp_path / "photos") as db:
        assert [what for _, what, _ in await db.pending_erasures()] == ["user"]
        retention = RetentionTask(db, days=0)
        retention.start()  # as the bot's start does
        await eventually(lambda: _none_pending(db))
        await retention.stop()
        assert not stored.path.exists()
        assert left_in_files(database, secrets_of(CAPTION) | {owner_token(1)}) == {}
        assert len(await db.search_words(2, stems(KEPT_CAPTION))) == 1


async def test_retention_sweep_leaves_no_word(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.retention import purge_expired

    database = tmp_path / "db.sqlite3"
    async with Storage(database, tmp_path / "photos") as db:
        old = await _photo(db, 1, 1, CAPTION)
        await _photo(db, 1, 2, KEPT_CAPTION)
        await db.db.execute(
            "UPDATE photos SET created_at = ? WHERE id = ?",
            ((datetime.now(UTC) - timedelta(days=31)).isoformat(), old),
        )
        await db.db.commit()
        assert await purge_expired(db, days=30) == 1
        assert await db.pending_erasures() == []
        assert left_in_files(database, secrets_of(CAPTION)) == {}
        assert len(await db.search_words(1, stems(KEPT_CAPTION))) == 1
        assert await finish_erasures(db) == 0  # nothing left to finish


async def test_a_handled_update_keeps_no_words_in_the_inbox(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    update = {"update_id": 5, "message": {"message_id": 1, "text": PHONE_TEXT}}
    photo = {"update_id": 6, "message": {"message_id": 2, "caption": CAPTION, "photo": []}}
    async with Storage(database, tmp_path / "photos") as db:
        await db.store_updates([(5, json.dumps(update), 1), (6, json.dumps(photo), 1)])
        await db.finish_update(5)
        rows, _ = await db.pending_updates(max_attempts=3)
        assert [json.loads(row.payload) for row in rows] == [photo]  # unhandled: all of it
    with sqlite3.connect(database) as raw:
        payloads = dict(raw.execute("SELECT update_id, payload FROM inbox").fetchall())
    assert json.loads(payloads[5]) == {"update_id": 5}
    assert "79991237311" not in left_in_files(database, {"79991237311"})


async def test_a_file_sent_again_before_the_erasure_finished_is_kept(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        first = await _photo(db, 1, 1, CAPTION, b"the same bytes")
        stored = await db.get_photo(first)
        assert stored is not None
        await db.erase_photos([first])
        again = await _photo(db, 2, 2, KEPT_CAPTION, b"the same bytes")  # before the finisher
        assert (await db.get_photo(again)).path == stored.path  # type: ignore[union-attr]
        assert await finish_erasures(db) == 1
        assert stored.path.exists()


def test_statements_with_their_values_are_never_logged() -> None:
    from bot.logs import setup_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        setup_logging("DEBUG")
        assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        logging.getLogger("aiosqlite").setLevel(logging.NOTSET)


async def test_an_erasure_waits_for_a_read_that_holds_the_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage import erasure

    monkeypatch.setattr(erasure, "CHECKPOINT_TRIES", 2)
    database = tmp_path / "db.sqlite3"
    async with Storage(database, tmp_path / "photos") as db:
        await _photo(db, 1, 1, CAPTION)
        await _photo(db, 2, 2, KEPT_CAPTION)
        reading = await db.db.execute("SELECT id FROM photos")
        assert await reading.fetchone() is not None  # a read between its first row and end
        await db.erase_user(1)
        with pytest.raises(RuntimeError, match="WAL"):
            await finish_erasures(db)
        assert len(await db.pending_erasures()) == 1  # left for the next pass
        await reading.close()
        assert await finish_erasures(db) == 1
        assert left_in_files(database, secrets_of(CAPTION)) == {}


async def test_the_wal_is_emptied_after_the_updates_in_flight_are_handled(
    tmp_path: Path,
) -> None:
    """A /delete sent as a reply quotes the photo's caption until it is handled."""
    quoting = {"update_id": 9, "message": {"text": "/delete", "reply_to_message": CAPTION}}
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        await db.store_updates([(9, json.dumps(quoting), 1)])
        assert await db.wait_for_updates_in_flight(timeout=0) is False
        await db.finish_update(9)
        assert await db.wait_for_updates_in_flight(timeout=0) is True


async def test_the_connection_zeroes_what_it_deletes(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        cursor = await db.db.execute("PRAGMA secure_delete")
        assert (await cursor.fetchone())[0] == 1  # type: ignore[index]
        await cursor.close()
