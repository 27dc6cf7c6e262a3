"""What crosses between the scheduler and the model worker: small picklable records.

Orders go to the worker (`RunBatch`, `Call`, `WarmUp`, `Cancel`, `Shutdown`); events come
back (`Progress`, `BatchDone`, `CallDone`, `WarmedUp`). The same records serve the thread
engine (passed by reference) and the process engine (pickled over a pipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.jobs import JobRequest
from services.operations import LANE_DIFFUSION, LANE_QUICK

__all__ = ["LANE_DIFFUSION", "LANE_QUICK", "RunBatch"]


@dataclass(frozen=True)
class RunBatch:
    batch_id: int
    op: str
    requests: tuple[JobRequest, ...]
    job_ids: tuple[int, ...]  # the handles' ids, in the order of `requests`
    lane: str = LANE_QUICK


@dataclass(frozen=True)
class Call:
    """Run one of ``operations[op].worker_calls`` with `args` on the worker (an async
    finish's local step); with no `op`, a question to the worker itself."""

    call_id: int
    op: str
    method: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class WarmUp:
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Cancel:
    batch_id: int
    job_id: int  # the handle's id; a batch stops once all its jobs are cancelled


@dataclass(frozen=True)
class Shutdown:
    pass


@dataclass(frozen=True)
class Progress:
    batch_id: int
    fraction: float
    step: int | None = None  # in a loop of steps (denoising): which one of `total`
    total: int | None = None


@dataclass(frozen=True)
class BatchDone:
    batch_id: int
    outcomes: list[Any] = field(default_factory=list)  # a result or an exception per request
    run_s: float = 0.0


@dataclass(frozen=True)
class CallDone:
    call_id: int
    value: Any = None
    error: BaseException | None = None


@dataclass(frozen=True)
class WarmedUp:
    op: str
    seconds: float
    error: str | None = None


Order = RunBatch | Call | WarmUp | Cancel | Shutdown
Event = Progress | BatchDone | CallDone | WarmedUp
