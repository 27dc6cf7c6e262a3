"""`vitrina worker`: serve the bot's jobs from Redis on this machine (one process per GPU).

A GPU machine runs only this: it imports the service layer, never aiogram or a handler
(tests/test_cli.py checks it with `python -X importtime`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
from typing import Any

from bot.settings import Settings, SettingsError

log = logging.getLogger("vitrina.worker")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = sub.add_parser("worker", help="serve jobs from SERVICE_BACKEND=redis://...")
    worker.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: DEVICE)")
    worker.add_argument("--ops", default="", help="comma-separated operations (default: all)")
    worker.add_argument("--preload", action="store_true", help="load the models at start")
    worker.add_argument(
        "--diffusion-min-free-mb",
        type=int,
        default=0,
        help="refuse a diffusion job (another worker takes it) below this free GPU memory",
    )
    worker.add_argument("--id", default=None, help="worker name in /stats (default: host-pid)")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="Prometheus metrics on this port (default: METRICS_PORT; 0 = off)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from services.worker.redis_url import REDIS_SCHEMES

    if not settings.service_backend.startswith(REDIS_SCHEMES):
        raise SettingsError("vitrina worker needs SERVICE_BACKEND=redis://host:port/db")
    from services.cache_keys import result_identity
    from services.device import resolve_device
    from services.wiring import default_operations
    from services.worker.messages import WarmUp
    from services.worker.redis_worker import RedisWorker  # taskiq only when used

    config = settings.service_config()
    device = resolve_device(args.device or settings.device)
    config = dataclasses.replace(config, device=device, backend="local")
    operations = default_operations(config)
    ops = [op.strip() for op in args.ops.split(",") if op.strip()] or list(operations)
    unknown = sorted(set(ops) - set(operations))
    if unknown:
        raise SettingsError(f"--ops: unknown operations {', '.join(unknown)}")
    worker = RedisWorker(
        settings.service_backend,
        operations,
        device=device,
        ops=ops,
        visibility_s=settings.redis_visibility_s,
        diffusion_min_free_mb=args.diffusion_min_free_mb,
        worker_id=args.id,
        identity=result_identity(config),
        shared_dir=settings.shared_dir,
    )
    if args.preload:
        worker.runner.submit(
            WarmUp(tuple(op for op in ops if not operations[op].missing_weights()))
        )

    port = settings.metrics_port if args.metrics_port is None else args.metrics_port

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, worker.stop)
        server = _metrics_server(worker, operations, port) if port else None
        if server is not None:
            await server.start()
        try:
            await worker.run()
        finally:
            if server is not None:
                await server.stop()

    asyncio.run(main())
    return 0


def _metrics_server(worker: Any, operations: Any, port: int) -> Any:
    """The worker's /metrics: the jobs it ran, their run time, its models."""
    from services.metrics import MetricsServer, ServiceMetrics

    metrics = worker.metrics = ServiceMetrics()

    async def refresh() -> None:
        if operations.residency is not None:
            metrics.models = operations.residency.snapshot()

    return MetricsServer(metrics, port, refresh)
