"""The vector half of /find: a query's CLIP text embedding against one user's stored image
embeddings (numpy: at 5 000 photos a matrix product takes well under a millisecond; see
benchmarks/find.py for where an index would start to pay).

`EmbeddingRows` reads the embeddings the feature store keeps per photo (services/features.py,
written when a photo is tagged or described) and holds them in memory, so a user's second
query reads nothing from disk. A user's first query after a restart reads one file, the
user's embedding file beside the feature store (services/search/user_index.py): the photos
embedded since it was written are read from the store and appended, rows of photos the
query no longer names (erased) are dropped by rewriting it, and a missing, stale or corrupt
file is built again from the store.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from services.features import OWNERS, FeatureStore
from services.search import user_index

#: how many embeddings the worker keeps in memory (x 512 floats x 4 bytes = 200 MB)
CACHE_ROWS = 100_000


@dataclass(frozen=True)
class VectorMatches:
    """What the worker answers a /find with: the query as CLIP read it (English), and the
    photos (sha256) most like it, best first, with their cosine similarity."""

    query: str
    matches: tuple[tuple[str, float], ...]
    searched: int  # photos that had a stored embedding


class EmbeddingRows:
    """Stored image embeddings by photo, cached in memory (least recently used go first)."""

    def __init__(self, store: FeatureStore | None, capacity: int = CACHE_ROWS) -> None:
        self.store = store
        self.capacity = capacity
        self._rows: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        #: user -> (revision, their embedding file as read, key -> row), least recent first
        self._users: OrderedDict[int, tuple[str, user_index.Index, dict[str, int]]] = OrderedDict()
        self._user_locks: dict[int, threading.Lock] = {}
        self.disk_reads = 0  # for tests and the benchmark: feature files read
        self.index_reads = 0  # user embedding files read
        self.index_builds = 0  # ... written whole (missing, stale, corrupt, rows dropped)
        self.index_appends = 0  # ... appended to (photos embedded since)
        if store is not None:
            store.on_save(self._saved)

    def _saved(
        self, photo: str, model: str, revision: str, what: str, arrays: Mapping[str, np.ndarray]
    ) -> None:
        """A photo's CLIP image embedding was just stored: appended to the file of each user
        the running batch serves it for (features.OWNERS), so their next first /find after a
        restart finds it there. A file missing or of another revision starts with it."""
        vector = arrays.get("embedding")
        users = (OWNERS.get() or {}).get(photo, ())
        if model != "clip" or what != "image" or vector is None or vector.ndim != 1:
            return
        assert self.store is not None
        row = _unit(np.asarray(vector, np.float32))[None]
        for user_id in users:
            path = user_index.path_for(self.store.root, user_id)
            with self._user_lock(user_id):
                if not user_index.append(path, revision, row.shape[1], [photo], row):
                    user_index.rewrite(path, revision, row.shape[1], [photo], row)
                self.index_appends += 1

    def _user_lock(self, user_id: int) -> threading.Lock:
        with self._lock:
            return self._user_locks.setdefault(user_id, threading.Lock())

    def library(
        self, user_id: int, keys: Sequence[str], revision: str, width: int
    ) -> tuple[list[str], np.ndarray]:
        """`matrix` for one user's library through the user's embedding file: (the keys that
        have an embedding of this model revision, their rows), in the file's order. Only
        ``keys`` (the photos the database lists now) are ever returned, and the file is
        brought to them: new ones appended, others dropped."""
        if self.store is None:
            return self.matrix(keys, revision, width)
        with self._user_lock(user_id):
            return self._library(user_id, list(dict.fromkeys(keys)), revision, width)

    def _library(
        self, user_id: int, wanted: list[str], revision: str, width: int
    ) -> tuple[list[str], np.ndarray]:
        assert self.store is not None
        path = user_index.path_for(self.store.root, user_id)
        cached = self._cached(user_id, path, revision, width)
        if cached is None:  # missing, stale or corrupt: from the feature files
            found, matrix = self.matrix(wanted, revision, width)
            self._write(path, revision, width, found, matrix)
            self._remember(user_id, path, revision, found, matrix)
            return found, matrix
        index, position = cached
        missing = [key for key in wanted if key not in position]
        extra = len(index.keys) - (len(wanted) - len(missing))  # erased, or twice
        new_keys: list[str] = []
        new_rows: list[np.ndarray] = []
        for key in missing:  # embedded since the file was written (or never: no row)
            row = self.get(key, revision, width)
            if row is not None:
                new_keys.append(key)
                new_rows.append(row)
        if not new_keys and not extra:
            return index.keys, index.rows
        if extra:
            wanted_set = set(wanted)
            kept = [position[key] for key in dict.fromkeys(index.keys) if key in wanted_set]
            keys = [index.keys[i] for i in kept] + new_keys
            matrix = np.concatenate([index.rows[kept], _stacked(new_rows, width)])
            self._write(path, revision, width, keys, matrix)
        else:
            new = _stacked(new_rows, width)
            keys = index.keys + new_keys
            matrix = np.concatenate([index.rows, new])
            if user_index.append(path, revision, width, new_keys, new):
                self.index_appends += 1
            else:  # removed or replaced meanwhile: write what we know
                self._write(path, revision, width, keys, matrix)
        self._remember(user_id, path, revision, keys, matrix)
        return keys, matrix

    def _write(
        self, path: Path, revision: str, width: int, keys: list[str], matrix: np.ndarray
    ) -> None:
        if keys:
            user_index.rewrite(path, revision, width, keys, matrix)
        else:  # no row: no file (a user erased meanwhile gets none back)
            user_index.remove(path)
        self.index_builds += 1

    def _cached(
        self, user_id: int, path: Path, revision: str, width: int
    ) -> tuple[user_index.Index, dict[str, int]] | None:
        """The user's file as last read when it has not changed since (the bot rewrites it
        on /delete), else read again; None when it is missing, stale or corrupt."""
        with self._lock:
            held = self._users.get(user_id)
            if held is not None:
                self._users.move_to_end(user_id)
        if (
            held is not None
            and held[0] == revision
            and held[1].rows.shape[1:] == (width,)
            and user_index.signature(path) == held[1].signature
        ):
            return held[1], held[2]
        index = user_index.read(path, revision, width)
        if index is None:
            return None
        self.index_reads += 1
        position = {key: i for i, key in enumerate(index.keys)}
        self._hold(user_id, revision, index, position)
        return index, position

    def _remember(
        self, user_id: int, path: Path, revision: str, keys: list[str], matrix: np.ndarray
    ) -> None:
        stamp = user_index.signature(path) or (0, 0, 0)
        index = user_index.Index(keys, np.asarray(matrix, np.float32), stamp)
        self._hold(user_id, revision, index, {key: i for i, key in enumerate(keys)})

    def _hold(
        self, user_id: int, revision: str, index: user_index.Index, position: dict[str, int]
    ) -> None:
        with self._lock:
            self._users[user_id] = (revision, index, position)
            self._users.move_to_end(user_id)
            total = sum(len(held[1].keys) for held in self._users.values())
            while len(self._users) > 1 and total > self.capacity:
                _, (_, dropped, _) = self._users.popitem(last=False)
                total -= len(dropped.keys)

    def matrix(
        self, keys: Sequence[str], revision: str, width: int
    ) -> tuple[list[str], np.ndarray]:
        """(the keys that have an embedding of this model revision, their rows stacked as a
        float32 matrix). Photos never embedded are left out."""
        found: list[str] = []
        rows: list[np.ndarray] = []
        for key in dict.fromkeys(keys):  # each photo once
            row = self.get(key, revision, width)
            if row is not None:
                found.append(key)
                rows.append(row)
        if not rows:
            return [], np.zeros((0, width), np.float32)
        return found, np.stack(rows)

    def get(self, key: str, revision: str, width: int) -> np.ndarray | None:
        with self._lock:
            row = self._rows.get((revision, key))
            if row is not None:
                self._rows.move_to_end((revision, key))
                return row
        if self.store is None:
            return None
        stored = self.store.load(key, "clip", revision, "image")
        self.disk_reads += 1
        vector = None if stored is None else stored.get("embedding")
        if vector is None or vector.shape != (width,):
            return None
        row = _unit(vector.astype(np.float32))
        self.put(key, revision, row)
        return row

    def put(self, key: str, revision: str, row: np.ndarray) -> None:
        with self._lock:
            self._rows[(revision, key)] = row
            self._rows.move_to_end((revision, key))
            while len(self._rows) > self.capacity:
                self._rows.popitem(last=False)


def top_similar(
    matrix: np.ndarray, query: np.ndarray, limit: int, min_similarity: float
) -> list[tuple[int, float]]:
    """(row, cosine) of the rows most like ``query`` (rows and query unit length), best
    first, at most ``limit``, none below ``min_similarity``."""
    if matrix.shape[0] == 0 or limit <= 0:
        return []
    # one BLAS thread: a matrix-vector product is bound by memory, and more threads only
    # spin against the worker's other work (12 ms instead of 0.1 ms at 5 000 rows, measured
    # on a busy 2-core machine)
    with _blas().limit(limits=1, user_api="blas"):
        scores = matrix @ query.astype(np.float32)
    count = min(limit, scores.shape[0])
    best = np.argpartition(-scores, count - 1)[:count]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best if scores[i] >= min_similarity]


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _stacked(rows: list[np.ndarray], width: int) -> np.ndarray:
    return np.stack(rows) if rows else np.zeros((0, width), np.float32)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
