"""The tests' waiting helper: it returns as soon as the condition holds, and says what it
waited for when it never does."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.waiting import eventually, eventually_sync


async def test_returns_the_first_truthy_value_as_soon_as_it_appears() -> None:
    box: list[int] = []
    asyncio.get_running_loop().call_soon(box.append, 7)
    started = time.monotonic()
    assert await eventually(lambda: box and box[0], timeout=5) == 7
    assert time.monotonic() - started < 1


async def test_an_async_predicate_is_awaited() -> None:
    calls = 0

    async def third_time() -> str | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return "ready" if calls >= 3 else None

    assert await eventually(third_time, timeout=5, interval=0) == "ready"
    assert calls == 3


async def test_a_timeout_says_what_it_waited_for() -> None:
    flags = {"done": False}
    with pytest.raises(AssertionError, match=r"not true after 0.05s: .*flags\[\"done\"\]"):
        await eventually(lambda: flags["done"], timeout=0.05)
    with pytest.raises(AssertionError, match="not true after 0.05s: state was 3"):
        await eventually(lambda: False, timeout=0.05, message=lambda: f"state was {1 + 2}")
    with pytest.raises(AssertionError, match="the worker never started"):
        await eventually(lambda: 0, timeout=0, message="the worker never started")


async def test_an_error_in_the_predicate_gives_up_at_once() -> None:
    def died() -> bool:
        raise RuntimeError("the process exited")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited"):
        await eventually(died, timeout=30)
    assert time.monotonic() - started < 1


def test_the_sync_variant_waits_for_another_thread() -> None:
    event = threading.Event()
    threading.Thread(target=event.set).start()
    assert eventually_sync(event.is_set, timeout=5) is True
    with pytest.raises(AssertionError, match="not true after 0.05s: .*is_set"):
        eventually_sync(threading.Event().is_set, timeout=0.05)
