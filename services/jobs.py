"""What a caller submits (`JobRequest`) and what it gets back (`JobHandle`)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from services.errors import JobCancelled

_local_ids = itertools.count(1)


class Stage(StrEnum):
    """A named part of a job worth telling the user about (rendered from the catalog)."""

    GPT = "gpt"  # /describe: the copy is being written by GPT


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: the `image_path` of a request about no one photo (/find, /groups: the user's library)
NO_PHOTO = Path()


@dataclass(frozen=True)
class JobRequest:
    op: str
    user_id: int
    image_path: Path
    params: Mapping[str, Any] = field(default_factory=dict)
    job_id: int | None = None  # the storage id when the caller has one
    #: sha256 of the photo file (the bot stores it): keys per-photo features, no re-hashing
    photo_sha256: str | None = None

    @property
    def has_photo(self) -> bool:
        """False for a library request (`NO_PHOTO`): engines send no photo with it."""
        return self.image_path != NO_PHOTO


@dataclass(frozen=True)
class JobUpdate:
    """One step in a job's life, sent to subscribers on the event loop."""

    state: JobState
    position: int | None = None  # jobs ahead of this one while queued
    progress: float | None = None  # 0..1 while running
    step: int | None = None  # in a loop of steps (denoising): which one of `total`
    total: int | None = None
    stage: Stage | None = None  # a named part of the job (e.g. waiting for GPT)


Listener = Callable[[JobUpdate], None]


class JobHandle:
    """Await `result()`, `cancel()` at any time, `subscribe()` to follow its progress."""

    def __init__(self, request: JobRequest, loop: asyncio.AbstractEventLoop) -> None:
        self.request = request
        self.id = request.job_id if request.job_id is not None else -next(_local_ids)
        #: the caller's id for logs: the storage id, also when the row came after submit
        self.job_id = request.job_id
        self.state = JobState.QUEUED
        self.position: int | None = None
        self.queued_at = time.monotonic()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        # Read by the model thread (diffusion loops check it between steps).
        self.cancel_requested = threading.Event()
        self._loop = loop
        self._future: asyncio.Future[Any] = loop.create_future()
        self._listeners: list[Listener] = []
        self._on_cancel: Callable[[JobHandle], None] | None = None

    def __repr__(self) -> str:
        return f"<JobHandle {self.id} {self.request.op} user={self.request.user_id} {self.state}>"

    @property
    def done(self) -> bool:
        return self._future.done()

    @property
    def error(self) -> BaseException | None:
        """What a failed job failed with (None while running, after success or cancel)."""
        if self.state is not JobState.FAILED:
            return None
        return self._future.exception()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def result(self) -> Any:
        """The operation's result; raises JobCancelled or the error the job failed with."""
        return await asyncio.shield(self._future)

    def cancel(self) -> bool:
        """Cancel a queued job now, or ask a running one to stop at its next step."""
        if self.done:
            return False
        self.cancel_requested.set()
        if self._on_cancel is not None:  # queued: dropped now; in an async finish: stopped
            self._on_cancel(self)
        return True

    # ---- called by the scheduler, on the event loop

    def _emit(self, update: JobUpdate) -> None:
        for listener in list(self._listeners):
            listener(update)

    def _set_position(self, position: int) -> None:
        if position != self.position:
            self.position = position
            self._emit(JobUpdate(JobState.QUEUED, position=position))

    def _set_running(self) -> None:
        self.state = JobState.RUNNING
        self.position = None
        self.started_at = time.monotonic()
        self._emit(JobUpdate(JobState.RUNNING, progress=0.0))

    def _progress(
        self,
        fraction: float,
        step: int | None = None,
        total: int | None = None,
        stage: Stage | None = None,
    ) -> None:
        if not self.done:
            running = JobState.RUNNING
            self._emit(JobUpdate(running, progress=fraction, step=step, total=total, stage=stage))

    def _finish(self, outcome: Any) -> None:
        if self.done:
            return
        self.finished_at = time.monotonic()
        if isinstance(outcome, JobCancelled):
            self.state = JobState.CANCELLED
            self._future.set_exception(outcome)
        elif isinstance(outcome, BaseException):
            self.state = JobState.FAILED
            self._future.set_exception(outcome)
        else:
            self.state = JobState.DONE
            self._future.set_result(outcome)
        # Nobody may await a failed future: mark its exception as retrieved.
        self._future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._emit(JobUpdate(self.state))

    @property
    def wait_s(self) -> float:
        start = self.started_at or self.finished_at or time.monotonic()
        return start - self.queued_at

    @property
    def run_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at
