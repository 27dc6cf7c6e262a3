"""Which engine a deployment's config asks for: Redis workers (SERVICE_BACKEND=redis://),
a worker process of its own (MODEL_WORKER=process), or a thread of this process."""

from __future__ import annotations

from services.config import ServiceConfig
from services.operations import OperationSet
from services.worker.engine import Engine, ThreadEngine
from services.worker.process import OperationsFactory, ProcessEngine
from services.worker.redis_url import REDIS_SCHEMES


def engine_for(
    config: ServiceConfig, operations: OperationSet, factory: OperationsFactory | None
) -> Engine:
    """`factory` None: the operations were handed in ready-made, so they run in a thread
    here (a process would have to build its own)."""
    if config.backend.startswith(REDIS_SCHEMES):
        from services.worker.redis_engine import RedisEngine  # taskiq only when used

        return RedisEngine(
            config.backend, visibility_s=config.redis_visibility_s, shared_dir=config.shared_dir
        )
    if config.worker == "process" and factory is not None:
        return ProcessEngine(factory, config)
    return ThreadEngine(operations)
