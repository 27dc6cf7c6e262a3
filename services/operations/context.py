"""What an operation is handed while it works: `RunContext` on the worker, `FinishContext`
in its async finish step on the event loop. Both report progress as numbers: a fraction,
and for a loop of steps (denoising) the step and the total, which the bot renders in the
user's language ("шаг 5/20")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services.jobs import Stage

#: report(fraction 0..1, step or None, total or None)
Report = Callable[[float, int | None, int | None], None]


def _clamped(fraction: float) -> float:
    return min(max(fraction, 0.0), 1.0)


@dataclass
class RunContext:
    """Handed to an operation on the worker thread.

    Long loops (diffusion) call ``cancelled()`` between steps: besides answering, that is
    where the worker runs quick jobs that arrived meanwhile (``between_steps``), so a /tag
    never waits for a whole edit.
    """

    report: Report
    is_cancelled: Callable[[], bool]
    between_steps: Callable[[], None] = lambda: None

    def progress(self, fraction: float, step: int | None = None, total: int | None = None) -> None:
        """`fraction` of the job done; in a loop of steps, also which step of how many."""
        self.report(_clamped(fraction), step, total)

    def cancelled(self) -> bool:
        self.between_steps()
        return self.is_cancelled()


@dataclass
class FinishContext:
    """Handed to an operation's optional async ``finish`` step, on the event loop; its
    progress may also name the stage it is in (e.g. waiting for GPT)."""

    report: Callable[[float, int | None, int | None, Stage | None], None]
    #: ``await on_worker("method", *args)`` runs one of the operation's ``worker_calls`` on
    #: the model worker (its thread or its process: arguments and result must be picklable)
    on_worker: Callable[..., Awaitable[Any]]

    def progress(
        self,
        fraction: float,
        step: int | None = None,
        total: int | None = None,
        stage: Stage | None = None,
    ) -> None:
        self.report(_clamped(fraction), step, total, stage)
