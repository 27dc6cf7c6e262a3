"""An operation's async `finish` step, on the event loop after `run` (e.g. the GPT call of
/describe): the worker is already on the next batch while it awaits the network."""

from __future__ import annotations

import logging
from typing import Any

from services.errors import JobCancelled, ServiceError
from services.jobs import JobHandle
from services.operations import FinishContext, Operation, Outcome
from services.worker import Engine

log = logging.getLogger("vitrina.jobs")


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
