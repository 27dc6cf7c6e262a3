"""L1, /find over one user's library (issue 19): 5 000 and 50 000 stored photos.

Synthetic library: each photo has a caption and a tag result (words drawn from a Russian +
English vocabulary, stemmed and indexed by the real storage code) and a 512-d unit image
embedding in the feature store (the real files: one .npz per photo, and the user's
embedding file they are appended to). Measured, median of repeated queries:

- lexical: the FTS5 query of bot/storage/search_queries.py (`search_words`), a common word,
  a rare word and two words;
- vector: numpy, the user's embedding matrix times the query vector and the top 100
  (`services.search.vectors.top_similar`); and getting that matrix: warm (in the worker's
  memory) and cold (the first query after a restart) from the user's embedding file
  (services/search/user_index.py, written as the embeddings are stored) side by side with
  the way before it, one .npz per photo;
- the whole /find path minus the model call: `bot.library.find.find_photos` through the
  real scheduler and `find` operation (thread worker), whose CLIP text tower is replaced by
  a fixed vector (it costs the same at any library size: ~10 ms for ViT-B/32 on a CPU):
  warm, and cold — the first /find after a restart (a new database connection, worker and
  rows), issue 31's targets: ≤ 100 ms at 5 000 photos, ≤ 1 s at 50 000. The files are in
  the OS cache (a process restart, not a reboot).

    PYTHONPATH=$PWD python benchmarks/find.py [--find-sizes 5000,50000] [--find-repeats 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.table import Row, markdown  # noqa: E402

WIDTH = 512
USER = 1
RARE_EVERY = 500
_RU = (
    "кружка чашка чайник платье кроссовки ботинки лампа диван кровать стол стул ковёр ваза "
    "тюльпаны кот собака сумка рюкзак часы очки шапка шарф куртка джинсы футболка рубашка "
    "полотенце подушка одеяло зеркало окно балкон бассейн ванна душ телевизор холодильник"
)
_COLOURS = "синий белый красный чёрный зелёный жёлтый розовый серый бежевый"
_EN = (
    "mug cup kettle dress sneakers boots lamp sofa bed table chair rug vase tulips cat dog "
    "bag backpack watch glasses hat scarf jacket jeans shirt towel pillow blanket mirror"
)
RU, COLOURS, EN = _RU.split(" "), _COLOURS.split(" "), _EN.split(" ")
RARE = "жираф"  # in one caption of RARE_EVERY
COLD_REPEATS = 3  # restarts timed per path (the per-photo one takes ~11 s at 50 000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    if "--find-sizes" not in parser._option_string_actions:
        parser.add_argument("--find-sizes", default="5000,50000", help="photos of one user")
        parser.add_argument("--find-repeats", type=int, default=20, help="queries timed")


def _median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


async def _timed(call: Callable[[], Awaitable[Any]], repeats: int) -> float:
    await call()  # warm: statements prepared, pages cached
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return _median_ms(samples)


async def _library(db: Any, count: int, rng: np.random.Generator) -> list[str]:
    """`count` photos of USER with a caption and a tag result; their sha256 keys."""
    from bot.storage.search_queries import _insert

    keys = [f"{i:064x}" for i in range(count)]
    stamp = "2026-01-01T00:00:00.000+00:00"
    photos = [
        (
            i + 1,
            USER,
            USER,
            i + 1,
            f"f{i}",
            f"u{i}",
            keys[i],
            1,
            64,
            64,
            f"/nowhere/{i}.jpg",
            stamp,
        )
        for i in range(count)
    ]
    await db.upsert_user(USER, "ru", None)
    await db.db.executemany(
        "INSERT INTO photos (id, user_id, chat_id, message_id, file_id, file_unique_id, sha256, "
        "size, width, height, path, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        photos,
    )
    await db.db.executemany(
        "INSERT INTO jobs (id, user_id, chat_id, photo_id, op, params, status, created_at) "
        "VALUES (?, ?, ?, ?, 'tag', '{}', 'done', ?)",
        [(i + 1, USER, USER, i + 1, stamp) for i in range(count)],
    )
    for i in range(count):
        words = rng.choice(RU, 2, replace=False)
        caption = f"{rng.choice(COLOURS)} {words[0]} {words[1]}"
        if i % RARE_EVERY == 0:
            caption += f" и {RARE}"
        tags = [
            {"en": str(en), "ru": str(RU[EN.index(en)]), "probability": 0.3, "group": "item"}
            for en in rng.choice(EN, 3, replace=False)
        ]
        payload = {"domain": "product", "tags": tags, "attributes": []}
        await db.db.execute(
            "INSERT INTO results (job_id, kind, payload, created_at) VALUES (?, 'tags', ?, ?)",
            (i + 1, json.dumps(payload, ensure_ascii=False), stamp),
        )
        await _insert(db.db, USER, i + 1, None, "caption", [caption])
        await _insert(db.db, USER, i + 1, i + 1, "tags", [t["ru"] for t in tags])
    await db.db.commit()
    return keys


class _FixedTextTower:
    """Stands in for CLIP's text tower only: a fixed unit vector per query."""

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector
        self.embedding_width = WIDTH

    def load(self) -> None:
        return None

    def feature_revision(self) -> str:
        return "bench"

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.vector] * len(texts))


async def _measure_size(count: int, repeats: int, folder: Path) -> list[Row]:
    from bot.library.find import find_photos
    from bot.storage import Storage
    from services.config import ServiceConfig
    from services.features import OWNERS, FeatureStore
    from services.operations.library import FindOperation
    from services.scheduler import ModelServices
    from services.search.text import query_stems
    from services.search.vectors import EmbeddingRows, top_similar

    rng = np.random.default_rng(count)
    rows: list[Row] = []
    size = f"{count:,}".replace(",", " ")
    async with Storage(folder / "db.sqlite3", folder / "photos") as db:
        started = time.perf_counter()
        keys = await _library(db, count, rng)
        built = time.perf_counter() - started
        lexical: dict[str, float] = {}
        for label, query in (
            ("a common word", "кружки"),
            ("a rare word", "жирафы"),
            ("two words", "красное платье"),
        ):
            stems = query_stems(query)
            hits = len(await db.search_words(USER, stems, limit=100))
            ms = await _timed(lambda s=stems: db.search_words(USER, s, limit=100), repeats)
            lexical[label] = ms
            rows.append(
                Row(
                    "L1",
                    f"/find lexical (FTS5 + bm25, top 100), {size} photos, {label}",
                    f"{ms:.1f} ms",
                    note=f"{hits} hits returned; library indexed in {built:.0f} s",
                )
            )

        embeddings = rng.normal(size=(count, WIDTH)).astype(np.float32)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        query = embeddings[0] * 0.5 + rng.normal(size=WIDTH).astype(np.float32) * 0.05
        query /= np.linalg.norm(query)
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            top_similar(embeddings, query, 100, 0.0)
            samples.append(time.perf_counter() - started)
        product_ms = _median_ms(samples)
        rows.append(
            Row(
                "L1",
                f"/find vector: matrix x query + top 100, {size} x {WIDTH} float32",
                f"{_median_ms(samples):.2f} ms",
                note="numpy (one thread's BLAS share)",
            )
        )

        store = FeatureStore(folder / "features")
        feeding = EmbeddingRows(store)  # the worker's: appends as photos are embedded
        token = OWNERS.set({key: {USER} for key in keys})
        started = time.perf_counter()
        try:
            for key, row in zip(keys, embeddings, strict=True):
                store.save(key, "clip", "bench", "image", {"embedding": row})
        finally:
            OWNERS.reset(token)
        stored_us = (time.perf_counter() - started) / count * 1e6
        assert feeding.index_appends == count
        cold_before = [
            _clock(lambda: EmbeddingRows(FeatureStore(store.root)).matrix(keys, "bench", WIDTH))
            for _ in range(COLD_REPEATS)
        ]
        cold_after = []
        for _ in range(COLD_REPEATS + 2):
            restarted = EmbeddingRows(FeatureStore(store.root))
            cold_after.append(_clock(lambda r=restarted: r.library(USER, keys, "bench", WIDTH)))
            assert restarted.index_reads == 1 and restarted.disk_reads == 0
        cold = EmbeddingRows(store)
        cold.matrix(keys, "bench", WIDTH)
        warm = _median_ms(
            [
                _clock(lambda: cold.matrix(keys, "bench", WIDTH))
                for _ in range(max(3, repeats // 4))
            ]
        )
        warm_file = _median_ms(
            [
                _clock(lambda: restarted.library(USER, keys, "bench", WIDTH))
                for _ in range(max(3, repeats // 4))
            ]
        )
        rows.append(
            Row(
                "L1",
                f"/find vector: the user's embedding matrix, {size} photos, first query after "
                "a restart: the user's embedding file / one .npz per photo (before)",
                f"{_median_ms(cold_after):.0f} / {_median_ms(cold_before):.0f} ms",
                note=f"medians of {len(cold_after)} / {len(cold_before)} restarts (a new "
                "EmbeddingRows and FeatureStore; files in the OS cache); no feature file "
                f"opened; stored + appended as embedded: {stored_us:.0f} µs a photo",
            )
        )
        rows.append(
            Row(
                "L1",
                f"/find vector: the user's embedding matrix, {size} photos, warm",
                f"{warm_file:.1f} ms",
                note=f"from memory (file unchanged: one stat); per-photo rows: {warm:.1f} ms",
            )
        )
        vector_ms = warm_file + product_ms
        common = lexical["a common word"]
        rows.append(
            Row(
                "L1",
                f"/find FTS vs vector side, {size} photos: lexical (a common word) / "
                "vector (warm matrix + product + top 100)",
                f"{common:.1f} / {vector_ms:.1f} ms = {common / vector_ms:.2f}x",
                note="both run for every query and are fused (RRF); the larger one bounds /find",
            )
        )

        config = ServiceConfig(weights_dir=folder, queue_max_per_user=1000, batch_window_ms=0.0)
        tower = _FixedTextTower(query)

        async def first_find(rows: EmbeddingRows) -> float:
            """A restart: a new database connection, worker and rows; the first /find."""
            operation = FindOperation(tower, rows, lambda: [])  # type: ignore[arg-type]
            async with (
                Storage(folder / "db.sqlite3", folder / "photos") as fresh,
                ModelServices(config, {"find": operation}) as services,
            ):
                started = time.perf_counter()
                answer = await find_photos(
                    fresh, services, USER, "красная кружка", min_similarity=0.0
                )
                took = time.perf_counter() - started
                assert answer.vector == "ok" and answer.found, answer
                return took

        first_before = [await first_find(_per_photo_rows(store.root)) for _ in range(COLD_REPEATS)]
        first_after = []
        for _ in range(COLD_REPEATS + 2):
            restarted = EmbeddingRows(FeatureStore(store.root))
            first_after.append(await first_find(restarted))
            assert restarted.index_reads == 1 and restarted.disk_reads == 0
        after_ms, before_ms = _median_ms(first_after), _median_ms(first_before)
        bound = 100 if count <= 5000 else 1000
        rows.append(
            Row(
                "L1",
                f"/find cold: the first /find after a restart minus the CLIP text call, {size} "
                "photos: the user's embedding file / one .npz per photo (before)",
                f"{after_ms:.0f} / {before_ms:.0f} ms = {before_ms / after_ms:.0f}x",
                target=f"≤ {bound} ms" if bound < 1000 else "≤ 1 s",
                met=after_ms <= bound,
                note=f"medians of {len(first_after)} / {len(first_before)} restarts (new "
                "connection, worker, rows; files in the OS cache); words + keys + worker + RRF "
                "+ rows for the answer; thread worker",
            )
        )

        operation = FindOperation(tower, restarted, lambda: [])  # type: ignore[arg-type]
        async with ModelServices(config, {"find": operation}) as services:
            answer = await find_photos(db, services, USER, "красная кружка", min_similarity=0.0)
            assert answer.vector == "ok" and answer.found, answer
            full = await _timed(
                lambda: find_photos(db, services, USER, "красная кружка", min_similarity=0.0),
                max(3, repeats // 2),
            )
        rows.append(
            Row(
                "L1",
                f"/find whole path minus the CLIP text call, {size} photos",
                f"{full:.0f} ms",
                target="< 1000 ms" if count <= 5000 else "",
                met=full < 1000 if count <= 5000 else None,
                note="words + keys + worker (warm matrix, top 100) + RRF + rows for the "
                "answer; thread worker",
            )
        )
    return rows


def _per_photo_rows(root: Path) -> Any:
    """/find's vector half before the user's embedding file: one .npz per photo."""
    from services.features import FeatureStore
    from services.search.vectors import EmbeddingRows

    rows = EmbeddingRows(FeatureStore(root))
    rows.library = lambda user_id, keys, revision, width: rows.matrix(keys, revision, width)  # type: ignore[method-assign]
    return rows


def _clock(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(args: argparse.Namespace) -> list[Row]:
    sizes = [int(s) for s in str(getattr(args, "find_sizes", "5000,50000")).split(",") if s]
    repeats = int(getattr(args, "find_repeats", 20))
    rows: list[Row] = []
    for count in sizes:
        folder = Path(tempfile.mkdtemp(prefix="vitrina-find-"))
        try:
            rows += asyncio.run(_measure_size(count, repeats, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))


if __name__ == "__main__":
    main()
