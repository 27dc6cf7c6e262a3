"""One pass of a set's run over its photos: jobs fed to the fair queue progressively.

A set of 200 is one request: at most `window()` of its jobs are in the queue at a time (the
operation's batch, at most half the per-user bound), and the next are submitted the moment
some finish, so other users' jobs interleave as with any user's (round robin: another
user's job waits behind the set's running batch at most) and the per-user bound is never
hit by a set. Job rows are made a little ahead (`prepared`, a window's worth), so finished
jobs are followed by the next without a database write in between, as many at once as
there is room for: never a first batch of one (issue 31). Storing and delivering results
runs beside the pass and never holds the next jobs back. A repeat is answered from the
result cache as for a single photo. Whatever the op, the pass is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.alerts import AdminAlerts
from bot.jobs.delivery import Delivery
from bot.ops import spec_of
from bot.result_views import stored
from bot.storage import FINISHED, Job, JobStatus, Photo, SetItem, SetRun, Storage
from services.catalogue import measure_op
from services.errors import JobCancelled, ModelUnavailable, QueueFull, UnknownOperation
from services.jobs import JobHandle, JobRequest
from services.results import MEASURE, ImageResult, ObjectMeasure
from services.results.gallery import GalleryResult
from services.scheduler import ModelServices

log = logging.getLogger("vitrina.bot")
#: how often a pass whose user has no room in the queue tries again
RETRY_S = 0.5


@dataclass(frozen=True)
class Settlement:
    """A photo whose job of this pass ended: `kind` is "image" (an image result of the main
    pass, ready for an album), "done" (any other result, or one from the cache), "failed" or
    "cancelled"."""

    item: SetItem
    job_id: int
    kind: str


Settled = Callable[[Settlement], Awaitable[None]]


@dataclass
class RunState:
    """A run being driven: Cancel sets `cancelled` and cancels the jobs out."""

    run: SetRun
    lang: str
    cancelled: bool = False
    handles: set[JobHandle] = field(default_factory=set)


class Feeder:
    def __init__(
        self, storage: Storage, services: ModelServices, delivery: Delivery, alerts: AdminAlerts
    ) -> None:
        self.storage = storage
        self.services = services
        self.delivery = delivery
        self.alerts = alerts

    def window(self, op: str, params: dict[str, Any]) -> int:
        """How many of a set's jobs may be in the queue at once: one batch per worker of
        the op's lane, at most half the per-user bound (the user's single jobs keep room)."""
        operation = self.services.operations.get(op)
        max_batch = operation.max_batch if operation is not None else 1
        try:
            lane = self.services.lane_of(JobRequest(op, 0, Path(), params))
            capacity = max(1, self.services.engine.capacity(lane))
        except Exception:  # odd params: the job itself fails and says why
            capacity = 1
        half = max(1, self.services.config.queue_max_per_user // 2)
        return max(1, min(max_batch * capacity, half))

    async def run_pass(
        self,
        state: RunState,
        items: list[SetItem],
        params: dict[str, Any],
        *,
        measure: bool,
        settled: Settled,
    ) -> None:
        """Run `params` (the measuring variant when `measure`) over `items`."""
        window = self.window(state.run.op, params)
        todo = deque(items)
        prepared: deque[tuple[SetItem, Job, Photo]] = deque()
        out: dict[asyncio.Task[Any], tuple[SetItem, Job, JobHandle]] = {}
        storing: set[asyncio.Task[None]] = set()

        def finish(item: SetItem, job: Job, outcome: Any) -> None:
            task = asyncio.create_task(self._store(state, item, job, outcome, measure, settled))
            storing.add(task)
            task.add_done_callback(storing.discard)

        try:
            while True:
                blocked = False
                # as many as there is room for go out at once (prepared fills while the worker
                # runs), or what is left: a first job alone would start a batch of one
                room = window - len(out)
                go = room if prepared and (len(prepared) >= room or not todo) else 0
                while prepared and go > 0 and not state.cancelled:
                    item, job, photo = prepared[0]
                    try:
                        handle = self._submit(state.run, job, photo)
                    except QueueFull:  # the user's singles fill their share: wait for room
                        blocked = True
                        break
                    except UnknownOperation as exc:
                        prepared.popleft()
                        finish(item, job, exc)
                        continue
                    prepared.popleft()
                    go -= 1
                    state.handles.add(handle)
                    out[asyncio.create_task(_outcome(handle))] = (item, job, handle)
                if todo and len(prepared) < window and not state.cancelled:
                    item = todo.popleft()
                    ready = await self._prepare(state.run, item, params, measure)
                    if isinstance(ready, tuple):
                        prepared.append(ready)
                    else:  # answered at once (the cache), or failed before the queue
                        await settled(ready)
                    continue
                if not out:
                    if state.cancelled or not prepared:
                        break
                    await asyncio.sleep(RETRY_S)  # no room in the queue for this user yet
                    continue
                done, _ = await asyncio.wait(
                    out, timeout=RETRY_S if blocked else None, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    item, job, handle = out.pop(task)
                    state.handles.discard(handle)
                    finish(item, job, task.result())
        except BaseException:  # stopped (shutdown) or broken: no task of this pass lingers
            for task in [*out, *storing]:
                task.cancel()
            raise
        for _, job, _photo in prepared:  # cancelled before they were queued
            await self.storage.set_job_status(job.id, JobStatus.CANCELLED)
        if storing:
            await asyncio.gather(*storing)

    async def _prepare(
        self, run: SetRun, item: SetItem, params: dict[str, Any], measure: bool
    ) -> tuple[SetItem, Job, Photo] | Settlement:
        """The item's job row (made now, or left by a previous start), or how it settled
        already: a cache hit, or its photo is gone."""
        job_id = item.measure_job_id if measure else item.job_id
        job = await self.storage.get_job(job_id) if job_id is not None else None
        photo = await self.storage.get_photo(item.photo_id)
        if job is None:
            job = await self._new_job(run, item, params, photo, measure)
        if job.status in FINISHED:
            return Settlement(item, job.id, "done" if job.status is JobStatus.DONE else "failed")
        if photo is None or photo.deleted or not photo.path.exists():
            await self.storage.set_job_status(job.id, JobStatus.FAILED, error="photo missing")
            return Settlement(item, job.id, "failed")
        return item, job, photo

    async def _new_job(
        self,
        run: SetRun,
        item: SetItem,
        params: dict[str, Any],
        photo: Photo | None,
        measure: bool,
    ) -> Job:
        key = None
        op = measure_op(run.op) if measure else run.op
        if photo is not None and not photo.deleted:
            spec = spec_of(run.op)  # per photo: e.g. a gallery's text from its caption
            if spec is not None and spec.prepare is not None and not measure:
                params = await spec.prepare(self.storage, photo, dict(params))
            key = await asyncio.to_thread(self.services.cache_key, op, params, photo.sha256)
        cached = await self.storage.find_cached(key) if key is not None else None
        fields: dict[str, Any] = {
            "user_id": run.user_id,
            "chat_id": run.chat_id,
            "photo_id": item.photo_id,
            "op": op,
            "params": params,
            "set_run_id": run.id,
        }
        job: Job | None = None
        if key is not None and cached is not None:
            job = await self.storage.create_cached_job(**fields, cache_key=key, cached=cached)
            self.services.metrics.cache_hit(op)
            if not await self.storage.link_cached_files(job.id, cached):
                await self.storage.set_job_status(job.id, JobStatus.QUEUED)
                job = dataclasses.replace(job, status=JobStatus.QUEUED)
        if job is None:
            job = await self.storage.create_job(**fields, cache_key=key)
        await self.storage.set_item_job(run.id, item.position, job.id, measure=measure)
        return job

    def _submit(self, run: SetRun, job: Job, photo: Photo) -> JobHandle:
        request = JobRequest(  # the job's own op: a measuring pass may run another's cut
            job.op, run.user_id, photo.path, job.params, job_id=job.id, photo_sha256=photo.sha256
        )
        return self.services.submit(request)

    async def _store(
        self,
        state: RunState,
        item: SetItem,
        job: Job,
        outcome: Any,
        measure: bool,
        settled: Settled,
    ) -> None:
        """The job's outcome in storage (files first), then the item is settled."""
        kind = "done"
        try:
            if isinstance(outcome, JobCancelled):
                kind = "cancelled"
                await self.storage.set_job_status(job.id, JobStatus.CANCELLED)
            elif isinstance(outcome, BaseException):
                kind = "failed"
                error = f"{type(outcome).__name__}: {outcome}"[:500]
                await self.storage.set_job_status(job.id, JobStatus.FAILED, error=error)
                if isinstance(outcome, ModelUnavailable):
                    await self.alerts.model_missing(job.op, f"{outcome.model}: {outcome.reason}")
            elif isinstance(outcome, GalleryResult):  # its slides' files, then its row
                await self.delivery.gallery.store(job.id, outcome)
            elif isinstance(outcome, ImageResult):
                await self.delivery.store_image(job.id, outcome)
                kind = "done" if measure else "image"
            elif isinstance(outcome, ObjectMeasure):
                await self.storage.save_result(job.id, MEASURE.name, MEASURE.to_payload(outcome))
            else:
                kind, payload = stored(outcome)
                cacheable = getattr(outcome, "cacheable", True)
                await self.storage.save_result(job.id, kind, payload, cacheable=cacheable)
        except Exception:  # a full disk: this photo fails, the set goes on
            log.exception("set run %s: storing job %s failed", state.run.id, job.id)
            kind = "failed"
            with contextlib.suppress(Exception):
                await self.storage.set_job_status(job.id, JobStatus.FAILED, error="not stored")
        await settled(Settlement(item, job.id, kind))


async def _outcome(handle: JobHandle) -> Any:
    """The job's result, or the exception it ended with (never raised here)."""
    try:
        return await handle.result()
    except Exception as exc:
        return exc
