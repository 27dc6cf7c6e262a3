"""Operations' async `finish` steps, on the event loop after `run` (e.g. the GPT call of
/describe): the worker is already on the next batch while they await the network."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from services.errors import JobCancelled, ServiceError
from services.jobs import JobHandle
from services.operations import FinishContext, Operation, Outcome
from services.worker import Engine

log = logging.getLogger("vitrina.jobs")


class Finishing:
    """The finish steps running now, one task per job; `done(handle)` is called once each
    job has its outcome (after success, failure or cancel)."""

    def __init__(self, engine: Engine, done: Callable[[JobHandle], None]) -> None:
        self.engine = engine
        self.done = done
        self._tasks: dict[JobHandle, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, handle: object) -> bool:
        return handle in self._tasks

    def start(self, handle: JobHandle, operation: Operation, outcome: Outcome) -> None:
        task = asyncio.create_task(self._finish(handle, operation, outcome))
        self._tasks[handle] = task
        task.add_done_callback(lambda _: self._tasks.pop(handle, None))

    def cancel(self, handle: JobHandle) -> None:
        task = self._tasks.get(handle)
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()

    async def _finish(self, handle: JobHandle, operation: Operation, outcome: Outcome) -> None:
        try:
            outcome = await finish_job(operation, handle, outcome, self.engine)
        except asyncio.CancelledError:
            handle._finish(JobCancelled("cancelled while finishing"))
            self.done(handle)
            raise
        handle._finish(outcome)
        self.done(handle)


async def finish_job(
    operation: Operation, handle: JobHandle, outcome: Outcome, engine: Engine
) -> Outcome:
    """The job's outcome after `operation.finish`: its result, or the exception it failed
    with (a bug in one job's finish fails that job only). Cancelling the task cancels the
    step (asyncio.CancelledError); a cancel asked meanwhile ends it as JobCancelled."""
    op = handle.request.op

    async def on_worker(method: str, *args: Any) -> Any:
        return await engine.call(op, method, *args)

    context = FinishContext(report=handle._progress, on_worker=on_worker)
    try:
        outcome = await operation.finish(handle.request, outcome, context)
    except ServiceError as exc:
        outcome = exc
    except Exception as exc:
        log.exception("operation %s crashed while finishing", op)
        outcome = exc
    if handle.cancel_requested.is_set() and not isinstance(outcome, BaseException):
        outcome = JobCancelled("cancelled while finishing")
    return outcome
