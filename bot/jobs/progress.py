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
from services.errors import BadImage, JobCancelled, ModelUnavailable
from services.jobs import JobHandle, JobState, JobUpdate

log = logging.getLogger("vitrina.bot")

PROGRESS_EDITS_PER_S = 20.0  # Telegram allows about 30 messages a second per bot


class ProgressFollower:
    """One task per job runs `follow`: it edits the progress message as updates arrive (at
    most one edit per `interval_s` per job) and closes the job when its handle is done."""

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
        self._edit_budget = TokenBucket(rate=PROGRESS_EDITS_PER_S, burst=PROGRESS_EDITS_PER_S)

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
        """Follow `handle` to its end. The progress message is shown (`first`, else the
        job's state) at once when `first` is given or the delay is 0; otherwise only if the
        job is still going after `delay_s`: a quick job's result is its only message, and
        no Bot API call or status write runs beside the model (P4)."""
        op_name = op_label(lang, job.op)
        markup = keyboards.cancel_job(job.id, lang)
        message_id = job.progress_message_id
        # the state at submit; the updates since (queued in `updates`) bring it up to date
        latest = JobUpdate(JobState.QUEUED, position=handle.position, progress=0.0)
        marked_running = False
        pending: str | None = None
        last_edit = 0.0
        shown = False
        show_at = time.monotonic() + (0.0 if first is not None else self.delay_s)

        async def show() -> None:
            """The progress message, with the state now (and "typing" if it runs)."""
            nonlocal message_id, shown, last_edit, marked_running
            shown = True
            text = first if first is not None else self.update_text(latest, lang, op_name)
            message_id = await self._show(job, photo, message_id, text, markup)
            last_edit = time.monotonic()
            if latest.state is JobState.RUNNING and not marked_running:
                marked_running = True
                await self._running(job, photo)

        async def flush() -> None:
            """Show the latest pending text if the global edit budget allows it."""
            nonlocal pending, last_edit
            if message_id is None:
                pending = None
            elif pending is not None and self._edit_budget.take():
                await self.delivery.edit(photo.chat_id, message_id, pending, markup)
                pending = None
            last_edit = time.monotonic()

        try:
            if show_at <= time.monotonic():
                await show()
            while not handle.done or not updates.empty():
                if not shown:
                    wait: float | None = show_at
                else:
                    wait = None if pending is None else last_edit + self.interval_s
                timeout = None if wait is None else max(0.0, wait - time.monotonic())
                try:
                    update = await asyncio.wait_for(updates.get(), timeout)
                except TimeoutError:
                    await (flush() if shown else show())
                    continue
                if update.state not in (JobState.QUEUED, JobState.RUNNING):
                    break
                latest = update
                if not shown:
                    continue  # the message, when it comes, shows the latest state
                if update.state is JobState.RUNNING and not marked_running:
                    marked_running = True
                    await self._running(job, photo)
                pending = self.update_text(update, lang, op_name)
                if time.monotonic() - last_edit >= self.interval_s:
                    await flush()
            if before_result is not None:  # e.g. the photo's own message goes out first
                with contextlib.suppress(Exception):
                    await before_result
            await self._finish(job, photo, handle, message_id, lang, op_name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a full disk, a read-only database, the user erased it all
            log.exception("job %s: following or delivering it failed", job.id)
            failed = t(lang, "job.failed", op=op_name)
            text = t(lang, "error.storage") if is_storage_failure(exc) else failed
            with contextlib.suppress(Exception):  # never silence: one short answer
                await self.delivery.close_progress(photo, message_id, text)

    async def _show(
        self, job: Job, photo: Photo, message_id: int | None, text: str, markup: Any
    ) -> int | None:
        """Edit the job's progress message (one a previous run sent), else send it."""
        if message_id is not None and await self.delivery.edit(
            photo.chat_id, message_id, text, markup
        ):
            return message_id
        sent = await self.delivery.send(photo, text, markup)
        if sent is not None:
            await self.storage.set_progress_message(job.id, sent)
        return sent

    async def _running(self, job: Job, photo: Photo) -> None:
        await self.storage.set_job_status(job.id, JobStatus.RUNNING)
        await self.delivery.typing(photo.chat_id)

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
