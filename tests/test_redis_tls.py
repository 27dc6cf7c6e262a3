"""SERVICE_BACKEND=rediss://: the bot and a `vitrina worker` speak to a TLS-only Redis
(a certificate of our own, trusted through ``?ssl_ca_certs=``), as across the internet."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from services.config import ServiceConfig
from services.jobs import JobRequest
from services.scheduler import ModelServices
from services.worker.redis_engine import RedisEngine
from tests.redis_server import redis_server, self_signed, start_worker, stop_worker
from tests.waiting import eventually

pytestmark = pytest.mark.slow


async def test_jobs_run_over_tls(
    tmp_path: Path, tiny_weights: Path, photos: dict[str, bytes]
) -> None:
    photo = tmp_path / "chelsea.img"
    photo.write_bytes(photos["chelsea"])
    with redis_server(tmp_path / "redis", tls=self_signed(tmp_path)) as url:
        assert url.startswith("rediss://")
        plain = redis.Redis.from_url(url.replace("rediss://", "redis://").split("?")[0])
        with pytest.raises(redis.ConnectionError):  # the port speaks TLS only
            plain.ping()
        plain.close()
        worker = start_worker(url, tiny_weights, "tls", visibility_s=3.0)
        try:
            async with ModelServices(ServiceConfig(tiny_weights, backend=url)) as services:
                engine = services.engine
                assert isinstance(engine, RedisEngine)

                def beating() -> bool:  # the worker's first heartbeat, over TLS
                    assert worker.poll() is None, "the worker exited"
                    return bool(engine.live_workers)

                await eventually(beating, timeout=90, interval=0.1)
                assert [w["id"] for w in engine.live_workers] == ["tls"]
                tags = await services.submit(JobRequest("tag", 1, photo)).result()
                assert tags.tags
                night = services.submit(JobRequest("night", 2, photo, {"steps": 8}))
                steps: list[float] = []
                night.subscribe(lambda update: steps.append(update.progress or 0.0))
                assert (await night.result()).image.size
                assert any(0.1 < p < 1 for p in steps), steps  # step progress over TLS
        finally:
            stop_worker(worker)
