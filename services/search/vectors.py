"""The vector half of /find: a query's CLIP text embedding against one user's stored image
embeddings (numpy: at 5 000 photos a matrix product takes well under a millisecond; see
benchmarks/find.py for where an index would start to pay).

`EmbeddingRows` reads the embeddings the feature store keeps per photo (services/features.py,
written when a photo is tagged or described) and holds them in memory, so a user's second
query reads nothing from disk.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from services.features import FeatureStore

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
        self.disk_reads = 0  # for tests and the benchmark

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


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
