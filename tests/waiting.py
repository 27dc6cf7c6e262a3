"""Waiting for a condition, not for a time: the tests' one polling helper.

`eventually(predicate)` checks the predicate (plain or async) until it returns something
truthy and returns that; after `timeout` seconds it fails with an AssertionError saying what
was awaited. `eventually_sync` is the same for code outside an event loop (fixtures that
start processes). A predicate may raise to give up early (a process that died): the error
goes through unchanged. Prefer an event or a counter when the code under test offers one
(the emulator's wait_for_* methods, an operation's `entered` event): `eventually` is for
state that nothing announces (a SQLite row, a process's exit, a worker's heartbeat).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
#: what a timeout says: a text, or a function called then (a dump of the state it saw)
Message = str | Callable[[], object]


async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,
    *,
    interval: float = 0.01,
    message: Message = "",
) -> T:
    """The predicate's first truthy value, checked now and then every `interval` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if loop.time() >= deadline:
            raise AssertionError(_explain(predicate, timeout, message))
        await asyncio.sleep(interval)  # the polling interval: the state is read again


def eventually_sync(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    *,
    interval: float = 0.01,
    message: Message = "",
) -> T:
    """`eventually` for a thread without an event loop (it blocks while it waits)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_explain(predicate, timeout, message))
        time.sleep(interval)  # the polling interval: the state is read again


def _explain(predicate: Callable[..., object], timeout: float, message: Message) -> str:
    said = message() if callable(message) else message
    return f"not true after {timeout:g}s: {said or _source(predicate)}"


def _source(predicate: Callable[..., object]) -> str:
    """The predicate's code (a lambda's line), else its name."""
    try:
        return " ".join(inspect.getsource(predicate).split())[:300]
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
