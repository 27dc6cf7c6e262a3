"""`JobRunner`: a user's request as a job. Handlers call `request()` and return at once;
the stored result of an equal job answers a repeat; a task per job (`tasks.py`) follows the
service handle (`progress.py`) and delivers the result (`delivery.py`). Jobs a previous run
left unfinished are queued again on start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

from aiogram import Bot

from bot import keyboards
from bot.alerts import AdminAlerts
from bot.check_requests import with_profile
from bot.inbox.origin import origin
from bot.intake import Incoming
from bot.jobs.delivery import SEND_ERRORS, Delivery
from bot.jobs.preparing import prepared
from bot.jobs.progress import ProgressFollower
from bot.jobs.tasks import FollowedJobs
from bot.ops import job_params, op_label, with_domain
from bot.storage import Job, JobStatus, Photo, Result, Storage
from bot.texts import t, tn
from services.errors import QueueFull, UnknownOperation
from services.jobs import JobRequest
from services.scheduler import ModelServices

log = logging.getLogger("vitrina.bot")


class JobRunner(FollowedJobs):
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        services: ModelServices,
        alerts: AdminAlerts,
        progress_interval_s: float = 1.0,
        *,
        progress_delay_s: float = 0.0,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.services = services
        self.alerts = alerts
        self.delivery = Delivery(bot, storage)
        super().__init__(
            ProgressFollower(storage, self.delivery, alerts, progress_interval_s, progress_delay_s)
        )

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
        """Queue `op` on `photo` and answer at once; None if it could not be queued.
        Asked again by the same update (handled again after a crash), it returns the job
        the first time made: the start-up resumed that one already."""
        made_for = origin("job", photo.id, op)
        if made_for is not None and (made := await self.storage.job_by_origin(made_for)):
            log.info("job=%s: made for this update before a restart; not made again", made.id)
            return made
        asked = await prepared(self.bot, self.storage, photo, user_id, lang, op, params)
        if asked is None:  # the user is asked for what the job needs first
            return None
        params, missing = await self._params(user_id, domain, op, asked)
        if missing != []:
            await self.delivery.send(photo, await self.alerts.refusal(op, missing, lang))
            return None
        key, cached = await self._cached(op, params, photo.sha256)
        if key is not None and cached is not None:
            return await self._answer_cached(
                user_id, photo, op, params, key, cached, lang, made_for
            )
        job = await self._create_job(user_id, photo, op, params, key)
        await self._queue(job, photo, lang, resumed=False)
        return job

    async def request_fresh(
        self,
        *,
        user_id: int,
        lang: str,
        domain: str,
        incoming: Incoming,
        stored: asyncio.Future[Photo],
        op: str,
        params: dict[str, Any] | None = None,
        before_result: Awaitable[Any] | None = None,
    ) -> Job | None:
        """`request` for an image just fetched whose row `stored` is being written meanwhile:
        the model starts first, the job's row is written while it runs (after the photo's),
        and the result goes out only once both rows exist and `before_result` is over (the
        photo's own message). A crash before the rows: the inbox replays the update."""
        params, missing = await self._params(user_id, domain, op, params)
        key, cached = await self._cached(op, params, incoming.sha256)
        if missing != [] or cached is not None:  # no model runs: as `request` answers it
            photo = await stored
            if missing != []:
                await self.delivery.send(photo, await self.alerts.refusal(op, missing, lang))
                return None
            assert key is not None and cached is not None
            made_for = origin("job", photo.id, op)
            return await self._answer_cached(
                user_id, photo, op, params, key, cached, lang, made_for
            )
        request = JobRequest(op, user_id, incoming.path, params, photo_sha256=incoming.sha256)
        try:
            handle = self.services.submit(request)
        except (QueueFull, UnknownOperation) as exc:
            photo = await stored
            job = await self._create_job(user_id, photo, op, params, key)
            await self._not_queued(job, photo, lang, exc)
            return job
        updates = self._subscribe(handle)
        try:
            photo = await stored
            job = await self._create_job(user_id, photo, op, params, key)
        except BaseException:
            handle.cancel()  # no row, no delivery: the update, replayed, runs it again
            raise
        handle.job_id = job.id  # the scheduler's log line names the row from now on
        log.info("job=%s runs as %s (started before its row)", job.id, handle.id)
        self._follow_task(job, photo, handle, updates, None, lang, before_result)
        return job

    async def redeliver(self, job: Job, photo: Photo, lang: str) -> bool:
        """Send a stored result again ("Show again", or one a crash left unsent)."""
        return await self.delivery.redeliver(job, photo, lang)

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
                    op_name = op_label(lang, job.op)
                    await self.bot.send_message(
                        job.chat_id, t(lang, "job.interrupted", op=op_name)
                    )
                continue
            await self.storage.set_job_status(job.id, JobStatus.QUEUED)
            if await self._queue(job, photo, lang, resumed=True):
                resumed += 1
        return resumed

    # ---- internals

    async def _cached(
        self, op: str, params: dict[str, Any], photo_sha256: str
    ) -> tuple[str | None, Result | None]:
        """The job's cache key, and the stored result of an equal job whose files are still
        there (None: none). A stat per model file, off the loop (a first call hashes configs)."""
        key = await asyncio.to_thread(self.services.cache_key, op, params, photo_sha256)
        cached = await self.storage.find_cached(key) if key is not None else None
        return key, cached if cached is not None and self.storage.has_files(cached) else None

    async def _answer_cached(
        self,
        user_id: int,
        photo: Photo,
        op: str,
        params: dict[str, Any],
        key: str,
        cached: Result,
        lang: str,
        made_for: str | None,
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
            origin=made_for,
        )
        log.info(
            "job=%s user=%s op=%s cache hit (result of job %s)", job.id, user_id, op, cached.job_id
        )
        self.services.metrics.cache_hit(op)
        if not await self.storage.link_cached_files(job.id, cached):
            # purged between the lookup and now (a race): run it after all
            await self.storage.set_job_status(job.id, JobStatus.QUEUED)
            await self._queue(job, photo, lang, resumed=False)
            return job
        if not await self.redeliver(job, photo, lang):
            await self.delivery.close_progress(
                photo, None, t(lang, "job.send_failed"), keyboards.show_again(job.id, lang)
            )
        return job

    async def _language(self, user_id: int) -> str:
        user = await self.storage.get_user(user_id)
        return user.language if user else "ru"

    async def _params(
        self, user_id: int, domain: str, op: str, params: dict[str, Any] | None
    ) -> tuple[dict[str, Any], list[str] | None]:
        """The job's params (the user's /settings where the request did not say) and the
        weights it misses (`missing_weights_for`)."""
        user = await self.storage.get_user(user_id)
        params = job_params(op, params or {}, user, self.services.config)
        params = await with_profile(self.storage, user_id, user, op, params)
        missing = self.services.missing_weights_for(op, params)
        return with_domain(op, params, domain), missing

    async def _create_job(
        self, user_id: int, photo: Photo, op: str, params: dict[str, Any], key: str | None
    ) -> Job:
        return await self.storage.create_job(
            user_id=user_id,
            chat_id=photo.chat_id,
            photo_id=photo.id,
            op=op,
            params=params,
            cache_key=key,
            origin=origin("job", photo.id, op),
        )

    async def _queue(self, job: Job, photo: Photo, lang: str, *, resumed: bool) -> bool:
        request = JobRequest(
            job.op, job.user_id, photo.path, job.params, job_id=job.id, photo_sha256=photo.sha256
        )
        try:
            handle = self.services.submit(request)
        except (QueueFull, UnknownOperation) as exc:
            await self._not_queued(job, photo, lang, exc)
            return False
        updates = self._subscribe(handle)
        # After a restart the user hears at once that the job goes on; a new job's progress
        # message waits for the progress delay (the follower: a quick result comes alone).
        first = t(lang, "job.resumed", op=op_label(lang, job.op)) if resumed else None
        self._follow_task(job, photo, handle, updates, first, lang)
        return True

    async def _not_queued(
        self, job: Job, photo: Photo, lang: str, exc: QueueFull | UnknownOperation
    ) -> None:
        if isinstance(exc, UnknownOperation):  # a job stored by a build that had this op
            await self.storage.set_job_status(job.id, JobStatus.FAILED, error="unknown op")
            await self.delivery.send(photo, t(lang, "op.planned", op=op_label(lang, job.op)))
            return
        await self.storage.set_job_status(job.id, JobStatus.FAILED, error=str(exc))
        limit = self.services.config.queue_max_per_user
        if exc.per_user:
            await self.delivery.send(photo, tn(lang, "job.too_many", limit, limit=limit))
        else:
            await self.delivery.send(photo, t(lang, "job.queue_full"))
