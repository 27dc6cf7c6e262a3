"""The Prometheus endpoint (METRICS_PORT) answers in the text format, and its counters move
with a /tag."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.redis_server import free_port

pytestmark = pytest.mark.e2e
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> tuple[str, Samples]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as answer,
    ):
        assert answer.status == 200
        content_type = answer.headers["Content-Type"]
        text = await answer.text()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return content_type, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_endpoint_counts_a_tag(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    port = free_port()
    await start_bot(METRICS_PORT=str(port))
    content_type, before = await scrape(port)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert value(before, "vitrina_queue_depth", lane="quick") == 0
    assert ("vitrina_inbox_backlog", ()) in before

    user = emulator.user(81, "en")
    user.send_photo(photos["coffee"], caption="/tag")
    await user.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=30)
    _, after = await scrape(port)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("vitrina_updates_received_total", kind="new") == 1
    assert moved("vitrina_jobs_total", op="tag", outcome="done") == 1
    assert moved("vitrina_job_wait_seconds_count", op="tag") == 1
    assert moved("vitrina_job_run_seconds_count", op="tag") == 1
    assert value(after, "vitrina_model_loads_total", model="clip", device="cpu") >= 1
    assert value(after, "vitrina_model_resident_bytes", model="clip", device="cpu") > 0

    # the same photo and choice again: answered from the cache, counted as a hit
    user.send_photo(photos["coffee"], caption="/tag")
    await user.wait_for_messages(lambda r: "•" in (r["text"] or ""), 2, timeout=30)
    _, cached = await scrape(port)
    assert value(cached, "vitrina_cache_hits_total", op="tag") == 1
    assert value(cached, "vitrina_jobs_total", op="tag", outcome="done") == value(
        after, "vitrina_jobs_total", op="tag", outcome="done"
    )
