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
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
)
from aiogram.types import BufferedInputFile, Message, ReplyParameters

from bot import keyboards
from bot.alerts import AdminAlerts
from bot.delivery import encode, encode_stored
from bot.ratelimit import TokenBucket
from bot.results import render_caption, render_stored, render_text, result_payload
from bot.storage import Job, JobStatus, Photo, Result, Storage
from bot.storage.failures import is_storage_failure
from bot.texts import TEXTS, t
from services.errors import BadImage, JobCancelled, ModelUnavailable, QueueFull, UnknownOperation
from services.jobs import JobHandle, JobRequest, JobState, JobUpdate
from services.layer import ModelServices
from services.results import ImageResult

log = logging.getLogger("vitrina.bot")

PROGRESS_EDITS_PER_S = 20.0  # Telegram allows about 30 messages a second per bot
# What a Bot API call can end with once bot/retry.py has spent its retries (a proxy's HTML
# 5xx page is a ClientDecodeError, not a TelegramAPIError).
SEND_ERRORS = (TelegramAPIError, ClientDecodeError)


class JobRunner:
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        services: ModelServices,
        alerts: AdminAlerts,
        progress_interval_s: float = 1.0,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.services = services
        self.alerts = alerts
        self.progress_interval_s = progress_interval_s
        self._handles: dict[int, JobHandle] = {}
        # Progress edits are a courtesy: with a long queue they would hit Telegram's flood
        # limits, so all jobs together get a budget; first messages and results always go.
        self._edit_budget = TokenBucket(rate=PROGRESS_EDITS_PER_S, burst=PROGRESS_EDITS_PER_S)
        self._tasks: dict[int, asyncio.Task[None]] = {}

    # ---- entry points

    async def request(
        self,
        *,
        user_id: int,
        lang: str,
        domain: str,
        photo: Photo,
        op: str,
        params: dict[str, Any] | None = None,
    ) -> Job | None:
        """Queue `op` on `photo` and answer at once; None if it could not be queued."""
        params = dict(params or {})
        missing = self.services.missing_weights_for(op, params)
        if missing != []:
            await self._refuse(photo, op, missing, lang)
            return None
        if op in ("tag", "describe"):
            params.setdefault("domain", domain)
        # The result cache: a stat per model file, off the loop (a first call hashes configs).
        key = await asyncio.to_thread(self.services.cache_key, op, params, photo.sha256)
        cached = await self.storage.find_cached(key) if key is not None else None
        if key is not None and cached is not None and self._files_exist(cached):
            return await self._answer_cached(user_id, photo, op, params, key, cached, lang)
        job = await self.storage.create_job(
            user_id=user_id,
            chat_id=photo.chat_id,
            photo_id=photo.id,
            op=op,
            params=params,
            cache_key=key,
        )
        await self._queue(job, photo, lang, resumed=False)
        return job

    def _files_exist(self, cached: Result) -> bool:
        name = cached.payload.get("file")
        return cached.kind != "image" or bool(name and (self.storage.results_dir / name).is_file())

    async def _answer_cached(
        self,
        user_id: int,
        photo: Photo,
        op: str,
        params: dict[str, Any],
        key: str,
        cached: Result,
        lang: str,
    ) -> Job:
        """A repeat: the stored result of an equal job (same key) becomes this job's and is
        delivered like a finished one (``redeliver``); no model runs, the queue is not asked.
        Image files are linked, not copied. Were they erased meanwhile: the job is queued."""
        job = await self.storage.create_cached_job(
            user_id=user_id,
            chat_id=photo.chat_id,
            photo_id=photo.id,
            op=op,
            params=params,
            cache_key=key,
            cached=cached,
        )
        log.info(
            "job=%s user=%s op=%s cache hit (result of job %s)", job.id, user_id, op, cached.job_id
        )
        if cached.kind == "image":
            results = self.storage.results_dir
            linked = await self.storage.link_result_file(job.id, results / cached.payload["file"])
            if cached.payload.get("preview") and linked is not None:
                preview = results / str(cached.payload["preview"])
                await self.storage.link_result_file(job.id, preview)  # else: encoded again
            if linked is None:  # purged between the lookup and now (a race): run it after all
                await self.storage.set_job_status(job.id, JobStatus.QUEUED)
                await self._queue(job, photo, lang, resumed=False)
                return job
        if not await self.redeliver(job, photo, lang):
            await self._close_progress(
                photo, None, t(lang, "job.send_failed"), keyboards.show_again(job.id, lang)
            )
        return job

    async def resume_unfinished(self) -> int:
        """After a stop or a crash: send stored results that never reached their user, and
        queue again what was left queued or running (or say it was interrupted when its
        photo is gone). Returns how many jobs were queued again."""
        for job in await self.storage.undelivered_jobs():
            photo = await self.storage.get_photo(job.photo_id)
            if photo is not None:
                await self.redeliver(job, photo, await self._language(job.user_id))
        resumed = 0
        for job in await self.storage.unfinished_jobs():
            photo = await self.storage.get_photo(job.photo_id)
            lang = await self._language(job.user_id)
            if photo is None or not photo.path.exists():
                await self.storage.set_job_status(job.id, JobStatus.FAILED, error="photo missing")
                with contextlib.suppress(*SEND_ERRORS):
                    op_name = t(lang, f"op.{job.op}")
                    await self.bot.send_message(
                        job.chat_id, t(lang, "job.interrupted", op=op_name)
                    )
                continue
            await self.storage.set_job_status(job.id, JobStatus.QUEUED)
            if await self._queue(job, photo, lang, resumed=True):
                resumed += 1
        return resumed

    async def _language(self, user_id: int) -> str:
        user = await self.storage.get_user(user_id)
        return user.language if user else "ru"

    async def redeliver(self, job: Job, photo: Photo, lang: str) -> bool:
        """Send a stored result again ("Show again", or one a crash left unsent)."""
        result = await self.storage.get_result(job.id)
        if result is None:
            return False
        sent_file: str | None = None
        if result.kind == "image":
            path = self.storage.results_dir / str(result.payload.get("file", ""))
            if not path.is_file():
                return False
            preview = result.payload.get("preview")
            stored = self.storage.results_dir / preview if preview else None
            options: dict[str, Any] = {
                "caption": render_caption(job.op, result.payload, lang),
                "markup": keyboards.result_actions(job.id, photo.id, job.op, lang),
                "document": bool(result.payload.get("document")),
                "name": f"vitrina-{job.op}-{job.id}.png",
            }
            # Telegram keeps what this bot sent: its file id sends it again without an upload
            file_id = result.payload.get("telegram_file_id")
            message = None
            if file_id:
                message = await self.send_image(photo, None, file_id=str(file_id), **options)
            if message is None:
                encoded = await asyncio.to_thread(encode_stored, path, stored)
                message = await self.send_image(photo, encoded, **options)
                sent_file = _sent_file_id(message) if message is not None else None
            sent = message is not None
        else:
            text = render_stored(result.kind, result.payload, lang)
            markup = keyboards.text_result_actions(job.id, job.op, lang)
            sent = text is not None and await self._send(photo, text, markup) is not None
        if sent:
            await self.storage.mark_delivered(job.id, file_id=sent_file)
        return sent

    def cancel(self, job_id: int, user_id: int) -> bool:
        handle = self._handles.get(job_id)
        if handle is None or handle.request.user_id != user_id:
            return False
        return handle.cancel()

    async def cancel_user(self, user_id: int, timeout: float = 10.0) -> None:
        """Cancel every job of `user_id` and wait (bounded) until their tasks are over."""
        tasks = []
        for job_id, handle in list(self._handles.items()):
            if handle.request.user_id == user_id:
                handle.cancel()
                if job_id in self._tasks:
                    tasks.append(self._tasks[job_id])
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def drain(self, timeout: float) -> None:
        """Let the tasks of jobs that have finished deliver their results (at shutdown)."""
        done = [self._tasks[i] for i, h in self._handles.items() if h.done and i in self._tasks]
        if done:
            await asyncio.wait(done, timeout=max(timeout, 0.1))

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- internals

    async def _refuse(self, photo: Photo, op: str, missing: list[str] | None, lang: str) -> None:
        name = t(lang, f"op.{op}")
        if missing is None:
            text = t(lang, "op.planned", op=name)
        else:
            await self.alerts.model_missing(op, "missing weights: " + ", ".join(missing))
            # A model only some jobs of an op need has its own message ("missing.inpaint").
            own = f"missing.{missing[0]}" if len(missing) == 1 else ""
            text = t(lang, own) if own in TEXTS["en"] else t(lang, "op.missing", op=name)
        await self._send(photo, text)

    async def _queue(self, job: Job, photo: Photo, lang: str, *, resumed: bool) -> bool:
        request = JobRequest(
            job.op, job.user_id, photo.path, job.params, job_id=job.id, photo_sha256=photo.sha256
        )
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
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
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
        self,
        job: Job,
        photo: Photo,
        handle: JobHandle,
        updates: asyncio.Queue[JobUpdate],
        message_id: int | None,
        lang: str,
    ) -> None:
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
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a full disk, a read-only database, the user erased it all
            log.exception("job %s: following or delivering it failed", job.id)
            key = "error.storage" if is_storage_failure(exc) else "job.failed"
            with contextlib.suppress(Exception):  # never silence: one short answer
                await self._close_progress(photo, message_id, t(lang, key, op=op_name))
        finally:
            self._handles.pop(job.id, None)

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
        await self.storage.save_result(
            job.id, kind, payload, cacheable=getattr(result, "cacheable", True)
        )
        # A text result takes the place of the progress message: one message per job.
        markup = keyboards.text_result_actions(job.id, job.op, lang)
        if await self._close_progress(photo, message_id, render_text(result, lang), markup):
            await self.storage.mark_delivered(job.id)

    async def _deliver_image(
        self, job: Job, photo: Photo, result: ImageResult, message_id: int | None, lang: str
    ) -> None:
        """File first, then the row, then the message: a result is never shown unsaved."""
        encoded = await asyncio.to_thread(encode, result)
        path = await self.storage.write_result_file(job.id, encoded.png, "png")
        # the preview too: "Show again" and a cache hit send it without encoding again
        preview = await self.storage.write_result_file(job.id, encoded.preview, "jpg")
        payload = {
            **result.facts,
            "file": path.name,
            "width": encoded.width,
            "height": encoded.height,
            "mode": encoded.mode,
            "document": result.document,
            "preview": preview.name,
        }
        await self.storage.save_result(job.id, "image", payload, cacheable=result.cacheable)
        caption = render_caption(job.op, result.facts, lang)
        markup = keyboards.result_actions(job.id, photo.id, job.op, lang)
        message = await self.send_image(
            photo,
            encoded,
            caption=caption,
            markup=markup,
            document=result.document,
            name=f"vitrina-{job.op}-{job.id}.png",
        )
        sent = message is not None
        if sent:
            await self.storage.mark_delivered(job.id, file_id=_sent_file_id(message))
        if sent and message_id is not None:
            with contextlib.suppress(*SEND_ERRORS):
                await self.bot.delete_message(photo.chat_id, message_id)
        elif not sent:
            await self._close_progress(
                photo, message_id, t(lang, "job.send_failed"), keyboards.show_again(job.id, lang)
            )

    async def send_image(
        self,
        photo: Photo,
        encoded: Any,
        *,
        caption: str,
        markup: Any,
        document: bool,
        name: str,
        file_id: str | None = None,
    ) -> Message | None:
        """The result as a photo (JPEG preview) or a document (the PNG) replying to the
        user's photo; by ``file_id`` (a file this bot sent before) instead of an upload when
        given. The sent message, or None when it could not be sent."""
        reply = ReplyParameters(message_id=photo.message_id, allow_sending_without_reply=True)
        try:
            if document:
                file = file_id or BufferedInputFile(encoded.png, filename=name)
                return await self.bot.send_document(
                    photo.chat_id,
                    file,
                    caption=caption,
                    reply_markup=markup,
                    reply_parameters=reply,
                )
            file = file_id or BufferedInputFile(
                encoded.preview, filename=name.replace(".png", ".jpg")
            )
            return await self.bot.send_photo(
                photo.chat_id,
                file,
                caption=caption,
                reply_markup=markup,
                reply_parameters=reply,
            )
        except SEND_ERRORS as exc:
            log.warning("could not send a result to chat %s: %s", photo.chat_id, exc)
            return None

    async def _typing(self, chat_id: int) -> None:
        with contextlib.suppress(*SEND_ERRORS):
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def _close_progress(
        self, photo: Photo, message_id: int | None, text: str, markup: Any = None
    ) -> bool:
        """The progress message becomes `text`; sent anew if it cannot be edited."""
        if message_id is not None and await self._edit(photo.chat_id, message_id, text, markup):
            return True
        return await self._send(photo, text, markup) is not None

    async def _send(self, photo: Photo, text: str, markup: Any = None) -> int | None:
        """Reply to the user's photo; if that message is gone, send without the reply."""
        try:
            message = await self.bot.send_message(
                photo.chat_id,
                text,
                reply_markup=markup,
                reply_parameters=ReplyParameters(
                    message_id=photo.message_id, allow_sending_without_reply=True
                ),
            )
        except SEND_ERRORS as exc:
            log.warning("could not send to chat %s: %s", photo.chat_id, exc)
            return None
        return message.message_id

    async def _edit(self, chat_id: int, message_id: int, text: str, markup: Any) -> bool:
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return True
            log.debug("edit of %s/%s failed: %s", chat_id, message_id, exc)
            return False
        except SEND_ERRORS as exc:
            log.warning("edit of %s/%s failed: %s", chat_id, message_id, exc)
            return False
        return True


def _sent_file_id(message: Message) -> str | None:
    """Telegram's id of the file a result message carries (the largest photo size)."""
    if message.document is not None:
        return message.document.file_id
    return message.photo[-1].file_id if message.photo else None


_STEP_NOTE = re.compile(r"^step (\d+)/(\d+)$")


def _localised_note(note: str, lang: str) -> str:
    """Services say "step 5/20" in English; the user reads it in their language."""
    match = _STEP_NOTE.match(note)
    if match is None:
        return html.escape(note)
    return t(lang, "job.step", step=match[1], total=match[2])
