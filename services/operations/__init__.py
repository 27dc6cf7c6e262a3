"""Operations the worker can run: one module per capability, each wraps its model classes
and knows how to batch. This module holds the contract they share."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.jobs import JobRequest

#: Every operation the bot offers; those without an implementation yet are "planned".
ALL_OPS = ("tag", "night", "tulips", "edit", "background", "describe")


@dataclass
class RunContext:
    """Handed to an operation on the worker thread."""

    report: Callable[[float, str | None], None]
    is_cancelled: Callable[[], bool]

    def progress(self, fraction: float, note: str | None = None) -> None:
        self.report(min(max(fraction, 0.0), 1.0), note)

    def cancelled(self) -> bool:
        return self.is_cancelled()


Outcome = Any  # a result, or the exception that one request of the batch failed with


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
