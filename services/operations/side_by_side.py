"""A batch of single-photo jobs run two at a time on the worker (Fix for a catalogue).

Why: on the CPU a Fix is half ISNet, which uses every core, and half stages that use one
(reading, the text fill, compositing, JPEG, the re-check). Two photos side by side keep both
cores busy: while one photo is in ISNet the other is being composited (issue 31 C1,
benchmarks/PROFILE.md). The first photo runs on the serving thread with the batch's own
context, so the quick jobs that arrive meanwhile still run between its stages
(`RunContext.between_steps`); the others run on helper threads, whose contexts report
progress (the batch's mean) and cancellation but never run other jobs. The models are
shared: onnxruntime sessions are thread-safe, the OpenVINO session and the cutter's caches
take locks, and `in_use` keeps a model loaded while any thread uses it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from services.errors import ServiceError
from services.jobs import JobRequest
from services.operations.context import RunContext

#: photos of one batch in flight at once (the Fix operation's max_batch on its quick lane)
PHOTOS_AT_ONCE = 2

Outcome = Any


def side_by_side(
    requests: Sequence[JobRequest], work: Callable[..., Any], context: RunContext
) -> list[Outcome]:
    """`each_photo`, with the batch's photos run at once: `work(path, params, context,
    photo=sha256)` per request; a ServiceError is that request's outcome, in order."""
    lock = threading.Lock()
    done = [0.0] * len(requests)

    def reporter(index: int) -> Callable[[float, int | None, int | None], None]:
        def report(fraction: float, step: int | None = None, total: int | None = None) -> None:
            with lock:
                done[index] = fraction
                mean = sum(done) / len(done)
            context.report(mean, None, None)

        return report

    def one(index: int, request: JobRequest, own: RunContext) -> Outcome:
        try:
            return work(request.image_path, request.params, own, photo=request.photo_sha256)
        except ServiceError as exc:
            return exc

    if len(requests) <= 1:
        return [one(0, request, context) for request in requests]
    first = RunContext(reporter(0), context.is_cancelled, context.between_steps)
    with ThreadPoolExecutor(len(requests) - 1, thread_name_prefix="photo") as pool:
        others: list[Future[Outcome]] = [
            pool.submit(one, index, request, RunContext(reporter(index), context.is_cancelled))
            for index, request in enumerate(requests[1:], start=1)
        ]
        outcomes = [one(0, requests[0], first)]
        outcomes += [future.result() for future in others]
    return outcomes
