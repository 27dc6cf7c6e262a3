"""The one Operation contract: the scheduler refuses an operation that breaks it, calls only
declared worker calls, awaits `finish` only where an operation has one, and progress
crosses every engine as numbers (step/total), never as text."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import pytest

from services.config import ServiceConfig
from services.jobs import JobRequest, JobState, JobUpdate
from services.models.residency import ModelResidency
from services.operations import (
    LANE_DIFFUSION,
    LANE_QUICK,
    InvalidOperation,
    Op,
    Operation,
    OperationSet,
    Outcome,
    RunContext,
)
from services.scheduler import ModelServices
from services.worker.process import ProcessEngine

STEPS = 4


class Quick(Operation):
    """Answers at once; no finish step."""

    name = "tag"
    max_batch = 2

    def batch_key(self, request: JobRequest) -> Hashable:
        return 0

    def missing_weights(self) -> list[str]:
        return []

    def warm_up(self) -> None:
        pass

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return ["done" for _ in requests]


class Diffusing(Quick):
    """A denoising loop in the slow lane, reporting each step as numbers."""

    name = "night"
    max_batch = 1
    lanes = (LANE_DIFFUSION,)

    def lane(self, request: JobRequest) -> str:
        return LANE_DIFFUSION

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        for step in range(1, STEPS + 1):
            context.progress(step / STEPS, step, STEPS)
        return ["night" for _ in requests]


def diffusing_operations(config: ServiceConfig, residency: ModelResidency | None) -> OperationSet:
    """The worker process's operations (module level: the spawned process imports it)."""
    return OperationSet({"night": Diffusing()}, residency)


def _config(**changes: Any) -> ServiceConfig:
    return ServiceConfig(weights_dir=Path("unused"), **changes)


def _request(op: str, **params: Any) -> JobRequest:
    return JobRequest(op, 1, Path("x.jpg"), params)


@pytest.mark.parametrize(
    ("operations", "complaint"),
    [
        ({"tag": type("NoBatch", (Quick,), {"max_batch": 0})()}, "max_batch"),
        ({"tag": type("Slow", (Quick,), {"lanes": ("slow",)})()}, "lanes"),
        ({"tag": type("NoLanes", (Quick,), {"lanes": ()})()}, "lanes"),
        ({"tag": Diffusing()}, "named 'night'"),
        ({"sharpen": type("Sharpen", (Quick,), {"name": "sharpen"})()}, "each must be an Op"),
    ],
)
async def test_the_scheduler_refuses_an_operation_that_breaks_the_contract(
    operations: dict[str, Operation], complaint: str
) -> None:
    services = ModelServices(_config(), operations)
    with pytest.raises(InvalidOperation, match=complaint):
        await services.start()
    assert not services._started


async def test_a_lane_outside_the_declared_lanes_is_refused_at_submit() -> None:
    class Lying(Quick):  # declares the quick lane only, answers diffusion
        def lane(self, request: JobRequest) -> str:
            return LANE_DIFFUSION

    async with ModelServices(_config(), {"tag": Lying()}) as services:
        with pytest.raises(InvalidOperation, match="not one of its lanes"):
            services.submit(_request("tag"))
        assert services.queued == 0


def test_an_operation_must_implement_the_contract_and_declare_real_worker_calls() -> None:
    class Half(Operation):
        name = "tag"

        def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
            return []

    with pytest.raises(TypeError, match="abstract"):
        Half()  # type: ignore[abstract]
    with pytest.raises(InvalidOperation, match="translate"):
        type("Typo", (Quick,), {"worker_calls": frozenset({"translate"})})
    assert Op("night") is Op.NIGHT and list(Op) == [
        "tag",
        "night",
        "tulips",
        "edit",
        "background",
        "describe",
        "find",
        "group",
        "check",
        "clean",
        "fix",
        "gallery",
        "straighten",
        "enhance",
        "room",
    ]


async def test_only_declared_methods_run_on_the_worker_by_name() -> None:
    async with ModelServices(_config(), {"tag": Quick()}) as services:
        assert await services.engine.call("tag", "missing_weights") == []
        for undeclared in ("run", "warm_up", "__class__", "batch_key"):
            with pytest.raises(AttributeError, match="no worker call"):
                await services.engine.call("tag", undeclared)


async def test_an_operation_without_finish_is_not_awaited_on_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Finishes(Quick):
        name = "describe"

        async def finish(self, request: JobRequest, outcome: Outcome, context: Any) -> Outcome:
            return f"{outcome}, finished"

    assert not Quick.has_finish and not Diffusing.has_finish and Finishes.has_finish
    started: list[str] = []
    async with ModelServices(_config(), {"tag": Quick(), "describe": Finishes()}) as services:
        start = services._finishing.start
        monkeypatch.setattr(
            services._finishing,
            "start",
            lambda handle, *rest: (started.append(handle.request.op), start(handle, *rest)),
        )
        tag = services.submit(_request("tag"))
        assert await asyncio.wait_for(tag.result(), 5) == "done"
        describe = services.submit(_request("describe"))
        assert await asyncio.wait_for(describe.result(), 5) == "done, finished"
    assert started == ["describe"]  # the tag was finished where its batch ended


async def test_progress_crosses_the_process_engine_as_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the worker needs no torch threads set
    config = _config(worker="process")
    services = ModelServices(config, operations_factory=diffusing_operations)
    assert isinstance(services.engine, ProcessEngine)
    updates: list[JobUpdate] = []
    async with services:
        handle = services.submit(_request("night"))
        handle.subscribe(updates.append)
        assert await asyncio.wait_for(handle.result(), 60) == "night"
    running = [u for u in updates if u.state is JobState.RUNNING and u.step is not None]
    assert [(u.step, u.total) for u in running] == [(s, STEPS) for s in range(1, STEPS + 1)]
    assert running[-1].progress == pytest.approx(1.0)
    assert all(isinstance(u.step, int) and isinstance(u.total, int) for u in running)
    assert not hasattr(updates[0], "note")
    assert services.lane_of(_request("night")) == LANE_DIFFUSION
    assert Quick().lane(_request("tag")) == LANE_QUICK


def test_a_finish_stage_reaches_the_user_as_a_catalog_text() -> None:
    """Typed progress has no free text: a finish step names its stage (Stage.GPT) and the
    bot renders it from the catalog in the user's language."""
    from bot.jobs.progress import ProgressFollower
    from services.jobs import JobState, JobUpdate, Stage
    from services.operations import FinishContext

    updates: list[JobUpdate] = []

    def report(fraction, step, total, stage) -> None:
        updates.append(JobUpdate(JobState.RUNNING, progress=fraction, stage=stage))

    async def on_worker(*_: object) -> None:
        return None

    FinishContext(report=report, on_worker=on_worker).progress(0.5, stage=Stage.GPT)
    assert updates[0].stage is Stage.GPT
    text = ProgressFollower.update_text(None, updates[0], "en", "Description")  # type: ignore[arg-type]
    assert text.endswith("50% (GPT)")
