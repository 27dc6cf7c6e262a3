"""The fair queue and the scheduler: fairness, batching, cancel, bounds, positions."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import pytest

from services.config import ServiceConfig
from services.errors import JobCancelled, QueueFull
from services.jobs import JobRequest, JobState, JobUpdate
from services.operations import Operation, RunContext
from services.queue import FairQueue
from services.scheduler import ModelServices
from tests.waiting import eventually


def test_round_robin_between_users() -> None:
    queue: FairQueue[str] = FairQueue(max_size=100, max_per_user=60)
    for i in range(50):
        queue.put("heavy", f"h{i}")
    queue.put("light", "l0")
    order = [queue.pop() for _ in range(4)]
    assert order == ["h0", "l0", "h1", "h2"]


def test_iteration_is_the_pop_order() -> None:
    queue: FairQueue[str] = FairQueue(max_size=100, max_per_user=10)
    for user, items in {"a": "a0 a1 a2", "b": "b0", "c": "c0 c1"}.items():
        for item in items.split():
            queue.put(user, item)
    planned = list(queue)
    assert planned == ["a0", "b0", "c0", "a1", "c1", "a2"]
    assert [queue.pop() for _ in range(len(queue))] == planned


def test_bounds_refuse_with_the_right_reason() -> None:
    queue: FairQueue[int] = FairQueue(max_size=3, max_per_user=2)
    queue.put("a", 1)
    queue.put("a", 2)
    with pytest.raises(QueueFull) as per_user:
        queue.put("a", 3)
    assert per_user.value.per_user
    queue.put("b", 4)
    with pytest.raises(QueueFull) as full:
        queue.put("c", 5)
    assert not full.value.per_user
    assert len(queue) == 3


def test_remove_and_pop_matching() -> None:
    queue: FairQueue[str] = FairQueue(max_size=10, max_per_user=10)
    for user, item in [("a", "x1"), ("a", "y1"), ("b", "x2"), ("c", "y2")]:
        queue.put(user, item)
    assert queue.remove("y2")
    assert not queue.remove("nope")
    assert queue.pop_matching(lambda item: item.startswith("x"), limit=5) == ["x1", "x2"]
    assert list(queue) == ["y1"]
    assert queue.count("b") == 0


class RecordingOperation(Operation):
    """A test operation for the scheduler (the models have their own tests)."""

    name = "tag"
    max_batch = 4

    def __init__(self, gate: threading.Event | None = None, name: str = "tag") -> None:
        self.name = name
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.gate = gate
        self.entered = threading.Event()  # set when a batch starts running

    def batch_key(self, request: JobRequest) -> Hashable:
        return request.params.get("key", 0)

    missing: list[str] = []

    def missing_weights(self) -> list[str]:
        return self.missing

    def warm_up(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.batches.append([-1])  # marks the warm-up in the run log

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Any]:
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(5)
        for step in range(3):
            if context.cancelled():
                return [JobCancelled("stopped")] * len(requests)
            context.progress((step + 1) / 3)
        self.batches.append([r.user_id for r in requests])
        return [f"ok-{r.user_id}" for r in requests]


def _services(op: RecordingOperation, **options: Any) -> ModelServices:
    config = ServiceConfig(weights_dir=Path("unused"), **options)
    return ModelServices(config, operations={"tag": op})


async def test_preload_warms_available_models_in_the_worker() -> None:
    ready, absent = RecordingOperation(), RecordingOperation()
    absent.missing = ["clip"]
    for op in (ready, absent):
        async with _services(op, preload=True) as services:
            warmed = services.engine.warmed
            if op is ready:  # start() returned at once; the worker preloads meanwhile
                await eventually(lambda w=warmed: "tag" in w, timeout=5)
            else:  # nothing arrives: no warm-up for a model without weights (bounded)
                await asyncio.sleep(0.2)
            await services.submit(JobRequest("tag", 1, Path("x"))).result()
    assert ready.batches == [[-1], [1]] and ready.threads == {"model-worker"}
    assert absent.batches == [[1]]


async def test_a_job_does_not_wait_for_preloading_of_other_models() -> None:
    gate, loading = threading.Event(), threading.Event()

    class SlowToLoad(RecordingOperation):
        def warm_up(self) -> None:
            loading.set()
            gate.wait(5)
            super().warm_up()

    tag = RecordingOperation()
    config = ServiceConfig(weights_dir=Path("unused"), preload=True)
    slow = {name: SlowToLoad(name=name) for name in ("edit", "night")}
    services = ModelServices(config, operations={**slow, "tag": tag})
    async with services:
        await eventually(loading.is_set, timeout=5)  # the worker is inside the first warm-up
        job = services.submit(JobRequest("tag", 1, Path("x")))
        # handed to the worker, behind the load
        await eventually(lambda: job.state is JobState.RUNNING, timeout=5, interval=0.001)
        gate.set()
        assert await asyncio.wait_for(job.result(), 5) == "ok-1"
    # the tag job ran before the tagger's own preload and before the second slow model's
    assert tag.batches[0] == [1]


async def test_scheduler_is_fair_batches_and_runs_off_the_loop() -> None:
    gate = threading.Event()
    op = RecordingOperation(gate)
    async with _services(op) as services:
        blocker = services.submit(JobRequest("tag", 99, Path("x"), {"key": "block"}))
        await eventually(op.entered.is_set, timeout=5)  # the worker is inside the blocked batch
        heavy = [
            services.submit(JobRequest("tag", 1, Path("x"), {"key": i % 2})) for i in range(6)
        ]
        light = services.submit(JobRequest("tag", 2, Path("x"), {"key": 1}))
        assert light.position == 1  # one of user 1's jobs is ahead, not all six
        gate.set()
        results = await asyncio.gather(*(h.result() for h in [blocker, *heavy, light]))
    assert results[-1] == "ok-2"
    assert op.threads == {"model-worker"}
    # first batch after the blocker: key 0 jobs of user 1 (the head), then key 1 with user 2's
    assert op.batches[0] == [99]
    assert 2 in op.batches[2] and len(op.batches[2]) == 4


async def test_positions_are_reported_and_progress_flows() -> None:
    gate = threading.Event()
    op = RecordingOperation(gate)
    async with _services(op) as services:
        first = services.submit(JobRequest("tag", 1, Path("x"), {"key": "a"}))
        await eventually(op.entered.is_set, timeout=5)  # the first job is running
        second = services.submit(JobRequest("tag", 2, Path("x"), {"key": "b"}))
        third = services.submit(JobRequest("tag", 3, Path("x"), {"key": "c"}))
        seen: list[JobUpdate] = []
        third.subscribe(seen.append)
        assert (second.position, third.position) == (0, 1)
        gate.set()
        await asyncio.gather(first.result(), second.result(), third.result())
    states = [u.state for u in seen]
    assert seen[0].position == 0  # moved up when the second job started
    assert JobState.RUNNING in states and states[-1] is JobState.DONE
    assert [u.progress for u in seen if u.progress][-1] == pytest.approx(1.0)


async def test_cancel_queued_and_running() -> None:
    gate = threading.Event()
    op = RecordingOperation(gate)
    async with _services(op) as services:
        running = services.submit(JobRequest("tag", 1, Path("x"), {"key": "a"}))
        await eventually(op.entered.is_set, timeout=5)  # the first job is running
        queued = services.submit(JobRequest("tag", 2, Path("x"), {"key": "b"}))
        assert queued.cancel()
        with pytest.raises(JobCancelled):
            await queued.result()
        assert queued.state is JobState.CANCELLED and services.queued == 0
        assert running.cancel()
        gate.set()
        with pytest.raises(JobCancelled):
            await running.result()
        assert not running.cancel()  # already finished
    assert op.batches == []


async def test_bounded_queue_refuses() -> None:
    gate = threading.Event()
    op = RecordingOperation(gate)
    async with _services(op, queue_max_size=3, queue_max_per_user=2) as services:
        services.submit(JobRequest("tag", 1, Path("x")))
        await eventually(op.entered.is_set, timeout=5)  # the first job is running
        services.submit(JobRequest("tag", 1, Path("x")))
        services.submit(JobRequest("tag", 1, Path("x")))
        with pytest.raises(QueueFull) as refused:
            services.submit(JobRequest("tag", 1, Path("x")))
        assert refused.value.per_user
        services.submit(JobRequest("tag", 2, Path("x")))
        with pytest.raises(QueueFull):
            services.submit(JobRequest("tag", 3, Path("x")))
        gate.set()


async def test_a_crashing_operation_fails_its_jobs_but_not_the_worker() -> None:
    class Crashing(RecordingOperation):
        def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Any]:
            if requests[0].user_id == 1:
                raise RuntimeError("boom")
            return super().run(requests, context)

    async with _services(Crashing()) as services:
        bad = services.submit(JobRequest("tag", 1, Path("x"), {"key": "a"}))
        with pytest.raises(RuntimeError):
            await bad.result()
        good = services.submit(JobRequest("tag", 2, Path("x"), {"key": "b"}))
        assert await good.result() == "ok-2"
    assert bad.state is JobState.FAILED


async def test_the_batch_window_waits_for_a_burst_not_for_a_lone_job() -> None:
    """BATCH_WINDOW_MS delays a batch only while a burst is under way (P4: a lone /tag
    starts at once); jobs arriving together still share a batch."""
    op = RecordingOperation()
    async with _services(op, batch_window_ms=400) as services:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await services.submit(JobRequest("tag", 1, Path("x"))).result()
        assert loop.time() - started < 0.3  # not held for the 400 ms window
        first = services.submit(JobRequest("tag", 2, Path("x")))
        second = services.submit(JobRequest("tag", 3, Path("x")))  # a burst: the window
        await asyncio.sleep(0.05)  # within the window: joins the batch
        third = services.submit(JobRequest("tag", 4, Path("x")))
        await asyncio.gather(first.result(), second.result(), third.result())
    assert op.batches == [[1], [2, 3, 4]]
