"""An operation's async `finish` step runs on the event loop, off the model worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Sequence
from pathlib import Path

import pytest

from services.config import ServiceConfig
from services.errors import JobCancelled
from services.jobs import JobRequest, JobState
from services.operations import FinishContext, Operation, Outcome, RunContext
from services.scheduler import ModelServices
from tests.waiting import eventually


class SlowFinish(Operation):
    """`run` is instant on the worker; `finish` waits for a network-like gate."""

    name = "describe"
    max_batch = 1
    worker_calls = Operation.worker_calls | {"thread_name"}

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.worker_threads: list[str] = []

    def batch_key(self, request: JobRequest) -> Hashable:
        return 0

    def missing_weights(self) -> list[str]:
        return []

    def warm_up(self) -> None:
        pass

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return [f"ran {r.params['n']}" for r in requests]

    def thread_name(self) -> str:
        return threading.current_thread().name

    async def finish(
        self, request: JobRequest, outcome: Outcome, context: FinishContext
    ) -> Outcome:
        if request.params.get("slow"):
            await self.gate.wait()
        # the worker thread is still usable from here (e.g. a local fallback)
        thread = await context.on_worker("thread_name")
        self.worker_threads.append(thread)
        if request.params.get("fail"):
            raise ValueError("finish broke")
        return f"{outcome}, finished"


class Instant(Operation):
    name = "tag"
    max_batch = 4

    def batch_key(self, request: JobRequest) -> Hashable:
        return 0

    def missing_weights(self) -> list[str]:
        return []

    def warm_up(self) -> None:
        pass

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return ["tagged" for _ in requests]


def _request(op: str, user: int, **params: object) -> JobRequest:
    return JobRequest(op, user, Path("x.jpg"), params)


async def test_a_slow_finish_does_not_block_the_next_jobs() -> None:
    slow = SlowFinish()
    services = ModelServices(ServiceConfig(Path(".")), {"describe": slow, "tag": Instant()})
    async with services:
        first = services.submit(_request("describe", 1, n=1, slow=True))
        tag = services.submit(_request("tag", 2))
        second = services.submit(_request("describe", 3, n=2))
        assert await asyncio.wait_for(tag.result(), 2) == "tagged"
        assert await asyncio.wait_for(second.result(), 2) == "ran 2, finished"
        assert first.state is JobState.RUNNING and not first.done
        slow.gate.set()
        assert await asyncio.wait_for(first.result(), 2) == "ran 1, finished"
    assert all(name.startswith("model-worker") for name in slow.worker_threads)


async def test_cancel_and_failure_during_finish() -> None:
    slow = SlowFinish()
    services = ModelServices(ServiceConfig(Path(".")), {"describe": slow})
    async with services:
        waiting = services.submit(_request("describe", 1, n=1, slow=True))
        broken = services.submit(_request("describe", 2, n=2, fail=True))
        with pytest.raises(ValueError, match="finish broke"):
            await asyncio.wait_for(broken.result(), 2)
        assert broken.state is JobState.FAILED
        assert waiting.cancel()
        with pytest.raises(JobCancelled):
            await asyncio.wait_for(waiting.result(), 2)
        assert waiting.state is JobState.CANCELLED
        await eventually(lambda: not services._finishing, timeout=2)  # its finish task ends
