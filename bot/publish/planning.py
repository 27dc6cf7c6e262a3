"""/publish wb: what the upload would do, stored as a planned run, before anything changes.

The user's last set gives the photos: each one's newest image result (Fix, Clean, a new
background; a gallery's slides) where it has one, else the photo itself. Each is checked
against WB's rules (a photo WB would refuse is named here, by file) and matched to a card
by its seller article (the caption's «арт. 12345», else the file name; rules:
services/publishing/articles.toml); a card gets at most 30 photos, the first in order."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from bot.storage import Photo, Storage
from services.publishing import articles, limits
from services.publishing.limits import Refusal
from services.publishing.wb_client import Card, WbClient

MARKETPLACE = "wb"


@dataclass(frozen=True)
class Source:
    photo: Photo
    name: str  # what the seller calls it: the file's name, a slide's, or photo-NN
    path: Path  # the file to upload
    file_name: str | None  # the name the article is read from
    caption: str | None


@dataclass
class Plan:
    run_id: int | None = None
    cards: dict[int, Card] = field(default_factory=dict)
    articles: dict[int, str] = field(default_factory=dict)
    by_card: dict[int, list[Source]] = field(default_factory=dict)
    unmatched: list[tuple[str, str | None]] = field(default_factory=list)  # (name, article)
    refused: list[tuple[str, Refusal]] = field(default_factory=list)
    over: dict[int, int] = field(default_factory=dict)  # nmID -> photos beyond 30

    @property
    def photos(self) -> int:
        return sum(len(items) for items in self.by_card.values())


def _named(photo: Photo, name: str, file_name: str | None, files: list[Path]) -> list[Source]:
    """A photo's files to upload: its result's files (a gallery's slides numbered), else
    the photo itself."""
    if not files:
        return [Source(photo, name, photo.path, file_name, photo.caption)]
    stem = Path(name).stem
    return [
        Source(
            photo,
            f"{stem}{path.suffix}" if len(files) == 1 else f"{stem}-{index}{path.suffix}",
            path,
            file_name,
            photo.caption,
        )
        for index, path in enumerate(files, 1)
    ]


async def set_sources(db: Storage, set_id: int) -> list[Source]:
    """A set's photos as files to upload: each one's newest image result, else itself."""
    found: list[Source] = []
    for number, (photo, file_name) in enumerate(await db.set_members(set_id), 1):
        name = file_name or f"photo-{number:02d}.jpg"
        found.extend(_named(photo, name, file_name, await db.latest_image_files(photo.id)))
    return found


async def last_set_sources(db: Storage, user_id: int, chat_id: int) -> list[Source]:
    """/publish wb: the user's last set ([] when there is none)."""
    photo_set = await db.last_set(user_id, chat_id)
    return await set_sources(db, photo_set.id) if photo_set is not None else []


async def job_sources(db: Storage, job_id: int) -> list[Source]:
    """A result's button (Fix, Gallery): that result's files, named after the photo's file
    name where a set kept it (else photo-<id>)."""
    job = await db.get_job(job_id)
    photo = await db.get_photo(job.photo_id) if job is not None else None
    if job is None or photo is None or photo.deleted:
        return []
    file_name = await db.photo_file_name(photo.id)
    name = file_name or f"photo-{photo.id}.jpg"
    return _named(photo, name, file_name, await db.job_image_files(job.id))


def inspect(path: Path) -> tuple[Refusal | None, str]:
    """WB's verdict on a file and its content type (blocking: run it in a thread)."""
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            width, height = image.size
            animated = bool(getattr(image, "is_animated", False))
    except (OSError, ValueError, Image.DecompressionBombError):
        return Refusal("format"), ""
    refusal = limits.check_photo(width, height, len(data), fmt, animated=animated)
    return refusal, limits.CONTENT_TYPES.get(fmt.upper(), "application/octet-stream")


async def find_card(client: WbClient, candidates: list[str]) -> Card | None:
    """The card of the best candidate: an exact seller article first (the whole file name
    before its stripped form), then a WB article (nmID)."""
    wanted = [c.casefold() for c in candidates]
    by_nm: Card | None = None
    for query in candidates:
        cards = [card async for card in client.cards(query)]
        exact = {card.vendor_code.casefold(): card for card in cards}
        for article in sorted(wanted, key=len, reverse=True):
            if article in exact:
                return exact[article]
        by_nm = by_nm or next((c for c in cards if str(c.nm_id) in wanted), None)
        if by_nm is not None:
            return by_nm
    return None


async def plan(
    db: Storage,
    client_factory: Callable[[], WbClient],
    user_id: int,
    chat_id: int,
    found: list[Source],
    origin: str | None = None,
) -> Plan:
    """Check and match these files, and store the planned run (nothing sent yet). Raises
    `TokenRevoked` when WB says the token no longer works."""
    result = Plan()
    cache: dict[tuple[str, ...], Card | None] = {}
    async with client_factory() as client:
        for source in found:
            refusal, _ = await asyncio.to_thread(inspect, source.path)
            if refusal is not None:
                result.refused.append((source.name, refusal))
                continue
            wanted = articles.candidates(source.file_name, source.caption)
            if not wanted:
                result.unmatched.append((source.name, None))
                continue
            key = tuple(wanted)
            if key not in cache:
                cache[key] = await find_card(client, wanted)
            card = cache[key]
            if card is None:
                result.unmatched.append((source.name, wanted[0]))
                continue
            result.cards[card.nm_id] = card
            result.articles.setdefault(card.nm_id, card.vendor_code or wanted[0])
            items = result.by_card.setdefault(card.nm_id, [])
            if len(items) >= limits.MAX_PHOTOS:
                result.over[card.nm_id] = result.over.get(card.nm_id, 0) + 1
                continue
            items.append(source)
    if result.by_card:
        cards = [
            (nm, result.articles[nm], result.cards[nm].title, result.cards[nm].photo_count)
            for nm in result.by_card
        ]
        items = [
            (source.photo.id, str(source.path), source.name, nm, index)
            for nm, sources_of_card in result.by_card.items()
            for index, source in enumerate(sources_of_card)
        ]
        result.run_id = await db.create_publish_run(
            user_id, chat_id, MARKETPLACE, cards, items, origin=origin
        )
    return result
