"""The bot's side of a job: stored row, progress message, result message.

Handlers call `JobRunner.request()` and return at once; a task per job follows the
service handle, edits the progress message (throttled) and sends the result. Jobs a
previous run left unfinished are queued again on start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.types import BufferedInputFile, ReplyParameters

from bot import keyboards
from bot.alerts import AdminAlerts
from bot.delivery import encode
from bot.results import render_caption, render_text, result_payload
from bot.storage import Job, JobStatus, Photo, Storage
from bot.texts import t
from services.errors import BadImage, JobCancelled, ModelUnavailable, QueueFull, UnknownOperation
from services.jobs import JobHandle, JobRequest, JobState, JobUpdate
from services.layer import ModelServices
from services.results import ImageResult

log = logging.getLogger("vitrina.bot")
T = TypeVar("T")

PROGRESS_EDITS_PER_S = 20.0  # Telegram allows about 30 messages a second per bot
RETRIES = 3


class TokenBucket:
    """`take()` is True at most `rate` times a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class JobRunner:
    def __init__(
        self, bot: Bot, storage: Storage, services: ModelServices, alerts: AdminAlerts,
        progress_interval_s: float = 1.0,
    ) -> None:  # fmt: skip
        self.bot = bot
        self.storage = storage
        self.services = services
        self.alerts = alerts
        self.progress_interval_s = progress_interval_s
        self._handles: dict[int, JobHandle] = {}
        # Progress edits are a courtesy: with a long queue they would hit Telegram's flood
        # limits, so all jobs together get a budget; first messages and results always go.
        self._edit_budget = TokenBucket(rate=PROGRESS_EDITS_PER_S, burst=PROGRESS_EDITS_PER_S)
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- entry points

    async def request(
        self, *, user_id: int, lang: str, domain: str, photo: Photo, op: str,
        params: dict[str, Any] | None = None,
    ) -> Job | None:  # fmt: skip
        """Queue `op` on `photo` and answer at once; None if it could not be queued."""
        params = dict(params or {})
        missing = self.services.missing_weights(op)
        if missing != []:
            await self._refuse(photo, op, missing, lang)
            return None
        if op == "tag":
            params.setdefault("domain", domain)
        job = await self.storage.create_job(
            user_id=user_id, chat_id=photo.chat_id, photo_id=photo.id, op=op, params=params
        )
        await self._queue(job, photo, lang, resumed=False)
        return job

    async def resume_unfinished(self) -> int:
        """Queue again what a previous run left queued or running. Returns how many."""
        resumed = 0
        for job in await self.storage.unfinished_jobs():
            photo = await self.storage.get_photo(job.photo_id)
            user = await self.storage.get_user(job.user_id)
            lang = user.language if user else "ru"
            if photo is None or not photo.path.exists():
                await self.storage.set_job_status(job.id, JobStatus.FAILED, error="photo missing")
                continue
            await self.storage.set_job_status(job.id, JobStatus.QUEUED)
            if await self._queue(job, photo, lang, resumed=True):
                resumed += 1
        return resumed

    def cancel(self, job_id: int, user_id: int) -> bool:
        handle = self._handles.get(job_id)
        if handle is None or handle.request.user_id != user_id:
            return False
        return handle.cancel()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- internals

    async def _refuse(self, photo: Photo, op: str, missing: list[str] | None, lang: str) -> None:
        name = t(lang, f"op.{op}")
        if missing is None:
            text = t(lang, "op.planned", op=name)
        else:
            await self.alerts.model_missing(op, "missing weights: " + ", ".join(missing))
            text = t(lang, "op.missing", op=name)
        await self._send(photo, text)

    async def _queue(self, job: Job, photo: Photo, lang: str, *, resumed: bool) -> bool:
        request = JobRequest(job.op, job.user_id, photo.path, job.params, job_id=job.id)
        try:
            handle = self.services.submit(request)
        except QueueFull as exc:
            await self.storage.set_job_status(job.id, JobStatus.FAILED, error=str(exc))
            key = "job.too_many" if exc.per_user else "job.queue_full"
            await self._send(photo, t(lang, key, limit=self.services.config.queue_max_per_user))
            return False
        except UnknownOperation:  # a job stored by a build that had this operation
            await self.storage.set_job_status(job.id, JobStatus.FAILED, error="unknown op")
            await self._send(photo, t(lang, "op.planned", op=t(lang, f"op.{job.op}")))
            return False
        self._handles[job.id] = handle
        # Subscribe before any await: the worker may start the job while we send the message.
        updates: asyncio.Queue[JobUpdate] = asyncio.Queue()
        handle.subscribe(updates.put_nowait)
        op_name = t(lang, f"op.{job.op}")
        if resumed:
            text = t(lang, "job.resumed", op=op_name)
        else:
            now = JobUpdate(handle.state, position=handle.position, progress=0.0)
            text = self._update_text(now, lang, op_name)
        message_id = job.progress_message_id
        markup = keyboards.cancel_job(job.id, lang)
        if message_id is None or not await self._edit(photo.chat_id, message_id, text, markup):
            sent = await self._send(photo, text, markup)
            message_id = sent
            if sent is not None:
                await self.storage.set_progress_message(job.id, sent)
        task = asyncio.create_task(self._follow(job, photo, handle, updates, message_id, lang))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _update_text(self, update: JobUpdate, lang: str, op_name: str) -> str:
        if update.state is JobState.RUNNING:
            percent = round((update.progress or 0.0) * 100)
            if update.note:  # e.g. "step 5/20"
                note = _localised_note(update.note, lang)
                return t(lang, "job.running_note", op=op_name, percent=percent, note=note)
            return t(lang, "job.running", op=op_name, percent=percent)
        if not update.position:
            return t(lang, "job.next", op=op_name)
        return t(lang, "job.queued", op=op_name, position=update.position)

    async def _follow(
        self, job: Job, photo: Photo, handle: JobHandle, updates: asyncio.Queue[JobUpdate],
        message_id: int | None, lang: str,
    ) -> None:  # fmt: skip
        op_name = t(lang, f"op.{job.op}")
        markup = keyboards.cancel_job(job.id, lang)
        marked_running = False
        pending: str | None = None
        last_edit = 0.0

        async def flush() -> None:
            """Show the latest pending text if the global edit budget allows it."""
            nonlocal pending, last_edit
            if message_id is None:
                pending = None
            elif pending is not None and self._edit_budget.take():
                await self._edit(photo.chat_id, message_id, pending, markup)
                pending = None
            last_edit = time.monotonic()

        try:
            while not handle.done or not updates.empty():
                wait = None if pending is None else last_edit + self.progress_interval_s
                timeout = None if wait is None else max(0.0, wait - time.monotonic())
                try:
                    update = await asyncio.wait_for(updates.get(), timeout)
                except TimeoutError:
                    await flush()
                    continue
                if update.state not in (JobState.QUEUED, JobState.RUNNING):
                    break
                if update.state is JobState.RUNNING and not marked_running:
                    marked_running = True
                    await self.storage.set_job_status(job.id, JobStatus.RUNNING)
                    await self._typing(photo.chat_id)
                pending = self._update_text(update, lang, op_name)
                if time.monotonic() - last_edit >= self.progress_interval_s:
                    await flush()
            await self._finish(job, photo, handle, message_id, lang, op_name)
        finally:
            self._handles.pop(job.id, None)

    async def _finish(
        self, job: Job, photo: Photo, handle: JobHandle, message_id: int | None, lang: str,
        op_name: str,
    ) -> None:  # fmt: skip
        try:
            result = await handle.result()
        except JobCancelled:
            await self.storage.set_job_status(job.id, JobStatus.CANCELLED)
            await self._close_progress(photo, message_id, t(lang, "job.cancelled", op=op_name))
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
            await self._close_progress(photo, message_id, text)
            return
        if isinstance(result, ImageResult):
            await self._deliver_image(job, photo, result, message_id, lang)
            return
        kind, payload = result_payload(result)
        await self.storage.save_result(job.id, kind, payload)
        # A text result takes the place of the progress message: one message per job.
        await self._close_progress(photo, message_id, render_text(result, lang))

    async def _deliver_image(
        self, job: Job, photo: Photo, result: ImageResult, message_id: int | None, lang: str
    ) -> None:
        """File first, then the row, then the message: a result is never shown unsaved."""
        encoded = await asyncio.to_thread(encode, result)
        path = await self.storage.write_result_file(job.id, encoded.png, "png")
        payload = {
            **result.facts, "file": path.name, "width": encoded.width,
            "height": encoded.height, "mode": encoded.mode, "document": result.document,
        }  # fmt: skip
        await self.storage.save_result(job.id, "image", payload)
        caption = render_caption(job.op, result.facts, lang)
        markup = keyboards.result_actions(job.id, photo.id, job.op, lang)
        sent = await self.send_image(photo, encoded, caption, markup, document=result.document,
                                     name=f"vitrina-{job.op}-{job.id}.png")  # fmt: skip
        if sent and message_id is not None:
            with contextlib.suppress(TelegramAPIError):
                await self.bot.delete_message(photo.chat_id, message_id)
        elif not sent:
            await self._close_progress(photo, message_id, t(lang, "job.send_failed"))

    async def send_image(
        self, photo: Photo, encoded: Any, caption: str, markup: Any, *, document: bool,
        name: str,
    ) -> bool:  # fmt: skip
        """The result as a photo (JPEG preview) or a document (the PNG) replying to the
        user's photo."""
        reply = ReplyParameters(message_id=photo.message_id, allow_sending_without_reply=True)
        try:
            if document:
                file = BufferedInputFile(encoded.png, filename=name)
                await _patiently(lambda: self.bot.send_document(
                    photo.chat_id, file, caption=caption, reply_markup=markup,
                    reply_parameters=reply))  # fmt: skip
            else:
                file = BufferedInputFile(encoded.preview, filename=name.replace(".png", ".jpg"))
                await _patiently(lambda: self.bot.send_photo(
                    photo.chat_id, file, caption=caption, reply_markup=markup,
                    reply_parameters=reply))  # fmt: skip
        except TelegramAPIError as exc:
            log.warning("could not send a result to chat %s: %s", photo.chat_id, exc)
            return False
        return True

    async def _typing(self, chat_id: int) -> None:
        with contextlib.suppress(TelegramAPIError):
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def _close_progress(self, photo: Photo, message_id: int | None, text: str) -> None:
        if message_id is None or not await self._edit(photo.chat_id, message_id, text, None):
            await self._send(photo, text)

    async def _send(self, photo: Photo, text: str, markup: Any = None) -> int | None:
        """Reply to the user's photo; if that message is gone, send without the reply."""
        try:
            message = await _patiently(
                lambda: self.bot.send_message(
                    photo.chat_id,
                    text,
                    reply_markup=markup,
                    reply_parameters=ReplyParameters(
                        message_id=photo.message_id, allow_sending_without_reply=True
                    ),
                )
            )
        except TelegramAPIError as exc:
            log.warning("could not send to chat %s: %s", photo.chat_id, exc)
            return None
        return message.message_id

    async def _edit(self, chat_id: int, message_id: int, text: str, markup: Any) -> bool:
        try:
            await _patiently(
                lambda: self.bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
            )
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return True
            log.debug("edit of %s/%s failed: %s", chat_id, message_id, exc)
            return False
        except TelegramAPIError as exc:
            log.warning("edit of %s/%s failed: %s", chat_id, message_id, exc)
            return False
        return True


_STEP_NOTE = re.compile(r"^step (\d+)/(\d+)$")


def _localised_note(note: str, lang: str) -> str:
    """Services say "step 5/20" in English; the user reads it in their language."""
    match = _STEP_NOTE.match(note)
    if match is None:
        return html.escape(note)
    return t(lang, "job.step", step=match[1], total=match[2])


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """Make a Bot API call, waiting out Telegram's flood control (429) a few times."""
    for attempt in range(RETRIES):
        try:
            return await call()
        except TelegramRetryAfter as exc:
            if attempt == RETRIES - 1:
                raise
            log.warning("flood control: waiting %ss", exc.retry_after)
            await asyncio.sleep(exc.retry_after)
    raise AssertionError("unreachable")
