"""Which operations can run now: the model folders each one lacks, asked on every request.

The answer (a few file checks, or with Redis what the live workers publish) is kept for
AVAILABILITY_TTL_S, so weights an operator adds while the bot runs are seen within that
time. A model that failed to load makes its operation unavailable for LOAD_FAILURE_TTL_S.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from services.operations import Operation
from services.worker import Engine

AVAILABILITY_TTL_S = 5.0
LOAD_FAILURE_TTL_S = 60.0  # a model that failed to load is not tried again for this long


class Availability:
    def __init__(self, operations: Mapping[str, Operation], engine: Engine) -> None:
        self.operations = operations
        self.engine = engine
        self._missing: dict[str, tuple[float, list[str]]] = {}
        self._load_failures: dict[str, tuple[float, str]] = {}  # op -> (when, model)

    def failed_to_load(self, op: str, model: str) -> None:
        """A job of `op` found `model` unusable: `op` is unavailable for a while."""
        self._load_failures[op] = (time.monotonic(), model)

    def missing_weights(self, op: str) -> list[str] | None:
        """None if `op` is not built, [] if it can run, else its absent model folders."""
        operation = self.operations.get(op)
        if operation is None:
            return None
        now = time.monotonic()
        failure = self._load_failures.get(op)
        if failure is not None and now - failure[0] < LOAD_FAILURE_TTL_S:
            return [failure[1]]
        if (answer := self.engine.missing_weights(op)) is not None:
            return answer  # worker machines have their own weights (SERVICE_BACKEND=redis)
        cached = self._missing.get(op)
        if cached is None or now - cached[0] > AVAILABILITY_TTL_S:
            cached = (now, operation.missing_weights())
            self._missing[op] = cached
        return list(cached[1])

    def missing_weights_for(self, op: str, params: Mapping[str, Any]) -> list[str] | None:
        """`missing_weights(op)`, plus what this job's params need beyond it."""
        missing = self.missing_weights(op)
        if missing is None:
            return None
        extra = self.operations[op].missing_weights_for(params)
        return list(dict.fromkeys([*missing, *extra]))
