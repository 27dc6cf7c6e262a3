"""Which update is being handled: what a handler makes (a job, a set run, an album's set)
is keyed by it, so that the same update handled again after a crash finds what the first
time made instead of making it twice.

The inbox sets the update id around each handler (`handling`); tasks a handler starts
inherit it (contextvars), which is why only the entry points that make a row from a user's
request ask for `origin(...)`, never the runners that resume rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_update_id: ContextVar[int | None] = ContextVar("vitrina_update_id", default=None)


@contextlib.contextmanager
def handling(update_id: int) -> Iterator[None]:
    token = _update_id.set(update_id)
    try:
        yield
    finally:
        _update_id.reset(token)


def origin(*parts: object) -> str | None:
    """ "<update id>:<parts...>" while an update is handled, else None (no key: a row made
    outside an update, by a test or a runner, is never deduplicated)."""
    update_id = _update_id.get()
    if update_id is None:
        return None
    return ":".join(str(part) for part in (update_id, *parts))
