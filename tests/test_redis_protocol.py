"""The Redis backend's pure parts: outcome packing, capacity and availability from heartbeats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from services.errors import BadImage
from services.jobs import JobRequest
from services.layer import ServiceConfig, default_operations
from services.operations import LANE_DIFFUSION, LANE_QUICK, lanes_of
from services.results import ImageResult
from services.worker.redis_engine import RedisEngine
from services.worker.redis_protocol import pack, unpack


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
        {"id": "a", "lanes": [LANE_QUICK, LANE_DIFFUSION], "ops": ["tag", "night"],
         "missing": {"tag": [], "night": ["pix2pix"]}},
        {"id": "b", "lanes": [LANE_QUICK, LANE_DIFFUSION], "ops": ["night"],
         "missing": {"night": []}},
    ]  # fmt: skip
    assert engine.capacity(LANE_QUICK) == engine.capacity(LANE_DIFFUSION) == 2
    assert engine.missing_weights("tag") == [] and engine.missing_weights("night") == []
    assert engine.missing_weights("describe") == ["a worker serving describe"]
    engine.live_workers = engine.live_workers[:1]
    assert engine.missing_weights("night") == ["pix2pix"]


def test_every_job_takes_a_lane_its_operation_declares(tiny_weights: Path) -> None:
    """A Redis worker reads only its operations' `lanes`: a job outside them would wait
    for a worker that never reads its stream."""
    operations = default_operations(ServiceConfig(tiny_weights))
    requests = {
        "background": [{"kind": "colour", "value": "#ffffff"}, {"kind": "prompt", "value": "a"}],
        "night": [{}], "tulips": [{}], "edit": [{"prompt": "make it blue"}],
        "tag": [{}], "describe": [{"domain": "product"}],
    }  # fmt: skip
    assert set(requests) == set(operations)
    for op, params_list in requests.items():
        operation = operations[op]
        lanes = {getattr(operation, "lane", lambda r: LANE_QUICK)(
            JobRequest(op, 1, Path("x.jpg"), params)) for params in params_list}  # fmt: skip
        assert lanes <= set(lanes_of(operation)), op
    assert lanes_of(operations["tag"]) == (LANE_QUICK,)
    assert lanes_of(operations["night"]) == (LANE_DIFFUSION,)
