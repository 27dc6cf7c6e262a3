"""Prometheus metrics of the model service layer, and the small HTTP endpoint that serves
them (METRICS_PORT; the bot's and each `vitrina worker`'s).

Each `ServiceMetrics` has a registry of its own (tests build many services in one process):
jobs by operation and outcome, queue wait and run time per operation, result-cache hits,
and — read when Prometheus scrapes — the queue depth per lane and the models: loads,
unloads and resident bytes. The bot adds its own metrics to the same registry.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client import Histogram as _Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from services.errors import JobCancelled

if TYPE_CHECKING:
    from services.models.residency import ResidentInfo

log = logging.getLogger("vitrina.metrics")
#: seconds: from a cache-speed tag to a long diffusion
TIME_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


class ServiceMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.jobs = Counter(
            "vitrina_jobs",
            "Jobs finished by the model services, by operation and outcome",
            ["op", "outcome"],
            registry=self.registry,
        )
        self.wait = _Histogram(
            "vitrina_job_wait_seconds",
            "Time a job waited in the fair queue before it started",
            ["op"],
            buckets=TIME_BUCKETS,
            registry=self.registry,
        )
        self.run = _Histogram(
            "vitrina_job_run_seconds",
            "Time a job ran on the model worker",
            ["op"],
            buckets=TIME_BUCKETS,
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "vitrina_cache_hits",
            "Requests answered from the result cache (no model ran)",
            ["op"],
            registry=self.registry,
        )
        #: the queue depth per lane, read at scrape time (set by the scheduler)
        self.queue_depths: Callable[[], Mapping[str, int]] | None = None
        self.models: Sequence[ResidentInfo] = ()  # the latest residency snapshot
        self.registry.register(_Snapshot(self))

    def job_finished(self, op: str, outcome: str, wait_s: float, run_s: float) -> None:
        self.jobs.labels(op, outcome).inc()
        self.wait.labels(op).observe(max(wait_s, 0.0))
        if run_s > 0:
            self.run.labels(op).observe(run_s)

    def batch_finished(self, op: str, outcomes: Sequence[object], run_s: float) -> None:
        """A batch run by a `vitrina worker` (its jobs' waits are the bot's to count)."""
        for outcome in outcomes:
            if isinstance(outcome, JobCancelled):
                label = "cancelled"
            else:
                label = "failed" if isinstance(outcome, BaseException) else "done"
            self.jobs.labels(op, label).inc()
            if run_s > 0:
                self.run.labels(op).observe(run_s)

    def cache_hit(self, op: str) -> None:
        self.cache_hits.labels(op).inc()

    def text(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class _Snapshot(Collector):
    """Values that live elsewhere, read when Prometheus asks."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # the families are known only at collect time

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "vitrina_queue_depth", "Jobs waiting in the fair queue, per lane", labels=["lane"]
        )
        read = self.metrics.queue_depths
        for lane, count in (read() if read is not None else {}).items():
            depth.add_metric([lane], count)
        yield depth
        loads = CounterMetricFamily(
            "vitrina_model_loads", "Times a model was loaded", labels=["model", "device"]
        )
        unloads = CounterMetricFamily(
            "vitrina_model_unloads",
            "Times a model was unloaded to make room under the memory budget",
            labels=["model", "device"],
        )
        resident = GaugeMetricFamily(
            "vitrina_model_resident_bytes",
            "Memory a loaded model holds (0 when not loaded)",
            labels=["model", "device"],
        )
        for info in self.metrics.models:
            labels = [info.name, info.device]
            loads.add_metric(labels, info.loads)
            unloads.add_metric(labels, info.unloads)
            resident.add_metric(labels, info.bytes if info.loaded else 0)
        yield loads
        yield unloads
        yield resident


class MetricsServer:
    """GET /metrics on `port` (all interfaces), on the running event loop: `refresh` runs
    first (it reads what needs an await: the worker's models, the inbox), then the
    registry is rendered."""

    def __init__(
        self,
        metrics: ServiceMetrics,
        port: int,
        refresh: Callable[[], Awaitable[None]] | None = None,
        host: str = "0.0.0.0",  # scraped from another host or container
    ) -> None:
        self.metrics = metrics
        self.port = port
        self.host = host
        self.refresh = refresh
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: web.Request) -> web.Response:
        if self.refresh is not None:
            with contextlib.suppress(Exception):  # a busy worker: the last values stand
                await self.refresh()
        # the classic text format (0.0.4): what every Prometheus reads
        return web.Response(
            body=self.metrics.text(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
        )
