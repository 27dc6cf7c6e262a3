"""Storage of sets: members in the order sent, a run's items and their jobs across a restart,
what counts as stored-but-unprocessed, and erasure taking set rows with the photos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.sets.archive import item_names
from bot.storage import JobStatus, RunStatus, Storage


async def _photos(db: Storage, count: int, user_id: int = 7) -> list[int]:
    await db.upsert_user(user_id, "ru", "seller")
    ids = []
    for index in range(count):
        photo = await db.add_photo(
            user_id=user_id,
            chat_id=user_id,
            message_id=100 - index,  # sent in reverse order of storing
            file_id=f"F{index}",
            file_unique_id=f"U{index}",
            data=f"img{index}".encode(),
            width=64,
            height=48,
        )
        ids.append(photo.id)
    return ids


async def test_a_set_and_its_run_survive_a_restart(tmp_path: Path) -> None:
    path, photos_dir = tmp_path / "db.sqlite3", tmp_path / "photos"
    async with Storage(path, photos_dir) as db:
        ids = await _photos(db, 3)
        photo_set = await db.create_set(7, 7, [(ids[0], "a.png"), (ids[1], None)])
        await db.add_to_set(photo_set.id, ids[2], None)
        members = await db.set_members(photo_set.id)
        assert [p.id for p, _ in members] == [ids[2], ids[1], ids[0]]  # by message id
        assert [name for _, name in members] == [None, None, "a.png"]
        assert (await db.last_set(7, 7)) == photo_set and not photo_set.closed
        run = await db.create_run(photo_set, "tag", {"domain": "product"}, [(ids[2], "x")])
        assert (await db.get_set(photo_set.id)).closed  # type: ignore[union-attr]
        job = await db.create_job(
            user_id=7, chat_id=7, photo_id=ids[2], op="tag", params={}, set_run_id=run.id
        )
        await db.set_item_job(run.id, 1, job.id)
        await db.set_run_shared(run.id, {"card_share": 0.5})
    async with Storage(path, photos_dir) as db:
        assert [r.id for r in await db.unfinished_runs()] == [run.id]
        assert await db.unfinished_jobs() == []  # a set's job is the set runner's to resume
        (item,) = await db.run_items(run.id)
        assert (item.job_id, item.status, item.sent) == (job.id, JobStatus.QUEUED, False)
        await db.save_result(job.id, "tags", {"tags": []})
        await db.mark_items_sent(run.id, [1])
        assert (await db.get_job(job.id)).status is JobStatus.DONE  # type: ignore[union-attr]
        assert await db.undelivered_jobs() == []
        await db.mark_zip_sent(run.id)
        await db.set_run_status(run.id, RunStatus.DONE)
        finished = await db.get_run(run.id)
        assert (
            finished is not None and finished.zip_sent and finished.shared == {"card_share": 0.5}
        )
        assert await db.unfinished_runs() == []


async def test_unprocessed_photos_and_erasure(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        ids = await _photos(db, 4)
        since = datetime.now(UTC) - timedelta(hours=1)
        assert await db.count_unprocessed(7, since) == 4
        await db.create_job(user_id=7, chat_id=7, photo_id=ids[0], op="tag", params={})
        assert await db.count_unprocessed(7, since) == 3
        assert await db.count_unprocessed(7, datetime.now(UTC) + timedelta(hours=1)) == 0
        photo_set = await db.create_set(7, 7, [(i, None) for i in ids])
        run = await db.create_run(photo_set, "tag", {}, [(i, f"p{i}") for i in ids])
        await db.erase_photos(ids[:2])
        assert [i.photo_id for i in await db.run_items(run.id)] == ids[2:]
        await db.erase_photos(ids[2:])  # the last photos: the run and the set go too
        assert await db.get_run(run.id) is None and await db.get_set(photo_set.id) is None
        other = await _photos(db, 2, user_id=8)
        kept = await db.create_set(8, 8, [(i, None) for i in other])
        await db.create_run(kept, "tag", {}, [(other[0], "p")])
        await db.erase_user(8)
        assert await db.last_set(8, 8) is None


def test_item_names_keep_file_names_and_number_photos() -> None:
    assert item_names(["a.png", None, "a.png", None, "dir/b.jpg"]) == [
        "a.png",
        "photo-02",
        "a-2.png",
        "photo-04",
        "b.jpg",
    ]
    assert item_names([None] * 120)[0] == "photo-001"
