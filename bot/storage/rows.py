"""Row types: what the queries return (frozen dataclasses), and how a row becomes one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiosqlite

from services.results import IMAGE, KINDS, StoredImage, kind_named


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class User:
    id: int
    language: str  # the interface language: Telegram's, or the one chosen in /settings
    domain: str
    username: str | None
    # /settings (None: the deployment's default)
    language_chosen: bool = False  # True: `language` stays whatever Telegram says
    background: str | None = None  # the background a bare /background uses
    tags_mode: str | None = None  # "top_k" or "threshold"
    edit_strength: str | None = None  # "gentle", "normal" or "strong"
    profile: str | None = None  # the marketplace profile of /check and Fix (None: default)
    brand: str | None = None  # /gallery's brand colour "#rrggbb" (None: from the product)


@dataclass(frozen=True)
class Photo:
    id: int
    user_id: int
    chat_id: int
    message_id: int
    file_id: str
    file_unique_id: str
    sha256: str
    size: int
    width: int
    height: int
    path: Path
    media_group_id: str | None
    deleted: bool
    caption: str | None = None  # what the user wrote under it (not a command)
    media: str | None = None  # "photo" or "document" (None: stored before it was kept)
    created_at: str = ""


@dataclass(frozen=True)
class Job:
    id: int
    user_id: int
    chat_id: int
    photo_id: int
    op: str
    params: dict[str, Any]
    status: JobStatus
    progress_message_id: int | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    cache_key: str | None = None
    set_run_id: int | None = None  # one photo's job of a set's run (bot/sets)


@dataclass(frozen=True)
class Result:
    job_id: int
    kind: str
    payload: dict[str, Any]

    @property
    def value(self) -> Any:
        """The typed result (`ResultKind.from_payload`: TagResult, DescriptionResult,
        CheckSummary, StoredImage); UnknownKind for a kind this build does not have."""
        return kind_named(self.kind).from_payload(self.payload)

    @property
    def files(self) -> list[str]:
        """The names of the files it keeps in the results folder (none for a text result,
        or a kind this build does not have)."""
        kind = KINDS.get(self.kind)
        try:
            return kind.files(kind.from_payload(self.payload)) if kind is not None else []
        except (KeyError, TypeError, ValueError):
            return []

    def renamed(self, job_id: int) -> dict[str, Any]:
        """Its payload with its files named after another job (a cache hit's copies)."""
        kind = KINDS.get(self.kind)
        if kind is None or not self.files:
            return dict(self.payload)
        return kind.to_payload(kind.renamed(kind.from_payload(self.payload), job_id))

    @property
    def image(self) -> StoredImage | None:
        """The stored picture of an image result (None for a text result)."""
        return StoredImage.from_payload(self.payload) if self.kind == IMAGE.name else None


def fits(value: int) -> bool:
    """SQLite integers are 64-bit: a bigger id (forged callback data) matches nothing."""
    return -(2**63) <= value < 2**63


def now() -> str:
    """The time stamp every row carries (UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def photo_from_row(row: aiosqlite.Row) -> Photo:
    return Photo(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        file_id=row["file_id"],
        file_unique_id=row["file_unique_id"],
        sha256=row["sha256"],
        size=row["size"],
        width=row["width"],
        height=row["height"],
        path=Path(row["path"]),
        media_group_id=row["media_group_id"],
        deleted=bool(row["deleted"]),
        caption=row["caption"],
        media=row["media"],
        created_at=row["created_at"],
    )


def user_from_row(row: aiosqlite.Row) -> User:
    return User(
        id=row["id"],
        language=row["language"],
        domain=row["domain"],
        username=row["username"],
        language_chosen=bool(row["language_chosen"]),
        background=row["background"],
        tags_mode=row["tags_mode"],
        edit_strength=row["edit_strength"],
        profile=row["profile"],
        brand=row["brand"],
    )


def job_from_row(row: aiosqlite.Row) -> Job:
    return Job(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        photo_id=row["photo_id"],
        op=row["op"],
        params=json.loads(row["params"]),
        status=JobStatus(row["status"]),
        progress_message_id=row["progress_message_id"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        cache_key=row["cache_key"],
        set_run_id=row["set_run_id"],
    )


def result_from_row(row: aiosqlite.Row) -> Result:
    return Result(row["job_id"], row["kind"], json.loads(row["payload"]))
