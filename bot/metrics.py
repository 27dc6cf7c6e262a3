"""The bot's Prometheus metrics, beside the service layer's in one registry
(services/metrics.py): updates received, Bot API retries and 429s, the inbox backlog.

Served on METRICS_PORT (0: off) by `services.metrics.MetricsServer`; what needs an await
(the worker's models, the inbox count) is read when Prometheus scrapes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from bot.storage import Storage
from services.metrics import MetricsServer
from services.scheduler import ModelServices


class BotMetrics:
    def __init__(self, services: ModelServices) -> None:
        registry = services.metrics.registry
        self.services = services
        self.updates = Counter(
            "vitrina_updates_received",
            "Updates received from Telegram; duplicate: one stored already (a redelivery)",
            ["kind"],
            registry=registry,
        )
        self.api_retries = Counter(
            "vitrina_bot_api_retries",
            "Bot API calls retried after a network error or a 5xx",
            ["method"],
            registry=registry,
        )
        self.api_floods = Counter(
            "vitrina_bot_api_flood_waits",
            "Bot API calls answered 429 (flood control) and waited out or given up",
            ["method"],
            registry=registry,
        )
        self.inbox_backlog = Gauge(
            "vitrina_inbox_backlog",
            "Updates stored in the inbox and not handled yet",
            registry=registry,
        )

    def received(self, new: int, duplicates: int) -> None:
        if new:
            self.updates.labels("new").inc(new)
        if duplicates:
            self.updates.labels("duplicate").inc(duplicates)

    def api_retry(self, method: str) -> None:
        self.api_retries.labels(method).inc()

    def api_flood(self, method: str) -> None:
        self.api_floods.labels(method).inc()

    def server(self, port: int, db: Storage) -> MetricsServer:
        async def refresh() -> None:
            self.inbox_backlog.set(await db.inbox_backlog())
            models = await self.services.resident_models(timeout=1.0)
            if models is not None:
                self.services.metrics.models = models

        return MetricsServer(self.services.metrics, port, refresh)
