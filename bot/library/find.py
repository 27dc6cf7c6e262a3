"""/find: a user's photos ranked by the words in their texts and by CLIP, fused (RRF).

The lexical half is SQLite's FTS5 index (bot/storage/search_queries.py); the vector half is
the ``find`` operation on the model worker (the query embedded by CLIP, opus-mt-ru-en first
for Russian, against the photos' stored image embeddings). Without CLIP's weights, or when
the worker cannot answer in time, the words alone decide and the answer says so.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.storage import Photo, PhotoText, Storage
from services.errors import ServiceError
from services.jobs import NO_PHOTO, JobRequest
from services.operations import Op
from services.scheduler import ModelServices
from services.search.fusion import fuse
from services.search.text import matched_words, query_stems
from services.search.vectors import VectorMatches

log = logging.getLogger("vitrina.bot")
RESULTS = 10  # photos in the answer (one album)
CANDIDATES = 100  # each half's list before fusing
LIBRARY_LIMIT = 100_000  # photos of one user the vector half looks at (newest first)
VECTOR_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class FoundPhoto:
    photo: Photo
    words: tuple[str, ...]  # the query's words as the photo's texts write them
    source: str | None  # where they are: "caption", "tags", "description", "check"
    similarity: float | None  # CLIP's cosine, when the vector half found it


@dataclass(frozen=True)
class FindAnswer:
    query: str
    found: tuple[FoundPhoto, ...]
    #: "ok", "unavailable" (no CLIP weights), "failed" (the worker did not answer), "empty"
    #: (no photo of the user has an embedding yet)
    vector: str
    english: str | None = None  # the query as CLIP read it


async def find_photos(
    db: Storage,
    services: ModelServices,
    user_id: int,
    query: str,
    *,
    min_similarity: float,
    limit: int = RESULTS,
) -> FindAnswer:
    stems = query_stems(query)
    words = await db.search_words(user_id, stems, limit=CANDIDATES)
    vector, matches = await _vector_half(db, services, user_id, query, min_similarity)
    fused = fuse(
        [hit.photo_id for hit in words],
        matches.matches if matches is not None else [],
        limit=limit * 2,  # some may be gone by the time they are read
    )
    photos = await db.photos_by_id([f.item for f in fused])
    texts = await db.photo_texts(list(photos))
    found = []
    for item in fused:
        photo = photos.get(item.item)
        if photo is None:
            continue
        source, matched = _why(texts.get(photo.id, []), stems) if item.by_words else (None, ())
        found.append(FoundPhoto(photo, matched, source, item.similarity))
        if len(found) == limit:
            break
    english = matches.query if matches is not None else None
    return FindAnswer(query, tuple(found), vector, english)


async def _vector_half(
    db: Storage, services: ModelServices, user_id: int, query: str, min_similarity: float
) -> tuple[str, _PhotoMatches | None]:
    if services.missing_weights(Op.FIND) != []:
        return "unavailable", None
    keys = await db.library_keys(user_id, LIBRARY_LIMIT)
    if not keys:
        return "empty", None
    newest: dict[str, int] = {}
    for photo_id, sha256 in keys:  # newest first: a photo sent twice is its newest row
        newest.setdefault(sha256, photo_id)
    request = JobRequest(
        Op.FIND,
        user_id,
        NO_PHOTO,
        {
            "query": query,
            "photos": list(newest),
            "limit": CANDIDATES,
            "min_similarity": min_similarity,
        },
    )
    try:
        handle = services.submit(request)
    except ServiceError as exc:  # the user's queue is full: the words alone answer
        log.info("find: vector half not queued for user %s: %s", user_id, exc)
        return "failed", None
    try:
        result: VectorMatches = await asyncio.wait_for(handle.result(), VECTOR_TIMEOUT_S)
    except (ServiceError, TimeoutError) as exc:
        handle.cancel()
        log.warning("find: vector half failed for user %s: %r", user_id, exc)
        return "failed", None
    if not result.searched:
        return "empty", None
    matches = tuple((newest[sha], score) for sha, score in result.matches if sha in newest)
    return "ok", _PhotoMatches(result.query, matches)


@dataclass(frozen=True)
class _PhotoMatches:
    query: str
    matches: tuple[tuple[int, float], ...]  # (photo id, cosine), best first


def _why(texts: list[PhotoText], stems: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """Which of the photo's texts holds the query's words, and those words as written."""
    for text in texts:
        words = matched_words(text.raw, stems)
        if words:
            return text.source, tuple(words[:3])
    return None, ()
