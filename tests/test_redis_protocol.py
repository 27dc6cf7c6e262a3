"""The Redis backend's pure parts: outcome packing, capacity and availability from heartbeats."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot import cli
from services.cache_keys import result_identity
from services.config import ServiceConfig
from services.errors import BackendUnreachable, BadImage
from services.jobs import JobRequest
from services.operations import LANE_DIFFUSION, LANE_QUICK
from services.results import ImageResult
from services.scheduler import ModelServices
from services.wiring import default_operations
from services.worker.messages import RunBatch
from services.worker.placement import placeable
from services.worker.redis_engine import RedisEngine
from services.worker.redis_protocol import RemoteOrder, pack, unpack
from services.worker.redis_url import password, redacted
from tests.emulator import BotAPIEmulator
from tests.redis_server import free_port


def test_outcomes_travel_with_images_as_png_exactly() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    outcomes = [ImageResult(image=image), BadImage("too small", "too_small", side=12)]
    data = pack(("w1", outcomes))
    assert b"PNG" in data and len(data) < pixels.nbytes + 2000
    worker, (result, error) = unpack(data)
    assert worker == "w1" and np.array_equal(np.asarray(result.image), pixels)
    assert type(error) is BadImage and error.__dict__ == outcomes[1].__dict__


def test_capacity_and_availability_follow_the_live_workers() -> None:
    engine = RedisEngine("redis://127.0.0.1:1/0")  # never connects in this test
    assert engine.capacity(LANE_QUICK) == 1 and engine.missing_weights("tag") is None
    engine.live_workers = [
        {
            "id": "a",
            "lanes": [LANE_QUICK, LANE_DIFFUSION],
            "ops": ["tag", "night"],
            "missing": {"tag": [], "night": ["pix2pix"]},
        },
        {
            "id": "b",
            "lanes": [LANE_QUICK, LANE_DIFFUSION],
            "ops": ["night"],
            "missing": {"night": []},
        },
    ]
    assert engine.capacity(LANE_QUICK) == engine.capacity(LANE_DIFFUSION) == 2
    assert engine.missing_weights("tag") == [] and engine.missing_weights("night") == []
    assert engine.missing_weights("describe") == ["a worker serving describe"]
    engine.live_workers = engine.live_workers[:1]
    assert engine.missing_weights("night") == ["pix2pix"]


def test_batches_are_placed_one_worker_each_on_workers_serving_them() -> None:
    full, cuts = {"tag", "describe", "background"}, {"tag", "background"}
    assert placeable([], [])
    assert placeable(["describe", "tag"], [full, cuts])
    assert placeable(["tag", "describe"], [full, cuts])  # the tag moves over to "cuts"
    assert not placeable(["describe", "describe"], [full, cuts])  # only "full" serves it
    assert not placeable(["tag", "tag", "tag"], [full, cuts])
    assert placeable(["tag", "describe", "tag"], [cuts, full, cuts])


def test_a_batch_goes_out_only_when_a_worker_serving_it_is_free() -> None:
    engine = RedisEngine("redis://127.0.0.1:1/0")  # never connects in this test
    assert engine.admits(LANE_QUICK, [], "describe")  # no worker yet: room alone
    assert not engine.admits(LANE_QUICK, ["tag"], "describe")
    engine.live_workers = [
        {"id": "full", "lanes": [LANE_QUICK, LANE_DIFFUSION], "ops": ["describe", "tag", "night"]},
        {"id": "cuts", "lanes": [LANE_QUICK], "ops": ["tag"]},
    ]
    assert engine.admits(LANE_QUICK, ["describe"], "tag")
    assert not engine.admits(LANE_QUICK, ["describe"], "describe")  # "cuts" would refuse it
    assert not engine.admits(LANE_QUICK, ["tag", "tag"], "tag")  # no room
    assert engine.admits(LANE_DIFFUSION, [], "night")
    assert not engine.admits(LANE_DIFFUSION, ["night"], "night")  # capacity 1 there
    # an op nobody serves goes by room alone: the workers refuse it with a clear error
    assert engine.admits(LANE_QUICK, ["describe"], "edit")


def test_every_job_takes_a_lane_its_operation_declares(tiny_weights: Path) -> None:
    """A Redis worker reads only its operations' `lanes`: a job outside them would wait
    for a worker that never reads its stream."""
    operations = default_operations(ServiceConfig(tiny_weights))
    requests = {
        "background": [{"kind": "colour", "value": "#ffffff"}, {"kind": "prompt", "value": "a"}],
        "night": [{}],
        "tulips": [{}],
        "edit": [{"prompt": "make it blue"}],
        "tag": [{}],
        "describe": [{"domain": "product"}],
        "find": [{"query": "mug", "photos": []}],
        "group": [{"photos": []}],
        "check": [{"profile": "wb"}, {"profile": "nonexistent"}],
        "clean": [{}, {"all": True, "seed": 1}],
        "fix": [{"profile": "ym"}, {"profile": "booking"}, {"profile": "nonexistent"}],
        "gallery": [{"profile": "wb", "title": "Кружка"}, {"profile": "nonexistent"}],
        "straighten": [{}],
        "enhance": [{"strength": "strong"}, {"strength": "wild"}],
        "room": [{"profile": "booking"}],
    }
    assert set(requests) == set(operations)
    for op, params_list in requests.items():
        operation = operations[op]
        lanes = {operation.lane(JobRequest(op, 1, Path("x.jpg"), p)) for p in params_list}
        assert lanes <= set(operation.lanes), op
    assert operations["tag"].lanes == (LANE_QUICK,)
    assert operations["night"].lanes == (LANE_DIFFUSION,)
    assert operations["find"].lanes == (LANE_QUICK,)  # a /find never waits for an edit


def test_a_redis_url_is_shown_and_logged_without_its_password() -> None:
    url = "redis://vitrina:s3cret-pass@10.0.0.5:6380/2"
    assert redacted(url) == "redis://vitrina:***@10.0.0.5:6380/2"
    assert password(url) == "s3cret-pass" and password("redis://h:1/0") == ""
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert "s3cret" not in repr(ServiceConfig(Path("w"), backend=url))


async def test_an_unreachable_redis_is_one_clear_error_without_the_password(
    tmp_path: Path,
) -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"  # nothing listens there
    with pytest.raises(BackendUnreachable) as caught:
        async with ModelServices(ServiceConfig(tmp_path, backend=url)):
            pass
    assert "cannot reach Redis at redis://:***@127.0.0.1" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_vitrina_worker_says_in_one_line_that_redis_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SERVICE_BACKEND", f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("DEVICE", "cpu")
    assert cli.main(["worker", "--id", "w"]) == 2
    err = capsys.readouterr().err
    assert "vitrina: cannot reach Redis at redis://:***@127.0.0.1" in err
    assert "Traceback" not in err and "s3cret" not in err


def test_a_worker_short_of_gpu_memory_refuses_diffusion_only(
    tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--diffusion-min-free-mb`: below it a diffusion job goes back to the queue (another
    worker takes it); quick jobs still run. Free memory is asked of CUDA, faked here."""
    from services.worker import redis_worker

    operations = default_operations(ServiceConfig(tiny_weights))
    url = "redis://127.0.0.1:1/0"  # never connects in this test
    worker = redis_worker.RedisWorker(
        url, operations, device="cuda:0", ops=["tag", "night"], diffusion_min_free_mb=2000
    )
    request = JobRequest("night", 1, Path("x.jpg"))

    def order(op: str, lane: str) -> RemoteOrder:
        return RemoteOrder(
            "bot", RunBatch(1, op, (dataclasses.replace(request, op=op),), (1,), lane)
        )

    free = {"bytes": 1500 * 2**20}
    monkeypatch.setattr(redis_worker, "free_device_memory", lambda device: free["bytes"])
    assert worker._refusal(order("night", LANE_DIFFUSION)) == "1500 MB free on cuda:0"
    assert worker._refusal(order("tag", LANE_QUICK)) is None
    assert worker._refusal(order("describe", LANE_QUICK)) == "this worker does not serve describe"
    free["bytes"] = 3000 * 2**20
    assert worker._refusal(order("night", LANE_DIFFUSION)) is None
    assert worker.lanes == (LANE_QUICK, LANE_DIFFUSION)
    tags_only = redis_worker.RedisWorker(url, operations, ops=["tag"])
    assert tags_only.lanes == (LANE_QUICK,)  # never reads the diffusion stream


def test_with_redis_cache_keys_are_made_of_what_the_workers_compute_with(
    tiny_weights: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot may hold no weights: a key names the revisions, device and runtimes the
    live workers publish. No key (not cached) when no worker is alive, when workers differ,
    or when they run with other settings than the bot describes jobs with."""
    config = ServiceConfig(tiny_weights, backend="redis://127.0.0.1:1/0")  # never connects
    services = ModelServices(config)
    engine = services.engine
    assert isinstance(engine, RedisEngine)
    photo = "ab" * 32

    def worker(name: str, **changes: Any) -> dict[str, Any]:
        identity = result_identity(dataclasses.replace(config, **changes))
        return {"id": name, "ops": ["tag"], "lanes": [LANE_QUICK], "identity": identity}

    assert services.cache_key("tag", {}, photo) is None  # nobody alive
    engine.live_workers = [worker("a"), worker("b")]
    key = services.cache_key("tag", {}, photo)
    assert key is not None and key == services.cache_key("tag", {}, photo)
    engine.live_workers = [worker("a", device="cuda")]
    assert services.cache_key("tag", {}, photo) not in (None, key)  # computed elsewhere
    engine.live_workers = [worker("a"), worker("b", device="cuda")]
    assert services.cache_key("tag", {}, photo) is None  # they differ
    engine.live_workers = [worker("a", tag_top_k=9)]
    assert services.cache_key("tag", {}, photo) is None
    assert "other settings than the bot (tag_top_k)" in caplog.text
    upgraded = worker("a")
    upgraded["identity"]["models"]["clip"] = "openai/clip@" + "1" * 40
    engine.live_workers = [upgraded]
    assert services.cache_key("tag", {}, photo) not in (None, key)  # new weights, new key


async def test_the_bot_exits_in_one_line_when_redis_is_unreachable(
    emulator: BotAPIEmulator, tmp_path: Path
) -> None:
    """`python -m bot` with SERVICE_BACKEND pointing nowhere: exit code 2, one line on
    stderr without the password, and the process does exit (its database is closed)."""
    env = {
        **os.environ,
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "SERVICE_BACKEND": f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0",
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "WEIGHTS_DIR": str(tmp_path),
        "DEVICE": "cpu",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2, (out.decode()[-2000:], err.decode()[-2000:])
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vitrina: cannot reach Redis at redis://:***@")
    assert b"s3cret" not in out + err and b"Traceback" not in out + err
