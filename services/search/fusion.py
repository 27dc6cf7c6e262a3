"""Reciprocal-rank fusion of /find's two rankings, the lexical one (words in the photo's
texts) and the vector one (CLIP similarity): score = sum of 1 / (k + rank) over the lists a
photo is in (Cormack et al. 2009, k = 60).

A photo whose texts hold a word of the query ranks above every photo found only by its
embedding: RRF alone could put the first vector hit level with the first word match, and
a word the user typed is the stronger evidence. Within each of the two tiers the fused
score orders them (a word match that CLIP also likes comes first).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = 60
T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True)
class Fused(Generic[T]):
    item: T
    score: float
    lexical_rank: int | None  # 1-based; None: not in the lexical list
    vector_rank: int | None
    similarity: float | None  # the vector list's score, when in it

    @property
    def by_words(self) -> bool:
        return self.lexical_rank is not None


def fuse(
    lexical: Sequence[T],
    vector: Sequence[tuple[T, float]],
    *,
    k: int = K,
    limit: int | None = None,
) -> list[Fused[T]]:
    """Both lists best first (``vector`` with each item's similarity); the fused ranking,
    word matches first."""
    lexical_rank: dict[T, int] = {}
    for rank, item in enumerate(lexical, start=1):
        lexical_rank.setdefault(item, rank)
    vector_rank: dict[T, tuple[int, float]] = {}
    for rank, (item, similarity) in enumerate(vector, start=1):
        vector_rank.setdefault(item, (rank, similarity))
    fused = []
    for item in dict.fromkeys([*lexical_rank, *vector_rank]):
        words = lexical_rank.get(item)
        seen = vector_rank.get(item)
        score = (1 / (k + words) if words else 0.0) + (1 / (k + seen[0]) if seen else 0.0)
        fused.append(
            Fused(item, score, words, seen[0] if seen else None, seen[1] if seen else None)
        )
    fused.sort(key=lambda f: (not f.by_words, -f.score, f.lexical_rank or 0, f.vector_rank or 0))
    return fused if limit is None else fused[:limit]
