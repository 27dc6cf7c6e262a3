"""SHARED_DIR with SERVICE_BACKEND=redis://: photos and result images go through a folder
the bot and the workers share, not through Redis (big deployments)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest
import redis
from PIL import Image

from services.config import ServiceConfig
from services.jobs import JobRequest
from services.scheduler import ModelServices
from services.worker.redis_protocol import PREFIX, pack, unpack
from services.worker.redis_shared import RESULTS, shared_photo, sweep
from tests.redis_server import start_worker, stop_worker, wait_for_workers

pytestmark = pytest.mark.slow


async def test_photos_and_result_images_travel_through_the_shared_folder(
    redis_url: str, tiny_weights: Path, tmp_path: Path, photos: dict[str, bytes]
) -> None:
    url = redis_url[:-1] + "5"  # a database of its own
    shared = tmp_path / "shared"
    photo = tmp_path / "coffee.img"
    photo.write_bytes(photos["coffee"])
    worker = start_worker(url, tiny_weights, "nfs", env={"SHARED_DIR": str(shared)})
    config = ServiceConfig(tiny_weights, backend=url, shared_dir=shared, result_cache=False)
    client = redis.Redis.from_url(url)
    try:
        await asyncio.to_thread(wait_for_workers, url, {"nfs"}, 90, (worker,))
        async with ModelServices(config) as services:
            tags = await services.submit(JobRequest("tag", 1, photo)).result()
            night = await services.submit(JobRequest("night", 2, photo, {"steps": 3})).result()
        assert tags.tags and night.image.size == Image.open(photo).size
        digest = hashlib.sha256(photos["coffee"]).hexdigest()
        assert shared_photo(shared, digest).read_bytes() == photos["coffee"]
        assert client.keys(PREFIX + "photo:*") == []  # no photo bytes in Redis
        assert list((shared / RESULTS).glob("*.png")) == []  # the result was read, removed
        results = [client.get(key) for key in client.keys(PREFIX + "result:*")]
        assert results and all(len(data) < 4096 for data in results)  # images are not in it
    finally:
        client.close()
        stop_worker(worker)


def test_a_result_image_is_read_once_and_the_folder_is_swept(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    data = pack(("w", [image]), tmp_path)
    assert len(list((tmp_path / RESULTS).glob("*.png"))) == 1 and b"IHDR" not in data
    worker, (copy,) = unpack(data, tmp_path)
    assert worker == "w" and copy.tobytes() == image.tobytes()
    assert list((tmp_path / RESULTS).glob("*.png")) == []
    with pytest.raises(Exception, match="SHARED_DIR"):
        unpack(pack(image, tmp_path))  # a bot without the folder cannot read it
    old = tmp_path / RESULTS / "old.png"
    image.save(old)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sweep(tmp_path, photo_ttl_s=86400, result_ttl_s=3600) >= 1 and not old.exists()
