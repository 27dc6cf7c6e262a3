"""Storage: schema and migrations, photos on disk, jobs across a restart."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from bot.storage import MIGRATIONS, JobStatus, Storage


async def _photo(db: Storage, user_id: int = 7, message_id: int = 10, data: bytes = b"img"):
    await db.upsert_user(user_id, "ru", "seller")
    return await db.add_photo(
        user_id=user_id,
        chat_id=user_id,
        message_id=message_id,
        file_id="F",
        file_unique_id="U",
        data=data,
        width=640,
        height=480,
    )


async def test_schema_is_created_in_wal_mode(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        assert await db.schema_version() == len(MIGRATIONS)
        async with db.db.execute("PRAGMA journal_mode") as cursor:
            assert (await cursor.fetchone())[0] == "wal"


async def test_migration_runs_once_and_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with Storage(path, tmp_path / "photos") as db:
        await _photo(db)
    async with Storage(path, tmp_path / "photos") as db:  # no "table exists" error
        assert (await db.last_photo(7)) is not None
    async with aiosqlite.connect(path) as raw:
        await raw.execute("UPDATE schema_version SET version = 99")
        await raw.commit()
    db = Storage(path, tmp_path / "photos")
    try:
        await db.open()
    except RuntimeError as exc:
        assert "newer than this code" in str(exc)
    else:
        raise AssertionError("a newer schema must be refused")
    finally:
        await db.close()


async def test_users_keep_their_domain(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        user = await db.upsert_user(5, "en", None)
        assert user.domain == "product"
        await db.set_domain(5, "hotel")
        user = await db.upsert_user(5, "ru", "hotelier")
        assert (user.domain, user.language, user.username) == ("hotel", "ru", "hotelier")


async def test_photos_are_stored_by_hash(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        first = await _photo(db, message_id=1, data=b"same bytes")
        second = await _photo(db, message_id=2, data=b"same bytes")
        assert first.sha256 == second.sha256 and first.path == second.path
        assert first.path.read_bytes() == b"same bytes" and first.size == 10
        assert (await db.photo_by_message(7, 1)).id == first.id
        assert (await db.last_photo(7)).id == second.id
        await db.mark_photo_deleted(second.id)
        assert (await db.last_photo(7)).id == first.id
        assert (await db.last_photo(7, chat_id=7)).id == first.id
        assert await db.last_photo(7, chat_id=-100) is None  # another chat (a group)
        assert await db.get_photo(12345) is None


async def test_jobs_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with Storage(path, tmp_path / "photos") as db:
        photo = await _photo(db)
        done = await db.create_job(user_id=7, chat_id=7, photo_id=photo.id, op="tag", params={})
        running = await db.create_job(
            user_id=7, chat_id=7, photo_id=photo.id, op="tag", params={"domain": "hotel"}
        )
        queued = await db.create_job(user_id=7, chat_id=7, photo_id=photo.id, op="tag", params={})
        await db.save_result(done.id, "tags", {"tags": [{"en": "mug", "ru": "кружка"}]})
        await db.set_job_status(running.id, JobStatus.RUNNING)
        await db.set_progress_message(running.id, 55)
    async with Storage(path, tmp_path / "photos") as db:
        unfinished = await db.unfinished_jobs()
        assert [job.id for job in unfinished] == [running.id, queued.id]
        assert unfinished[0].params == {"domain": "hotel"}
        assert unfinished[0].progress_message_id == 55
        assert unfinished[0].started_at is not None
        result = await db.get_result(done.id)
        assert result is not None and result.payload["tags"][0]["ru"] == "кружка"
        finished = await db.get_job(done.id)
        assert finished.status is JobStatus.DONE and finished.finished_at is not None
        await db.set_job_status(queued.id, JobStatus.FAILED, error="boom")
        assert (await db.get_job(queued.id)).error == "boom"
        await db.set_job_status(running.id, JobStatus.QUEUED)
        assert (await db.get_job(running.id)).started_at is None


async def test_the_same_photo_stored_at_once_by_many_is_whole(tmp_path: Path) -> None:
    """Users (or one user's album) sending identical bytes at the same moment."""
    import asyncio

    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        await db.upsert_user(1, "en", None)
        data = b"the same photo" * 10_000
        photos = await asyncio.gather(
            *(
                db.add_photo(
                    user_id=1,
                    chat_id=1,
                    message_id=i,
                    file_id=f"f{i}",
                    file_unique_id=f"u{i}",
                    data=data,
                    width=64,
                    height=64,
                )
                for i in range(16)
            )
        )
        assert len({photo.path for photo in photos}) == 1
        assert photos[0].path.read_bytes() == data
        assert not list(photos[0].path.parent.glob("*.part"))
