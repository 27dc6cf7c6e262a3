"""Operations the worker can run: one module per capability, each wraps its model classes
and knows how to batch. This module holds the contract they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from services.jobs import JobRequest

#: Every operation the bot offers; those without an implementation yet are "planned".
ALL_OPS = ("tag", "night", "tulips", "edit", "background", "describe")

#: Quick jobs (tags, descriptions, cut-outs) never wait behind a diffusion: the worker runs
#: them between two denoising steps of a running diffusion batch.
LANE_QUICK = "quick"
LANE_DIFFUSION = "diffusion"


@dataclass
class RunContext:
    """Handed to an operation on the worker thread.

    Long loops (diffusion) call ``cancelled()`` between steps: besides answering, that is
    where the worker runs quick jobs that arrived meanwhile (``between_steps``), so a /tag
    never waits for a whole edit.
    """

    report: Callable[[float, str | None], None]
    is_cancelled: Callable[[], bool]
    between_steps: Callable[[], None] = lambda: None

    def progress(self, fraction: float, note: str | None = None) -> None:
        self.report(min(max(fraction, 0.0), 1.0), note)

    def cancelled(self) -> bool:
        self.between_steps()
        return self.is_cancelled()


class OperationSet(dict[str, "Operation"]):
    """The operations of one worker, by name, with the memory residency of their models
    (``services.models.residency``), so the worker can report what it holds."""

    residency: Any = None


Outcome = Any  # a result, or the exception that one request of the batch failed with
T = TypeVar("T")


@dataclass
class FinishContext:
    """Handed to an operation's optional async ``finish`` step, on the event loop."""

    report: Callable[[float, str | None], None]
    #: ``await on_worker("method", *args)`` runs ``operation.method(*args)`` on the model
    #: worker (its thread or its process: arguments and result must be picklable)
    on_worker: Callable[..., Awaitable[Any]]

    def progress(self, fraction: float, note: str | None = None) -> None:
        self.report(min(max(fraction, 0.0), 1.0), note)


class Operation(Protocol):
    name: str
    max_batch: int

    def batch_key(self, request: JobRequest) -> Hashable:
        """Requests with equal keys may run together in one batch."""
        ...

    def missing_weights(self) -> list[str]:
        """Model folders this operation needs that are absent (empty = ready)."""
        ...

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        """Runs on the worker thread; one outcome per request, in order."""
        ...

    def warm_up(self) -> None:
        """Load the model(s) now, on the worker thread, so the first user does not wait."""
        ...


class Laned(Protocol):
    """An operation may also define ``lane(request) -> "quick" | "diffusion"`` (default
    quick): a diffusion job runs in the slow lane and quick jobs overtake it between its
    denoising steps. ``lanes`` names every lane its jobs can take (a Redis worker reads
    only those streams)."""

    lanes: tuple[str, ...]

    def lane(self, request: JobRequest) -> str: ...


def lanes_of(operation: object) -> tuple[str, ...]:
    """The lanes an operation's jobs can take: its ``lanes``, else the quick lane only."""
    return tuple(getattr(operation, "lanes", (LANE_QUICK,)))


class Cacheable(Protocol):
    """An operation whose results the bot may cache defines ``cache_identity``.

    It returns everything a job's result depends on besides the photo: the normalised
    params and the settings that change the output (edit steps, guidance, tag top_k, the
    vocabulary's content, ...), JSON-able, with the model folders the result comes from
    under ``"models"`` (their installed revisions join the key: new weights, new key).
    ``None``: this job is not cacheable (e.g. an edit without a seed is random). The service
    layer turns it into a key with ``ModelServices.cache_key``; a repeat with the same key is
    answered from storage without any model call. Must be cheap: no model is loaded.
    """

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None: ...


class Finishing(Protocol):
    """An operation may also define ``finish``: an async step the scheduler awaits on the
    event loop after ``run``, one task per request, while the worker goes on with the next
    batch (a network call, e.g. GPT, must not hold the GPU thread). Only successful outcomes
    are finished; its return value (or exception) is the job's outcome."""

    async def finish(
        self, request: JobRequest, outcome: Outcome, context: FinishContext
    ) -> Outcome: ...
