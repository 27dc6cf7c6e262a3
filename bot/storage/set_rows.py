"""Row types of sets (catalogues): a set of photos, one action run over it, and each photo's
place in that run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiosqlite

from bot.storage.rows import JobStatus


class RunStatus(StrEnum):
    RUNNING = "running"  # photos still to process, or results still to send
    CANCELLED = "cancelled"  # the user pressed Cancel: what is done is still sent
    DONE = "done"  # everything sent, the ZIP too


@dataclass(frozen=True)
class PhotoSet:
    id: int
    user_id: int
    chat_id: int
    message_id: int | None  # the set's message («Получено 18 фото»)
    closed: bool  # an action started (or Split): later photos start a new set


@dataclass(frozen=True)
class SetRun:
    id: int
    set_id: int
    user_id: int
    chat_id: int
    op: str
    params: dict[str, Any]
    #: params computed across the set before the main pass (the catalogue's card scale)
    shared: dict[str, Any] | None
    status: RunStatus
    progress_message_id: int | None
    summary_sent: bool
    zip_sent: bool


@dataclass(frozen=True)
class SetItem:
    """One photo of a run: its jobs (a measuring pass first for a catalogue card) and
    whether its result reached the user."""

    run_id: int
    position: int  # 1-based, in the order the photos were sent
    photo_id: int
    name: str  # the file name in the ZIP and results.csv: the document's name or photo-NN
    measure_job_id: int | None
    job_id: int | None
    sent: bool
    measure_status: JobStatus | None
    measure_error: str | None
    status: JobStatus | None  # None: not submitted yet
    error: str | None


def set_from_row(row: aiosqlite.Row) -> PhotoSet:
    return PhotoSet(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        closed=bool(row["closed"]),
    )


def run_from_row(row: aiosqlite.Row) -> SetRun:
    return SetRun(
        id=row["id"],
        set_id=row["set_id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        op=row["op"],
        params=json.loads(row["params"]),
        shared=json.loads(row["shared"]) if row["shared"] else None,
        status=RunStatus(row["status"]),
        progress_message_id=row["progress_message_id"],
        summary_sent=bool(row["summary_sent"]),
        zip_sent=bool(row["zip_sent"]),
    )


def item_from_row(row: aiosqlite.Row) -> SetItem:
    measured, status = row["measure_status"], row["job_status"]
    return SetItem(
        run_id=row["run_id"],
        position=row["position"],
        photo_id=row["photo_id"],
        name=row["name"],
        measure_job_id=row["measure_job_id"],
        job_id=row["job_id"],
        sent=bool(row["sent"]),
        measure_status=JobStatus(measured) if measured else None,
        measure_error=row["measure_error"],
        status=JobStatus(status) if status else None,
        error=row["job_error"],
    )
