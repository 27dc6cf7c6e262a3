"""/find's cold start (issue 31, goal 3): a user's embeddings in one file beside the feature
store. Behaviour only, no timing: a restart's first /find reads that file and no feature
file; the file follows the library (append, /delete, /forget_me, retention), is rebuilt when
missing, corrupt or of another model revision, and a crash between the database's erasure
and the file's rewrite never brings an erased photo back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.retention import finish_erasures
from bot.storage import Storage
from services.config import ServiceConfig
from services.features import FeatureStore
from services.jobs import NO_PHOTO, JobRequest
from services.operations.library import FindOperation
from services.scheduler import ModelServices
from services.search import user_index
from services.search.vectors import EmbeddingRows, VectorMatches

WIDTH = 8
REV = "rev-a"
USER = 7


def _keys(count: int, start: int = 0) -> list[str]:
    return [f"{i:064x}" for i in range(start, start + count)]


def _embed(store: FeatureStore, keys: Sequence[str], revision: str = REV) -> dict[str, np.ndarray]:
    """Store an embedding per key as /tag does; the unit rows /find should rank."""
    rng = np.random.default_rng(len(keys))
    rows = {}
    for key in keys:
        vector = rng.normal(size=WIDTH).astype(np.float32)
        store.save(key, "clip", revision, "image", {"embedding": vector})
        rows[key] = vector / np.linalg.norm(vector)
    return rows


def _as_dict(found: tuple[list[str], np.ndarray]) -> dict[str, np.ndarray]:
    keys, matrix = found
    assert matrix.shape == (len(keys), WIDTH) and len(set(keys)) == len(keys)
    return dict(zip(keys, matrix, strict=True))


def _file(store: FeatureStore, user: int = USER) -> Path:
    return user_index.path_for(store.root, user)


def _same(found: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(found) == sorted(expected)
    for key, row in expected.items():
        assert np.allclose(found[key], row, atol=1e-6)


def test_a_restart_reads_one_file_and_no_feature_file(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    keys = _keys(30)
    expected = _embed(store, keys[:25])  # 5 photos never embedded
    first = EmbeddingRows(store)
    _same(_as_dict(first.library(USER, keys, REV, WIDTH)), expected)
    assert first.index_builds == 1 and _file(store).is_file()
    loads = store.loads

    restarted = EmbeddingRows(FeatureStore(tmp_path))  # a new process: nothing in memory
    _same(_as_dict(restarted.library(USER, keys, REV, WIDTH)), expected)
    assert restarted.index_reads == 1 and restarted.index_builds == 0
    assert restarted.store is not None and restarted.store.loads == 0  # no .npz opened
    assert restarted.disk_reads == 5  # only the never-embedded ones looked for
    assert store.loads == loads
    # the second query reads nothing at all
    restarted.library(USER, keys, REV, WIDTH)
    assert restarted.index_reads == 1 and restarted.disk_reads == 10


def test_photos_embedded_later_are_appended(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    keys = _keys(12)
    expected = _embed(store, keys[:10])
    rows = EmbeddingRows(store)
    rows.library(USER, keys, REV, WIDTH)
    expected |= _embed(FeatureStore(tmp_path), keys[10:])  # tagged since
    reads = rows.disk_reads
    _same(_as_dict(rows.library(USER, keys, REV, WIDTH)), expected)
    assert rows.index_appends == 1 and rows.index_builds == 1
    assert rows.disk_reads - reads == 2  # the two new photos' files, nothing else

    restarted = EmbeddingRows(FeatureStore(tmp_path))
    _same(_as_dict(restarted.library(USER, keys, REV, WIDTH)), expected)
    assert restarted.disk_reads == 0 and restarted.index_reads == 1


def test_photos_no_longer_listed_are_never_returned_and_leave_the_file(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    keys = _keys(10)
    expected = _embed(store, keys)
    EmbeddingRows(store).library(USER, keys, REV, WIDTH)
    listed = keys[3:]  # the database erased three (a crash before the file was rewritten)
    restarted = EmbeddingRows(FeatureStore(tmp_path))
    found = _as_dict(restarted.library(USER, listed, REV, WIDTH))
    _same(found, {key: expected[key] for key in listed})
    index = user_index.read(_file(store), REV, WIDTH)
    assert index is not None and sorted(index.keys) == sorted(listed)


@pytest.mark.parametrize(
    "damage",
    ["removed", "garbage", "truncated header", "torn tail", "another revision", "another width"],
)
def test_a_missing_stale_or_corrupt_file_is_rebuilt(tmp_path: Path, damage: str) -> None:
    store = FeatureStore(tmp_path)
    keys = _keys(6)
    expected = _embed(store, keys)
    EmbeddingRows(store).library(USER, keys, REV, WIDTH)
    path = _file(store)
    data = path.read_bytes()
    if damage == "removed":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"\x89PNG not an embedding file at all" * 10)
    elif damage == "truncated header":
        path.write_bytes(data[:20])
    elif damage == "torn tail":  # a crash in the middle of an append
        path.write_bytes(data + data[64:100])
    elif damage == "another revision":
        user_index.rewrite(path, "rev-old", WIDTH, keys, np.ones((6, WIDTH), np.float32))
    else:
        user_index.rewrite(path, REV, WIDTH * 2, keys, np.ones((6, WIDTH * 2), np.float32))
    restarted = EmbeddingRows(FeatureStore(tmp_path))
    _same(_as_dict(restarted.library(USER, keys, REV, WIDTH)), expected)
    if damage == "torn tail":  # the whole records are still good
        assert restarted.index_builds == 0 and restarted.disk_reads == 0
        _embed(store, _keys(1, start=50))
        restarted.library(USER, [*keys, *_keys(1, start=50)], REV, WIDTH)
        assert restarted.index_appends == 1  # the torn part was cut before appending
        index = user_index.read(path, REV, WIDTH)
        assert index is not None and len(index.keys) == 7
    else:
        assert restarted.index_builds == 1 and restarted.disk_reads == 6
        assert user_index.header_of(path) == (REV, WIDTH)
        again = EmbeddingRows(FeatureStore(tmp_path))
        _same(_as_dict(again.library(USER, keys, REV, WIDTH)), expected)
        assert again.disk_reads == 0


def test_a_new_model_revision_does_not_use_old_rows(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    keys = _keys(4)
    _embed(store, keys, revision=REV)
    EmbeddingRows(store).library(USER, keys, REV, WIDTH)
    newer = _embed(store, keys[:2], revision="rev-b")  # re-tagged with the new weights
    restarted = EmbeddingRows(FeatureStore(tmp_path))
    _same(_as_dict(restarted.library(USER, keys, "rev-b", WIDTH)), newer)
    assert user_index.header_of(_file(store)) == ("rev-b", WIDTH)


def test_users_have_files_of_their_own(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    mine, theirs = _keys(3), _keys(3, start=10)
    expected = _embed(store, mine + theirs)
    rows = EmbeddingRows(store)
    rows.library(1, mine, REV, WIDTH)
    rows.library(2, theirs, REV, WIDTH)
    _same(
        _as_dict(EmbeddingRows(store).library(1, mine, REV, WIDTH)), {k: expected[k] for k in mine}
    )
    assert _file(store, 1) != _file(store, 2) and _file(store, 2).is_file()


# ---- the bot's side: /delete, /forget_me, retention and a crash between


async def _photo(db: Storage, user_id: int, data: bytes, message_id: int) -> tuple[int, str]:
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
    return photo.id, photo.sha256


async def _library(db: Storage, user_id: int) -> list[str]:
    """The keys the bot sends with a /find (bot/library/find.py)."""
    return list(dict.fromkeys(sha for _, sha in await db.library_keys(user_id, 100_000)))


async def _indexed(db: Storage, count: int) -> tuple[FeatureStore, list[tuple[int, str]]]:
    photos = [await _photo(db, USER, f"photo {i}".encode(), i + 1) for i in range(count)]
    store = FeatureStore(db.features_dir)
    _embed(store, [sha for _, sha in photos])
    EmbeddingRows(store).library(USER, await _library(db, USER), REV, WIDTH)
    return store, photos


def _file_keys(store: FeatureStore, user: int = USER) -> set[str] | None:
    index = user_index.read(_file(store, user), REV, WIDTH)
    return None if index is None else set(index.keys)


async def test_delete_removes_the_row_from_the_file(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        store, photos = await _indexed(db, 4)
        (gone_id, gone), *kept = photos
        await db.erase_photos([gone_id], what="delete")
        assert await finish_erasures(db) == 1
        assert _file_keys(store) == {sha for _, sha in kept}
        assert gone.encode() not in _file(store).read_bytes()
        assert bytes.fromhex(gone) not in _file(store).read_bytes()


async def test_forget_me_removes_the_file(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        store, _ = await _indexed(db, 3)
        other = await _photo(db, 99, b"another user's photo", 100)
        _embed(store, [other[1]])
        EmbeddingRows(store).library(99, [other[1]], REV, WIDTH)
        await db.erase_user(USER)
        assert await finish_erasures(db) == 1
        assert not _file(store).exists()
        assert _file_keys(store, 99) == {other[1]}  # another user's file is not touched


async def test_retention_rewrites_the_owners_files(tmp_path: Path) -> None:
    from bot.retention import purge_expired

    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        store, photos = await _indexed(db, 3)
        await db.db.execute(
            "UPDATE photos SET created_at = '2000-01-01T00:00:00.000+00:00' WHERE id = ?",
            (photos[0][0],),
        )
        await db.db.commit()
        assert await purge_expired(db, days=30) == 1
        assert _file_keys(store) == {sha for _, sha in photos[1:]}


async def test_a_crash_before_the_rewrite_never_brings_a_photo_back(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    async with Storage(database, tmp_path / "photos") as db:
        store, photos = await _indexed(db, 4)
        await db.erase_photos([photos[0][0]], what="delete")  # killed before finishing
        assert photos[0][1] in (_file_keys(store) or set())
    async with Storage(database, tmp_path / "photos") as db:
        # a /find in the restarted worker before the erasure is finished: not among them
        restarted = EmbeddingRows(FeatureStore(db.features_dir))
        found, _ = restarted.library(USER, await _library(db, USER), REV, WIDTH)
        assert sorted(found) == sorted(sha for _, sha in photos[1:])
        assert await finish_erasures(db) == 1  # as the bot's start does
        assert _file_keys(store) == {sha for _, sha in photos[1:]}


async def test_the_erasure_alone_rewrites_the_file_after_a_crash(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    async with Storage(database, tmp_path / "photos") as db:
        store, photos = await _indexed(db, 3)
        await db.erase_photos([photos[1][0]], what="delete")  # killed before finishing
    async with Storage(database, tmp_path / "photos") as db:
        assert await finish_erasures(db) == 1  # no /find needed
        assert _file_keys(store) == {photos[0][1], photos[2][1]}


# ---- the find operation reads it


class _FixedTextTower:
    embedding_width = WIDTH

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def load(self) -> None:
        return None

    def feature_revision(self) -> str:
        return REV

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.vector] * len(texts))


async def test_the_first_find_after_a_restart_reads_the_users_file(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path / "features")
    keys = _keys(20)
    expected = _embed(store, keys)
    best = keys[13]
    tower = _FixedTextTower(expected[best])
    params = {"query": "mug", "photos": keys, "limit": 3, "min_similarity": -1.0}
    answers = []
    for _ in range(2):  # before and after a restart: the same answer
        rows = EmbeddingRows(FeatureStore(tmp_path / "features"))
        operation = FindOperation(tower, rows, lambda: [])  # type: ignore[arg-type]
        async with ModelServices(ServiceConfig(tmp_path), {"find": operation}) as services:
            result = await services.submit(JobRequest("find", USER, NO_PHOTO, params)).result()
        assert isinstance(result, VectorMatches) and result.searched == 20
        assert result.matches[0] == (best, pytest.approx(1.0, abs=1e-4))
        answers.append((result.matches, rows))
    (first, cold), (second, restarted) = answers
    assert first == second
    assert cold.index_builds == 1 and cold.disk_reads == 20
    assert restarted.index_reads == 1 and restarted.disk_reads == 0
    assert restarted.store is not None and restarted.store.loads == 0


# ---- appended as photos are embedded


def test_an_embedding_stored_for_a_users_request_is_appended_to_their_file(
    tmp_path: Path,
) -> None:
    from services.features import OWNERS

    store = FeatureStore(tmp_path)
    rows = EmbeddingRows(store)
    keys = _keys(3)
    token = OWNERS.set({keys[0]: {USER, 8}, keys[1]: {USER}})
    try:
        expected = _embed(store, keys)  # keys[2]: nobody's request (no owner known)
    finally:
        OWNERS.reset(token)
    assert rows.index_appends == 3
    assert _file_keys(store) == set(keys[:2]) and _file_keys(store, 8) == {keys[0]}
    restarted = EmbeddingRows(FeatureStore(tmp_path))
    _same(_as_dict(restarted.library(USER, keys, REV, WIDTH)), expected)
    assert restarted.disk_reads == 1 and restarted.index_reads == 1  # keys[2] alone
    assert _file_keys(store) == set(keys)


async def test_a_tag_job_appends_the_photo_to_its_users_file(
    tiny_weights: Path, tmp_path: Path
) -> None:
    """The wiring end to end: a /tag in the worker stores the embedding and appends it to
    the user's file; a restarted worker's first /find reads that file and no feature file."""
    from PIL import Image

    from services.weights.digest import sha256_file

    path = tmp_path / "photo.png"
    Image.fromarray(np.full((64, 64, 3), (200, 40, 40), np.uint8)).save(path)
    sha = sha256_file(path)
    config = ServiceConfig(tiny_weights, worker="thread", features_dir=tmp_path / "features")
    async with ModelServices(config) as services:
        await services.submit(JobRequest("tag", USER, path, {}, photo_sha256=sha)).result()
    index = user_index.read(user_index.path_for(tmp_path / "features", USER), None, None)
    assert index is not None and index.keys == [sha]
    async with ModelServices(config) as services:
        find = services.operations["find"]
        params = {"query": "red", "photos": [sha], "limit": 3, "min_similarity": -1.0}
        result = await services.submit(JobRequest("find", USER, NO_PHOTO, params)).result()
        assert isinstance(result, VectorMatches) and result.searched == 1
        rows = find.rows  # type: ignore[attr-defined]
        assert rows.index_reads == 1 and rows.disk_reads == 0 and rows.index_builds == 0


def test_the_store_does_not_keep_its_listeners_alive(tmp_path: Path) -> None:
    import gc
    import weakref

    from services.features import OWNERS

    store = FeatureStore(tmp_path)
    rows = EmbeddingRows(store)
    gone = weakref.ref(rows)
    del rows
    gc.collect()
    assert gone() is None
    token = OWNERS.set({_keys(1)[0]: {USER}})
    try:
        _embed(store, _keys(1))  # no listener left: stored, nothing appended
    finally:
        OWNERS.reset(token)
    assert store.saves == 1 and not _file(store).exists()
