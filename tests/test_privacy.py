"""Data protection: retention, /forget_me, and secrets never written anywhere."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.retention import purge_expired
from bot.storage import Storage
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

OPENAI_KEY = "sk-test-THIS-MUST-NEVER-BE-WRITTEN-0123456789"


async def _photo(db: Storage, user_id: int, data: bytes, message_id: int) -> int:
    await db.upsert_user(user_id, "en", None)
    photo = await db.add_photo(
        user_id=user_id,
        chat_id=user_id,
        message_id=message_id,
        file_id=f"f{message_id}",
        file_unique_id=f"u{message_id}",
        data=data,
        width=64,
        height=64,
    )
    job = await db.create_job(
        user_id=user_id, chat_id=user_id, photo_id=photo.id, op="tag", params={}
    )
    await db.save_result(job.id, "tags", {"domain": "product", "tags": [], "attributes": []})
    (db.results_dir).mkdir(parents=True, exist_ok=True)
    (db.results_dir / f"{job.id}.png").write_bytes(b"png")
    return photo.id


async def test_retention_removes_old_photos_results_and_files(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        old = await _photo(db, 1, b"old photo", 1)
        new = await _photo(db, 1, b"new photo", 2)
        shared_old = await _photo(db, 2, b"new photo", 3)  # same bytes as `new`, old row
        await db.db.execute(
            "UPDATE photos SET created_at = ? WHERE id IN (?, ?)",
            ((datetime.now(UTC) - timedelta(days=31)).isoformat(), old, shared_old),
        )
        await db.db.commit()
        old_photo, new_photo = await db.get_photo(old), await db.get_photo(new)
        assert old_photo and new_photo
        removed = await purge_expired(db, days=30)
        assert removed == 2
        assert await db.get_photo(old) is None and await db.get_photo(shared_old) is None
        assert not old_photo.path.exists()
        assert new_photo.path.exists()  # still used by the new row
        assert not (db.results_dir / "1.png").exists() and (db.results_dir / "2.png").exists()
        assert (await db.get_result(2)) is not None and (await db.get_result(1)) is None


@pytest.mark.e2e
async def test_forget_me_erases_everything_and_secrets_are_never_written(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await start_bot(OPENAI_API_KEY=OPENAI_KEY)
    user, other = emulator.user(9501, "en"), emulator.user(9502, "en")
    for person in (user, other):
        person.send_photo(photos["coffee"], caption="/tag")
        await person.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=20)
    db: Storage = app.db
    mine = await db.last_photo(user.user_id)
    assert mine is not None
    assert await db.search_rows(user.user_id) > 0  # its tags are in the search index

    user.send_text("/forget_me")
    ask = await user.wait_for_message(lambda r: "Delete all your photos" in (r["text"] or ""))
    no, yes = [data for _, data in emulator.buttons(ask)][::-1]
    await emulator.wait_for_callback_answer(user.press_button(ask, no))
    await user.wait_for_message(lambda r: "Nothing was deleted" in (r["text"] or ""))
    assert await db.get_user(user.user_id) is not None

    user.send_text("/forget_me")
    ask = await user.wait_for_message(
        lambda r: "Delete all your photos" in (r["text"] or ""), after=len(emulator.bot_messages)
    )
    yes = next(d for t, d in emulator.buttons(ask) if "Yes" in t)
    await emulator.wait_for_callback_answer(user.press_button(ask, yes))
    await user.wait_for_message(lambda r: "everything I kept about you" in (r["text"] or ""))
    assert await db.get_user(user.user_id) is None
    assert await db.last_photo(user.user_id) is None
    assert await db._jobs("user_id = ?", (user.user_id,)) == []
    assert await db.search_rows(user.user_id) == 0  # no index row of the user is left
    assert await db.search_rows(other.user_id) > 0
    theirs = await db.last_photo(other.user_id)
    assert theirs is not None and theirs.path.exists()  # same bytes, another user's row

    await app.stop()
    token, database = emulator.token, Path(app.settings.database_path)
    for secret in (token, OPENAI_KEY):
        assert secret not in caplog.text
        for path in database.parent.glob("*.sqlite3*"):
            assert secret.encode() not in path.read_bytes(), path
