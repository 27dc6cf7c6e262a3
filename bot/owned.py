"""A button names a row by its id (a photo, a set, a job): the row must still be there and be
the presser's. One inner middleware checks that for every button handler registered with
`flags=owned(kind)`, and the handler gets the row as a keyword (`photo`, `photo_set`,
`job`). A row that is gone, or another user's (a button under someone else's message in a
group), is refused with an alert and the handler does not run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import TelegramObject

from bot.middlewares import Handler, alert
from bot.storage import Job, Photo, PhotoSet, Storage
from bot.texts import t

FLAG = "owned"

Kind = Literal["photo", "set", "job"]
Row = Photo | PhotoSet | Job


@dataclass(frozen=True)
class Owned:
    """The `owned` flag's value: the kind of row the callback data names."""

    kind: Kind
    file: bool = False  # a photo: its file must be on disk too


@dataclass(frozen=True)
class _RowKind:
    field: str  # the callback data's field holding the id
    keyword: str  # the handler's keyword argument that gets the row
    gone_key: str  # catalog keys of the refusals
    not_yours_key: str
    load: Callable[[Storage, int], Awaitable[Row | None]]


KINDS: dict[Kind, _RowKind] = {
    "photo": _RowKind(
        "photo_id",
        "photo",
        gone_key="photo.gone",
        not_yours_key="photo.not_yours",
        load=lambda db, i: db.get_photo(i),
    ),
    "set": _RowKind(
        "set_id",
        "photo_set",
        gone_key="set.gone",
        not_yours_key="photo.not_yours",
        load=lambda db, i: db.get_set(i),
    ),
    "job": _RowKind(
        "job_id",
        "job",
        gone_key="result.gone",
        not_yours_key="result.not_yours",
        load=lambda db, i: db.get_job(i),
    ),
}


def owned(kind: Kind, *, file: bool = False) -> dict[str, Owned]:
    """Handler flags: `router.callback_query.register(h, Data.filter(), flags=owned("photo"))`.
    A new dict per handler: aiogram adds the handler's other flags to it."""
    return {FLAG: Owned(kind, file)}


def _gone(row: Row, file: bool) -> bool:
    if isinstance(row, Photo):
        return row.deleted or (file and not row.path.exists())
    return False


class OwnedRows(BaseMiddleware):
    """Inside `CallbackAnswerMiddleware` (the refusal is that answer, an alert)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        wanted: Owned | None = get_flag(data, FLAG)
        if wanted is None:
            return await handler(event, data)
        kind = KINDS[wanted.kind]
        row = await kind.load(data["db"], getattr(data["callback_data"], kind.field))
        if row is None or _gone(row, wanted.file):
            refusal = kind.gone_key
        elif row.user_id != data["user"].id:
            refusal = kind.not_yours_key
        else:
            data[kind.keyword] = row
            return await handler(event, data)
        alert(data["callback_answer"], t(data["lang"], refusal))
        return None
