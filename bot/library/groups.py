"""/groups: the user's library clustered (the ``group`` operation on the model worker:
CLIP embeddings with the tags as a second signal), one contact sheet per group."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.storage import Photo, Storage
from services.jobs import NO_PHOTO, JobRequest
from services.models.clip import TagResult
from services.operations import Op
from services.operations.library import LibraryGroups
from services.scheduler import ModelServices

MAX_PHOTOS = 2000  # the newest this many (the distance matrix grows with the square)
SHOWN = 10  # groups sent as sheets
SHEET_PHOTOS = 24  # thumbnails on one sheet
THUMB_SIDE = 384  # photos are decoded at about this size for the sheets


async def library_for_grouping(db: Storage, user_id: int) -> list[Photo]:
    """The user's photos to group, newest first, each picture once."""
    seen: set[str] = set()
    photos = []
    for photo in await db.library_photos(user_id, MAX_PHOTOS):
        if photo.sha256 not in seen:
            seen.add(photo.sha256)
            photos.append(photo)
    return photos


async def group_library(
    db: Storage, services: ModelServices, user_id: int, photos: Sequence[Photo]
) -> LibraryGroups:
    """Cluster ``photos`` on the worker (raises the service error a job ends with)."""
    tags = await db.latest_tags([photo.id for photo in photos])
    params = {
        "photos": [photo.sha256 for photo in photos],
        "paths": [str(photo.path) for photo in photos],
        "tags": [item_tags(tags.get(photo.id)) for photo in photos],
    }
    handle = services.submit(JobRequest(Op.GROUP, user_id, NO_PHOTO, params))
    return await handle.result()


def item_tags(result: TagResult | None) -> list[list[Any]]:
    """A stored tag result's item tags as [en, ru, probability] (the group op's params)."""
    if result is None:
        return []
    return [[tag.en, tag.ru, float(tag.probability)] for tag in result.tags]


def sheet_jpeg(paths: Sequence[Path]) -> bytes:
    """One group's contact sheet as a JPEG (runs in a thread: it decodes photos)."""
    from services.errors import ServiceError
    from services.imaging.contact import grid_sheet
    from services.imaging.decode import load_rgb

    pictures = []
    for path in paths[:SHEET_PHOTOS]:
        try:
            pictures.append(load_rgb(path, THUMB_SIDE))
        except (ServiceError, OSError):  # a file gone meanwhile: the sheet goes without it
            continue
    if not pictures:
        return b""
    buffer = io.BytesIO()
    grid_sheet(pictures).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
