"""Which words a stored result adds to its photo's entry in the search index: the result's
kind says (`ResultKind.index_texts`, services/results/kinds.py). A kind that adds nothing
(image results: an edit is not what the photo shows) is not indexed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.results.kinds import KINDS, ResultKind

#: the stored kinds whose results add words to the index
INDEXED_KINDS: tuple[str, ...] = tuple(
    name for name, kind in KINDS.items() if type(kind).index_texts is not ResultKind.index_texts
)

#: the kind of the photo's own caption in the index (not a result)
CAPTION = "caption"


def texts_of(kind: str, payload: Mapping[str, Any]) -> list[str]:
    """The texts a result of ``kind`` adds to the index (empty for an unknown kind or a
    payload that is not what the kind promises)."""
    found = KINDS.get(kind)
    return found.texts_of(payload) if found is not None else []
