"""Operations the worker can run: one module per capability (tag, edit, background,
describe), each a subclass of `Operation` (`base.py`); what they are handed while they work
is in `context.py`."""

from services.operations.base import (
    EDIT_OPS,
    LANE_DIFFUSION,
    LANE_QUICK,
    LANES,
    LIBRARY_OPS,
    InvalidOperation,
    Op,
    Operation,
    OperationSet,
    Outcome,
)
from services.operations.context import FinishContext, RunContext

#: Every operation the bot offers, in `Op`'s order.
ALL_OPS: tuple[Op, ...] = tuple(Op)

__all__ = [
    "ALL_OPS",
    "EDIT_OPS",
    "LANES",
    "LIBRARY_OPS",
    "LANE_DIFFUSION",
    "LANE_QUICK",
    "FinishContext",
    "InvalidOperation",
    "Op",
    "Operation",
    "OperationSet",
    "Outcome",
    "RunContext",
]
