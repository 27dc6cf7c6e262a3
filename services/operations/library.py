"""`find` and `group`: operations on a user's whole library (no photo of their own).

``find``: params ``{"query": text, "photos": [sha256, ...], "limit": n, "min_similarity":
x}``; a Russian query is put into English by opus-mt-ru-en, CLIP embeds "a photo of
<query>", and the photos' stored image embeddings (kept when they were tagged or described)
are ranked by cosine similarity: `VectorMatches`. It never embeds a photo, so it is quick;
after a restart it reads the user's one embedding file, not a file per photo (vectors.py).

``group``: params ``{"photos": [sha256 or ""], "paths": [file], "tags": [[[en, ru, p],
...]]}``; each photo's embedding is read from the feature store or computed from its file
(stored for later), then `services.grouping` clusters them: `LibraryGroups`. Computing
hundreds of embeddings takes a while, so it runs in the diffusion lane and lets quick jobs
(a /tag, a /find) run between its chunks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.errors import JobCancelled, ServiceError
from services.grouping import Grouping, PhotoTag, group_photos
from services.imaging.decode import load_rgb
from services.jobs import JobRequest
from services.models.clip import ClipTagger
from services.operations import LANE_DIFFUSION, Op, Operation, Outcome, RunContext
from services.search.vectors import EmbeddingRows, VectorMatches, top_similar

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
#: CLIP was trained on captions: a bare word scores better inside one
PROMPT = "a photo of {query}"
MAX_QUERY_CHARS = 200
EMBED_CHUNK = 16  # images embedded at once while grouping (quick jobs run between chunks)
LOAD_SIDE = 1024  # the size /tag decodes at: a stored embedding equals a fresh one
Translate = Callable[[str], str]


@dataclass(frozen=True)
class LibraryGroups:
    """`Grouping` of the photos that had an embedding (members index the request's lists),
    and those left out (no stored embedding and no readable file)."""

    grouping: Grouping
    left_out: tuple[int, ...]


class FindOperation(Operation):
    name = Op.FIND
    max_batch = 8  # several users' queries: one text-encoder batch

    def __init__(
        self,
        tagger: ClipTagger,
        rows: EmbeddingRows,
        missing: Callable[[], list[str]],
        translate_to_english: Translate | None = None,
    ) -> None:
        self.tagger = tagger
        self.rows = rows
        self._missing = missing
        self.translate_to_english = translate_to_english

    def missing_weights(self) -> list[str]:
        return self._missing()

    def warm_up(self) -> None:
        self.tagger.load()

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name,)

    def english(self, query: str) -> str:
        if self.translate_to_english is None or not _CYRILLIC.search(query):
            return query
        return " ".join(self.translate_to_english(query).split()) or query

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        queries: list[str | None] = []
        for request in requests:
            query = " ".join(str(request.params.get("query") or "").split())[:MAX_QUERY_CHARS]
            queries.append(self.english(query) if query else None)
        context.progress(0.3)
        texts = [PROMPT.format(query=q) for q in queries if q]
        vectors = iter(self.tagger.embed_texts(texts) if texts else [])
        revision, width = self.tagger.feature_revision(), self.tagger.embedding_width
        outcomes: list[Outcome] = []
        for request, query in zip(requests, queries, strict=True):
            if query is None:
                outcomes.append(ServiceError("an empty query"))
                continue
            params = request.params
            keys, matrix = self.rows.library(
                request.user_id, [str(k) for k in params["photos"]], revision, width
            )
            best = top_similar(
                matrix,
                next(vectors),
                int(params.get("limit", 50)),
                float(params.get("min_similarity", 0.0)),
            )
            matches = tuple((keys[row], round(score, 4)) for row, score in best)
            outcomes.append(VectorMatches(query, matches, len(keys)))
        context.progress(1.0)
        return outcomes


class GroupOperation(Operation):
    name = Op.GROUP
    lanes = (LANE_DIFFUSION,)

    def __init__(
        self, tagger: ClipTagger, rows: EmbeddingRows, missing: Callable[[], list[str]]
    ) -> None:
        self.tagger = tagger
        self.rows = rows
        self._missing = missing

    def missing_weights(self) -> list[str]:
        return self._missing()

    def warm_up(self) -> None:
        self.tagger.load()

    def lane(self, request: JobRequest) -> str:
        return LANE_DIFFUSION

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, id(request))  # one library at a time

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for request in requests:
            try:
                outcomes.append(self._group(request.params, context))
            except ServiceError as exc:
                outcomes.append(exc)
        return outcomes

    def _group(self, params: Any, context: RunContext) -> LibraryGroups:
        keys = [str(key or "") for key in params.get("photos", ())]
        paths = [str(path or "") for path in params.get("paths", ())] or [""] * len(keys)
        tags = [_tags(photo) for photo in params.get("tags", ())] or [[] for _ in keys]
        if not len(keys) == len(paths) == len(tags):
            raise ServiceError("group: photos, paths and tags differ in length")
        self.tagger.load()
        revision, width = self.tagger.feature_revision(), self.tagger.embedding_width
        rows: dict[int, np.ndarray] = {}
        todo = []
        for index, key in enumerate(keys):
            row = self.rows.get(key, revision, width) if key else None
            if row is not None:
                rows[index] = row
            elif paths[index] and Path(paths[index]).is_file():
                todo.append(index)
        for start in range(0, len(todo), EMBED_CHUNK):
            if context.cancelled():  # quick jobs run here, between two chunks
                raise JobCancelled("cancelled while grouping")
            chunk = []
            for index in todo[start : start + EMBED_CHUNK]:
                try:
                    chunk.append((index, load_rgb(Path(paths[index]), LOAD_SIDE)))
                except ServiceError:  # an unreadable file is left out, not the whole job
                    continue
            if chunk:
                chunk_keys = [keys[i] or None for i, _ in chunk]
                computed = self.tagger.embed_images([image for _, image in chunk], chunk_keys)
                for (index, _), row in zip(chunk, computed, strict=True):
                    rows[index] = row
                    if keys[index]:
                        self.rows.put(keys[index], revision, row)
            context.progress(0.9 * (start + EMBED_CHUNK) / len(todo))
        kept = sorted(rows)
        left_out = tuple(i for i in range(len(keys)) if i not in rows)
        if not kept:
            return LibraryGroups(group_photos(np.zeros((0, width)), []), left_out)
        grouping = group_photos(np.stack([rows[i] for i in kept]), [tags[i] for i in kept])
        return LibraryGroups(_reindexed(grouping, kept), left_out)


def _tags(photo: Any) -> list[PhotoTag]:
    """[[en, ru, probability], ...] (JSON-able params) -> PhotoTag list."""
    found = []
    for item in photo or ():
        en, ru, probability = (list(item) + ["", "", 1.0])[:3]
        if en:
            found.append(PhotoTag(str(en), str(ru or en), float(probability)))
    return found


def _reindexed(grouping: Grouping, kept: list[int]) -> Grouping:
    from dataclasses import replace

    groups = tuple(
        replace(group, members=tuple(kept[m] for m in group.members)) for group in grouping.groups
    )
    return replace(grouping, groups=groups)
