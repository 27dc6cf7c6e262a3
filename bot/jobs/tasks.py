"""`FollowedJobs`: the jobs this process follows, a service handle and a task per job (the
task follows the handle with `ProgressFollower` and delivers the result); Cancel, and the
waits at shutdown. `JobRunner` (runner.py) starts them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from bot.jobs.progress import ProgressFollower
from bot.storage import Job, Photo
from services.jobs import JobHandle, JobUpdate


class FollowedJobs:
    def __init__(self, progress: ProgressFollower) -> None:
        self.progress = progress
        self._handles: dict[int, JobHandle] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}

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

    async def cancel_jobs(self, job_ids: list[int], user_id: int, timeout: float = 10.0) -> None:
        """Cancel these jobs of `user_id` (a photo about to be deleted) and wait (bounded)
        until their tasks are over, so none stores a result after the photo went."""
        tasks = [self._tasks[i] for i in job_ids if self.cancel(i, user_id) and i in self._tasks]
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

    @staticmethod
    def _subscribe(handle: JobHandle) -> asyncio.Queue[JobUpdate]:
        """Subscribe before any await: the worker may start the job meanwhile."""
        updates: asyncio.Queue[JobUpdate] = asyncio.Queue()
        handle.subscribe(updates.put_nowait)
        return updates

    def _follow_task(
        self,
        job: Job,
        photo: Photo,
        handle: JobHandle,
        updates: asyncio.Queue[JobUpdate],
        first: str | None,
        lang: str,
        before_result: Awaitable[Any] | None = None,
    ) -> None:
        self._handles[job.id] = handle
        follow = self._follow(job, photo, handle, updates, first, lang, before_result)
        task = asyncio.create_task(follow)
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))

    async def _follow(
        self,
        job: Job,
        photo: Photo,
        handle: JobHandle,
        updates: asyncio.Queue[JobUpdate],
        first: str | None,
        lang: str,
        before_result: Awaitable[Any] | None = None,
    ) -> None:
        try:
            await self.progress.follow(
                job, photo, handle, updates, lang, first=first, before_result=before_result
            )
        finally:
            self._handles.pop(job.id, None)
