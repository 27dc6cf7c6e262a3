"""The library's search: words as the index sees them, the FTS5 index kept with what is
stored (and gone with it), the vector half on tiny CLIP with injected embeddings, and the
fusion that puts a word match above a picture match."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.storage import Storage
from services.config import ServiceConfig
from services.features import FeatureStore
from services.jobs import NO_PHOTO, JobRequest
from services.marketplace.summary import CheckSummary, TextLine
from services.models.clip import ClipTagger
from services.operations.library import FindOperation
from services.scheduler import ModelServices
from services.search import text
from services.search.fusion import fuse
from services.search.result_texts import texts_of
from services.search.vectors import EmbeddingRows, VectorMatches, top_similar

TAGS = {
    "domain": "product",
    "tags": [{"en": "mug", "ru": "кружка", "probability": 0.6, "group": "item"}],
    "attributes": [{"en": "blue", "ru": "синий", "probability": 0.5, "group": "colour"}],
}


# ---- words


def test_russian_and_english_words_meet_their_forms() -> None:
    assert text.query_stems("кружки") == text.query_stems("кружка") == ["кружк"]
    assert set(text.query_stems("чайник")) <= set(text.stems("Чайники из стали"))
    assert text.stems("Ёлочная игрушка") == text.stems("елочная игрушка")
    assert text.query_stems("mugs") == text.query_stems("Mug") == ["mug"]
    assert text.stems("кроссовки и the sneakers") == ["кроссовк", "sneaker"]  # stop words out
    assert text.stems("iPhone15 42 см") == ["iphone15", "42", "см"]


def test_a_query_can_not_break_out_of_its_quotes() -> None:
    expression = text.match_expression("u7", ['a"b', "c"])
    assert expression == 'owner : "u7" AND stems : ("a""b" OR "c")'
    assert text.match_expression("u7", []) is None
    assert text.owner_token(-100) == "un100"


def test_each_result_kind_has_its_texts() -> None:
    assert texts_of("tags", TAGS) == ["кружка", "mug", "синий", "blue"]
    description = {
        "title": "Кружка",
        "benefits": ["Держит тепло"],
        "closing": "Берите",
        "english": {"title": "Mug", "benefits": ["Keeps warm"], "closing": "Buy"},
        "caption": "a blue mug on a table",
        "tags": ["mug"],
    }
    assert "Keeps warm" in texts_of("description", description)
    assert texts_of("image", {"file": "1.png"}) == []
    assert texts_of("tags", {"tags": "not a list of tags"}) == []
    # the check issue's /check result: the words Tesseract read on the photo (a box found
    # but not read adds nothing)
    lines = (
        TextLine("СКИДКА 50%", "top", (0, 0, 10, 10), False),
        TextLine(None, "bottom", (0, 20, 10, 30), False),
        TextLine(" sale ", "over_product", (5, 5, 9, 9), True),
    )
    summary = CheckSummary("wb", "Wildberries", "clean", None, "", (), (), lines, (), (1, 1), "")
    found = summary.to_payload()
    assert texts_of("check", found) == ["СКИДКА 50%", "sale"]
    assert texts_of("check", {"texts": ["a payload of no check"]}) == []


# ---- the index in storage


async def _photo(db: Storage, user_id: int, number: int, caption: str | None = None) -> int:
    await db.upsert_user(user_id, "ru", None)
    photo = await db.add_photo(
        user_id=user_id,
        chat_id=user_id,
        message_id=number,
        file_id=f"f{number}",
        file_unique_id=f"u{number}",
        data=f"photo {user_id} {number}".encode(),
        width=64,
        height=64,
        caption=caption,
    )
    return photo.id


async def _tagged(db: Storage, user_id: int, photo_id: int, payload: dict) -> int:
    job = await db.create_job(
        user_id=user_id, chat_id=user_id, photo_id=photo_id, op="tag", params={}
    )
    await db.save_result(job.id, "tags", payload)
    return job.id


async def _found(db: Storage, user_id: int, query: str) -> list[int]:
    return [hit.photo_id for hit in await db.search_words(user_id, text.query_stems(query))]


async def test_captions_and_results_are_found_at_once(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        mug = await _photo(db, 1, 1, "синяя кружка")
        kettles = await _photo(db, 1, 2, "чайники из стали")
        tagged = await _photo(db, 1, 3)
        other = await _photo(db, 2, 4, "кружка")  # another user's
        assert await _found(db, 1, "кружки") == [mug]
        assert await _found(db, 1, "чайник") == [kettles]
        assert await _found(db, 1, "mug") == []
        await _tagged(db, 1, tagged, TAGS)
        assert await _found(db, 1, "mugs") == [tagged]  # stored a moment ago
        assert set(await _found(db, 1, "кружки")) == {mug, tagged}
        assert await _found(db, 2, "кружка") == [other]
        assert await _found(db, 1, "ёлка") == []
        texts = await db.photo_texts([mug, tagged])
        assert [t.source for t in texts[tagged]] == ["tags"]
        assert texts[mug][0].raw == "синяя кружка"


async def test_a_cache_hit_is_indexed_too(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        first = await _photo(db, 1, 1)
        job = await _tagged(db, 1, first, TAGS)
        second = await _photo(db, 1, 2)
        cached = await db.get_result(job)
        assert cached is not None
        await db.create_cached_job(
            user_id=1,
            chat_id=1,
            photo_id=second,
            op="tag",
            params={},
            cache_key="k",
            cached=cached,
        )
        assert set(await _found(db, 1, "mug")) == {first, second}


async def test_deleting_and_forgetting_leave_no_index_row(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        mug = await _photo(db, 1, 1, "кружка")
        tagged = await _photo(db, 1, 2)
        await _tagged(db, 1, tagged, TAGS)
        kept = await _photo(db, 2, 3, "кружка")
        assert await db.search_rows(1) == 4  # two texts, each a row and an index entry
        await db.erase_photos([mug])
        assert await _found(db, 1, "кружка") == [tagged]
        assert await db.search_rows(1) == 2
        await db.erase_user(1)
        assert await db.search_rows(1) == 0
        assert await _found(db, 1, "mug") == []
        assert await _found(db, 2, "кружка") == [kept]


async def test_deleted_photos_are_not_found(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        mug = await _photo(db, 1, 1, "кружка")
        await db.mark_photo_deleted(mug)
        assert await _found(db, 1, "кружка") == []


async def test_what_was_stored_before_is_indexed_at_start(tmp_path: Path) -> None:
    """Rows of an older build (no index rows), a result kind wired later, and a change of
    the normalisation: the start-up pass indexes them."""
    path = tmp_path / "db.sqlite3"
    async with Storage(path, tmp_path / "photos") as db:
        mug = await _photo(db, 1, 1, "кружка")
        tagged = await _photo(db, 1, 2)
        job = await _tagged(db, 1, tagged, TAGS)
        # as if stored before the index existed: rows without index entries
        await db.db.execute("DELETE FROM search_texts")
        await db.db.execute(
            "INSERT INTO jobs (user_id, chat_id, photo_id, op, params, status, created_at) "
            "VALUES (1, 1, ?, 'check', '{}', 'done', 'now')",
            (mug,),
        )
        await db.db.execute(
            "INSERT INTO results (job_id, kind, payload, created_at) "
            "VALUES (last_insert_rowid(), 'check', ?, 'now')",
            (json.dumps({"texts": [{"text": "распродажа"}]}),),
        )
        await db.db.commit()
        assert await _found(db, 1, "кружка") == []
    async with Storage(path, tmp_path / "photos") as db:
        assert set(await _found(db, 1, "кружка")) == {mug, tagged}
        assert await _found(db, 1, "распродажи") == [mug]
        assert await db.refresh_search_index() == 0  # nothing left to do
        await db.db.execute("UPDATE search_meta SET version = -1")
        await db.db.commit()
        assert await db.refresh_search_index() == 3  # rebuilt: a caption and two results
        assert await db.get_result(job) is not None
        assert await _found(db, 1, "mug") == [tagged]


# ---- fusion and the vector half


def test_a_word_match_ranks_above_every_picture_match() -> None:
    fused = fuse(["A", "D"], [("B", 0.9), ("C", 0.8), ("D", 0.7), ("A", 0.3)])
    assert [f.item for f in fused] == ["A", "D", "B", "C"]
    assert fused[0].by_words and fused[0].vector_rank == 4
    assert fused[1].score == pytest.approx(1 / 62 + 1 / 63)
    assert not fused[2].by_words and fused[2].similarity == 0.9
    # no word match at all: the picture's order
    assert [f.item for f in fuse([], [("B", 0.9), ("C", 0.8)])] == ["B", "C"]


def test_top_similar_keeps_the_best_above_the_threshold() -> None:
    matrix = np.eye(4, dtype=np.float32)
    query = np.array([0.8, 0.6, 0.0, 0.0], dtype=np.float32)
    assert top_similar(matrix, query, 3, 0.1) == [
        (0, pytest.approx(0.8)),
        (1, pytest.approx(0.6)),
    ]
    assert top_similar(matrix, query, 1, 0.0) == [(0, pytest.approx(0.8))]
    assert top_similar(np.zeros((0, 4), np.float32), query, 3, 0.0) == []


def test_stored_embeddings_are_read_once(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    keys = [f"{i:064x}" for i in range(3)]
    for i, key in enumerate(keys[:2]):
        store.save(key, "clip", "rev", "image", {"embedding": np.full(4, i + 1.0, np.float32)})
    rows = EmbeddingRows(store)
    found, matrix = rows.matrix([*keys, keys[0]], "rev", 4)
    assert found == keys[:2] and matrix.shape == (2, 4)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0)
    reads = rows.disk_reads
    rows.matrix(keys[:2], "rev", 4)
    assert rows.disk_reads == reads  # from memory
    assert rows.matrix(keys[:2], "another revision", 4)[0] == []


@pytest.fixture
def tagger(tiny_weights: Path, tmp_path: Path) -> ClipTagger:
    return ClipTagger(tiny_weights / "clip", features=FeatureStore(tmp_path / "features"))


async def test_find_operation_ranks_by_stored_embeddings(
    tagger: ClipTagger, tiny_weights: Path
) -> None:
    """Real tiny CLIP text tower; the image embeddings are injected into the feature store
    (one made equal to the query's, so it must come first)."""
    assert tagger.features is not None
    tagger.load()
    revision, width = tagger.feature_revision(), tagger.embedding_width
    query = tagger.embed_texts(["a photo of mug"])[0]
    rng = np.random.default_rng(0)
    keys = [f"{i:064x}" for i in range(5)]
    for i, key in enumerate(keys):
        vector = query if i == 3 else rng.normal(size=width).astype(np.float32)
        tagger.features.save(key, "clip", revision, "image", {"embedding": vector})
    operation = FindOperation(tagger, EmbeddingRows(tagger.features), lambda: [])
    config = ServiceConfig(weights_dir=tiny_weights)
    async with ModelServices(config, {"find": operation}) as services:
        params = {"query": "mug", "photos": keys, "limit": 3, "min_similarity": -1.0}
        result = await services.submit(JobRequest("find", 1, NO_PHOTO, params)).result()
        assert isinstance(result, VectorMatches)
        assert result.query == "mug" and result.searched == 5
        assert result.matches[0][0] == keys[3] and result.matches[0][1] == pytest.approx(1, 1e-3)
        assert len(result.matches) == 3
        strict = {**params, "min_similarity": 0.999}
        only = await services.submit(JobRequest("find", 1, NO_PHOTO, strict)).result()
        assert [key for key, _ in only.matches] == [keys[3]]
        # fused with a word match on another photo: the word match comes first
        fused = fuse([keys[0]], result.matches)
        assert fused[0].item == keys[0] and fused[1].item == keys[3]


async def test_a_russian_query_is_put_into_english_first(tagger: ClipTagger) -> None:
    seen = []

    def to_english(query: str) -> str:
        seen.append(query)
        return "blue mug"

    operation = FindOperation(tagger, EmbeddingRows(None), lambda: [], to_english)
    assert operation.english("синяя кружка") == "blue mug"
    assert operation.english("blue mug") == "blue mug" and seen == ["синяя кружка"]


def test_the_library_shares_tags_clip_and_its_embeddings(tiny_weights: Path, tmp_path: Path):
    from services.wiring import default_operations

    operations = default_operations(ServiceConfig(tiny_weights, features_dir=tmp_path))
    find, group = operations["find"], operations["group"]
    assert find.tagger is group.tagger is operations["tag"].tagger  # type: ignore[attr-defined]
    assert find.rows is group.rows  # type: ignore[attr-defined]
    assert find.rows.store.root == tmp_path  # type: ignore[attr-defined]
    assert find.missing_weights() == [] and find.lanes == ("quick",)
    assert group.lanes == ("diffusion",)  # embedding hundreds of photos lets quick jobs pass
