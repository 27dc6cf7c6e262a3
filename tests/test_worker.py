"""The model worker's contract, the same for a thread and for a process of its own.

Real operations on tiny weights: batching, per-job failures, the quick lane overtaking a
diffusion, cancel, calls from an async finish; and, for the process, a worker that dies.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from services.config import ServiceConfig
from services.errors import BadImage, JobCancelled, ModelUnavailable, QueueFull, ServiceError
from services.jobs import JobHandle, JobRequest, JobState
from services.models.clip import TagResult
from services.models.residency import ResidentInfo
from services.scheduler import ModelServices
from services.worker import WorkerDied
from services.worker.process import ProcessEngine
from tests.redis_server import start_worker, stop_worker, wait_for_workers
from tests.waiting import eventually

# One worker per engine for the whole module: a process worker costs seconds to start.
pytestmark = pytest.mark.asyncio(loop_scope="module")
ENGINES = ["thread", "process", "redis"]
EDIT = {"steps": 30}  # tiny pix2pix at 64 px: a few ms a step, long enough to overtake


@pytest.fixture
def photo_files(photos: dict[str, bytes], tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name, data in photos.items():
        files[name] = tmp_path / f"{name}.img"
        files[name].write_bytes(data)
    files["broken"] = tmp_path / "broken.jpg"
    files["broken"].write_bytes(photos["coffee"][:300])
    return files


@pytest_asyncio.fixture(params=ENGINES, scope="module", loop_scope="module")
async def services(
    request: pytest.FixtureRequest, tiny_weights: Path
) -> AsyncIterator[ModelServices]:
    if request.param == "redis":  # the bot here, one `vitrina worker` process, a real Redis
        url = request.getfixturevalue("redis_url")[:-1] + "1"  # a database of its own
        config = ServiceConfig(
            tiny_weights,
            edit_max_side=64,
            batch_window_ms=20,
            backend=url,
            redis_visibility_s=3.0,
        )
        worker = start_worker(url, tiny_weights, "contract")
        try:
            await asyncio.to_thread(wait_for_workers, url, {"contract"}, 60, (worker,))
            async with ModelServices(config) as running:
                yield running
        finally:
            stop_worker(worker)
        return
    config = ServiceConfig(
        tiny_weights, worker=request.param, edit_max_side=64, batch_window_ms=20
    )
    async with ModelServices(config) as running:
        yield running


def _tags(result: TagResult) -> list[tuple[str, float]]:
    return [(tag.en, round(tag.probability, 3)) for tag in result.tags]


async def test_batched_results_equal_one_by_one_in_order(
    services: ModelServices, photo_files: dict[str, Path]
) -> None:
    names = ["coffee", "chelsea", "astronaut", "rocket", "coffee"]
    together = [services.submit(JobRequest("tag", i, photo_files[n])) for i, n in enumerate(names)]
    batched = await asyncio.gather(*(h.result() for h in together))
    alone = [await services.submit(JobRequest("tag", 9, photo_files[n])).result() for n in names]
    assert [_tags(r) for r in batched] == [_tags(r) for r in alone]
    assert _tags(batched[0]) == _tags(batched[4]) != _tags(batched[1])


async def test_one_bad_input_fails_only_its_own_job(
    services: ModelServices, photo_files: dict[str, Path]
) -> None:
    handles = [
        services.submit(JobRequest("tag", 1, photo_files[name]))
        for name in ("coffee", "broken", "chelsea")
    ]
    await asyncio.wait([asyncio.ensure_future(h.result()) for h in handles])
    assert [h.state for h in handles] == [JobState.DONE, JobState.FAILED, JobState.DONE]
    assert isinstance(handles[1].error, BadImage)


async def _running(handle: JobHandle) -> None:
    await eventually(
        lambda: handle.state is JobState.RUNNING and handle.run_s > 0,
        timeout=30,
        message=lambda: f"{handle} never started",
    )


async def test_a_tag_finishes_while_a_long_edit_runs(
    services: ModelServices, photo_files: dict[str, Path]
) -> None:
    edit = services.submit(JobRequest("night", 1, photo_files["coffee"], EDIT))
    await _running(edit)
    steps: list[tuple[int | None, int | None]] = []
    edit.subscribe(lambda update: steps.append((update.step, update.total)))
    tag = services.submit(JobRequest("tag", 2, photo_files["chelsea"]))
    assert tag.position == 0  # nothing ahead of it in its lane
    await asyncio.wait_for(tag.result(), 60)
    assert not edit.done, "the tag waited for the whole edit"
    result = await asyncio.wait_for(edit.result(), 120)
    with Image.open(photo_files["coffee"]) as original:
        assert result.image.size == original.size  # back at the photo's own size
    assert (30, 30) in steps  # it ran all its steps, after the tag


async def test_cancel_reaches_a_running_diffusion(
    services: ModelServices, photo_files: dict[str, Path]
) -> None:
    edit = services.submit(JobRequest("night", 1, photo_files["coffee"], {"steps": 200}))
    await _running(edit)
    assert edit.cancel()
    with pytest.raises(JobCancelled, match="cancelled after step"):
        await asyncio.wait_for(edit.result(), 30)
    # the worker is free again at once
    tag = services.submit(JobRequest("tag", 2, photo_files["rocket"]))
    assert isinstance(await asyncio.wait_for(tag.result(), 30), TagResult)


async def test_an_operation_method_runs_on_the_worker(services: ModelServices) -> None:
    assert await services.engine.call("tag", "missing_weights") == []
    with pytest.raises(AttributeError):
        await services.engine.call("tag", "no_such_method")


async def test_a_dead_worker_process_fails_its_job_and_is_replaced(
    tiny_weights: Path, photo_files: dict[str, Path]
) -> None:
    config = ServiceConfig(tiny_weights, worker="process", edit_max_side=64)
    async with ModelServices(config) as services:
        engine = services.engine
        assert isinstance(engine, ProcessEngine)
        first_pid = engine.pid
        edit = services.submit(JobRequest("night", 1, photo_files["coffee"], {"steps": 500}))
        queued = services.submit(JobRequest("tulips", 2, photo_files["chelsea"], EDIT))
        await _running(edit)
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        with pytest.raises(WorkerDied, match="died"):
            await asyncio.wait_for(edit.result(), 30)
        # the job that was only queued runs on the new worker; the bot side never noticed
        result = await asyncio.wait_for(queued.result(), 120)
        assert result.image is not None
        assert engine.pid not in (None, first_pid) and engine.restarts == 1
        tag = services.submit(JobRequest("tag", 3, photo_files["rocket"]))
        assert isinstance(await asyncio.wait_for(tag.result(), 60), TagResult)


async def test_errors_cross_the_process_boundary_intact() -> None:
    errors = [
        ModelUnavailable("clip", Path("/w/clip"), "no config.json"),
        BadImage("too small", "too_small", side=12),
        QueueFull(per_user=True),
        JobCancelled("cancelled after step 2/20"),
        WorkerDied("the model worker process died (exit code -9)"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.__dict__ == error.__dict__


async def test_the_worker_reports_the_models_it_holds(
    services: ModelServices, photo_files: dict[str, Path]
) -> None:
    await services.submit(JobRequest("tag", 1, photo_files["coffee"])).result()

    async def holding_clip() -> list[ResidentInfo] | None:
        resident = await services.resident_models(timeout=30)
        assert resident is not None
        loaded = {model.name.rpartition("/")[2] for model in resident if model.loaded}
        return resident if "clip" in loaded else None

    # with Redis: each worker's heartbeat says what it holds (the next beat, then the poll)
    resident = await eventually(holding_clip, timeout=30, interval=0.1)
    assert all(m.bytes > 0 for m in resident if m.loaded)
    if services.engine.kind == "redis":  # named by worker: "contract/clip"
        assert "contract/clip" in {model.name for model in resident}


async def test_a_photo_gone_from_redis_fails_its_job_cleanly(
    services: ModelServices, photo_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    if services.engine.kind != "redis":
        pytest.skip("photos travel through Redis only with SERVICE_BACKEND=redis://")

    async def expired(path: Path) -> str:  # as if its TTL ran out before a worker took it
        return "0" * 64

    monkeypatch.setattr(services.engine, "_upload", expired)
    handle = services.submit(JobRequest("tag", 1, photo_files["coffee"]))
    with pytest.raises(ServiceError, match="expired"):
        await asyncio.wait_for(handle.result(), 30)
    monkeypatch.undo()
    tag = services.submit(JobRequest("tag", 2, photo_files["rocket"]))
    assert isinstance(await asyncio.wait_for(tag.result(), 30), TagResult)
