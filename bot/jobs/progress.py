"""Following a job: the progress message (queue position, percent, step), throttled edits
under one budget for all jobs, and the end of the job: its result, a failure or Cancel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

from bot import keyboards
from bot.alerts import AdminAlerts
from bot.jobs.delivery import Delivery
from bot.ops import op_label
from bot.ratelimit import TokenBucket
from bot.storage import Job, JobStatus, Photo, Storage
from bot.storage.failures import is_storage_failure
from bot.texts import STAGE_KEYS, t
from services.errors import BadImage, GalleryRefused, JobCancelled, ModelUnavailable
from services.jobs import JobHandle, JobState, JobUpdate

log = logging.getLogger("vitrina.bot")

PROGRESS_EDITS_PER_S = 20.0  # Telegram allows about 30 messages a second per bot


class ProgressFollower:
    """One task per job runs `follow`: its `JobProgress` edits the progress message as
    updates arrive (at most one edit per `interval_s` per job), and the job is closed when
    its handle is done."""

    def __init__(
        self,
        storage: Storage,
        delivery: Delivery,
        alerts: AdminAlerts,
        interval_s: float,
        delay_s: float = 0.0,
    ) -> None:
        self.storage = storage
        self.delivery = delivery
        self.alerts = alerts
        self.interval_s = interval_s
        self.delay_s = delay_s
        # Progress edits are a courtesy: with a long queue they would hit Telegram's flood
        # limits, so all jobs together get a budget; first messages and results always go.
        self.edit_budget = TokenBucket(rate=PROGRESS_EDITS_PER_S, burst=PROGRESS_EDITS_PER_S)

    def update_text(self, update: JobUpdate, lang: str, op_name: str) -> str:
        if update.state is JobState.RUNNING:
            percent = round((update.progress or 0.0) * 100)
            if update.step is not None and update.total:  # a denoising loop: "шаг 5/20"
                note = t(lang, "job.step", step=update.step, total=update.total)
                return t(lang, "job.running_note", op=op_name, percent=percent, note=note)
            if update.stage is not None:  # e.g. "(GPT)" while the copy is being written
                note = t(lang, STAGE_KEYS[update.stage])
                return t(lang, "job.running_note", op=op_name, percent=percent, note=note)
            return t(lang, "job.running", op=op_name, percent=percent)
        if not update.position:
            return t(lang, "job.next", op=op_name)
        return t(lang, "job.queued", op=op_name, position=update.position)

    async def follow(
        self,
        job: Job,
        photo: Photo,
        handle: JobHandle,
        updates: asyncio.Queue[JobUpdate],
        lang: str,
        *,
        first: str | None = None,
        before_result: Awaitable[Any] | None = None,
    ) -> None:
        """Follow `handle` to its end (`JobProgress`), then close the job: its result, a
        failure or Cancel; whatever fails meanwhile, the user hears one short answer."""
        progress = JobProgress(self, job, photo, handle, lang, first)
        try:
            await progress.follow(updates)
            if before_result is not None:  # e.g. the photo's own message goes out first
                with contextlib.suppress(Exception):
                    await before_result
            await self._finish(job, photo, handle, progress.message_id, lang, progress.op_name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a full disk, a read-only database, the user erased it all
            log.exception("job %s: following or delivering it failed", job.id)
            failed = t(lang, "job.failed", op=progress.op_name)
            text = t(lang, "error.storage") if is_storage_failure(exc) else failed
            with contextlib.suppress(Exception):  # never silence: one short answer
                await self.delivery.close_progress(photo, progress.message_id, text)

    async def _finish(
        self,
        job: Job,
        photo: Photo,
        handle: JobHandle,
        message_id: int | None,
        lang: str,
        op_name: str,
    ) -> None:
        try:
            result = await handle.result()
        except JobCancelled:
            await self.storage.set_job_status(job.id, JobStatus.CANCELLED)
            text = t(lang, "job.cancelled", op=op_name)
            await self.delivery.close_progress(photo, message_id, text)
            return
        except Exception as exc:
            await self.storage.set_job_status(
                job.id, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:500]
            )
            if isinstance(exc, GalleryRefused):  # says which word or line, asks again
                await self.delivery.gallery.refuse(job, photo, exc, message_id, lang)
                return
            if isinstance(exc, BadImage):
                text = t(lang, "job.bad_image", op=op_name)
            elif isinstance(exc, ModelUnavailable):
                await self.alerts.model_missing(job.op, f"{exc.model}: {exc.reason}")
                text = t(lang, "op.missing", op=op_name)
            else:
                text = t(lang, "job.failed", op=op_name)
            await self.delivery.close_progress(photo, message_id, text)
            return
        await self.delivery.deliver(job, photo, result, message_id, lang)


class JobProgress:
    """One job's progress message while the job runs. It is shown (`first`, else the job's
    state) at once when `first` is given or the delay is 0; otherwise only if the job is
    still going after the follower's `delay_s`: a quick job's result is its only message,
    and no Bot API call or status write runs beside the model (P4). Then it is edited as
    updates arrive, at most once per `interval_s` and within the follower's edit budget."""

    def __init__(
        self,
        follower: ProgressFollower,
        job: Job,
        photo: Photo,
        handle: JobHandle,
        lang: str,
        first: str | None,
    ) -> None:
        self.follower = follower
        self.delivery = follower.delivery
        self.job = job
        self.photo = photo
        self.handle = handle
        self.lang = lang
        self.first = first
        self.op_name = op_label(lang, job.op)
        self.markup = keyboards.cancel_job(job.id, lang)
        self.message_id = job.progress_message_id
        # the state at submit; the updates since (queued in `updates`) bring it up to date
        self.latest = JobUpdate(JobState.QUEUED, position=handle.position, progress=0.0)
        self.marked_running = False
        self.pending: str | None = None  # a text not shown yet (throttled)
        self.last_edit = 0.0
        self.shown = False
        self.show_at = time.monotonic() + (0.0 if first is not None else follower.delay_s)

    async def follow(self, updates: asyncio.Queue[JobUpdate]) -> None:
        """Until the handle is done and its updates are read (or one says it is over)."""
        if self.show_at <= time.monotonic():
            await self.show()
        while not self.handle.done or not updates.empty():
            try:
                update = await asyncio.wait_for(updates.get(), self._timeout())
            except TimeoutError:
                await (self.flush() if self.shown else self.show())
                continue
            if update.state not in (JobState.QUEUED, JobState.RUNNING):
                break
            await self.on_update(update)

    def _timeout(self) -> float | None:
        """Until the message is due (not shown yet) or the pending text may go (None: no
        deadline, only the next update)."""
        if not self.shown:
            due: float | None = self.show_at
        else:
            due = None if self.pending is None else self.last_edit + self.follower.interval_s
        return None if due is None else max(0.0, due - time.monotonic())

    async def on_update(self, update: JobUpdate) -> None:
        self.latest = update
        if not self.shown:
            return  # the message, when it comes, shows the latest state
        if update.state is JobState.RUNNING:
            await self._mark_running()
        self.pending = self.follower.update_text(update, self.lang, self.op_name)
        if time.monotonic() - self.last_edit >= self.follower.interval_s:
            await self.flush()

    async def show(self) -> None:
        """The progress message, with the state now (and "typing" if it runs): the job's
        message from a previous run edited, else a new one."""
        self.shown = True
        text = self.first
        if text is None:
            text = self.follower.update_text(self.latest, self.lang, self.op_name)
        if self.message_id is None or not await self.delivery.edit(
            self.photo.chat_id, self.message_id, text, self.markup
        ):
            self.message_id = await self.delivery.send(self.photo, text, self.markup)
            if self.message_id is not None:
                await self.follower.storage.set_progress_message(self.job.id, self.message_id)
        self.last_edit = time.monotonic()
        if self.latest.state is JobState.RUNNING:
            await self._mark_running()

    async def flush(self) -> None:
        """Show the latest pending text if the global edit budget allows it."""
        if self.message_id is None:
            self.pending = None
        elif self.pending is not None and self.follower.edit_budget.take():
            text, self.pending = self.pending, None
            await self.delivery.edit(self.photo.chat_id, self.message_id, text, self.markup)
        self.last_edit = time.monotonic()

    async def _mark_running(self) -> None:
        if self.marked_running:
            return
        self.marked_running = True
        await self.follower.storage.set_job_status(self.job.id, JobStatus.RUNNING)
        await self.delivery.typing(self.photo.chat_id)
