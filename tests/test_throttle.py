"""`Throttle` with `quiet`: a burst of pokes is shown once, with its last state, when it
settles; an interval never holds it back (issue 31: a set of 50 said "44" for a second)."""

from __future__ import annotations

import asyncio

from bot.sets.throttle import Throttle

HOUR = 3600.0


def _counter(shown: list[int], state: dict[str, int]) -> Throttle:
    async def show() -> None:
        shown.append(state["count"])

    return Throttle(HOUR, show, quiet=0.01)


async def test_a_burst_is_shown_once_with_its_last_count_when_it_settles() -> None:
    shown: list[int] = []
    state = {"count": 0}
    throttle = _counter(shown, state)
    for count in range(1, 51):
        state["count"] = count
        throttle.poke()
        await asyncio.sleep(0)  # the show's task runs between pokes, as photos arrive
    # the interval is an hour: settling at all means the quiet, not the interval, decided
    await asyncio.wait_for(throttle.settle(), 60)
    assert shown == [50]


async def test_pokes_that_never_settle_are_still_shown_after_an_interval() -> None:
    shown: list[str] = []

    async def show() -> None:
        shown.append("shown")

    throttle = Throttle(0.01, show, quiet=HOUR)  # quiet never comes: the interval decides
    throttle.poke()
    await asyncio.wait_for(throttle.settle(), 60)
    assert shown == ["shown"]


async def test_without_quiet_the_first_poke_is_shown_at_once() -> None:
    shown: list[int] = []
    state = {"count": 1}

    async def show() -> None:
        shown.append(state["count"])

    throttle = Throttle(HOUR, show)
    throttle.poke()
    await asyncio.wait_for(throttle.settle(), 60)
    assert shown == [1]
    await throttle.cancel()


async def test_a_wake_works_the_wait_out_again_when_the_quiet_changes() -> None:
    """The set's message: a long quiet while photos are being downloaded, a short one once
    every photo that arrived is stored; `wake()` says so to a show that is waiting."""
    shown: list[int] = []
    state = {"count": 0, "in_flight": 3}

    async def show() -> None:
        shown.append(state["count"])

    throttle = Throttle(HOUR, show, quiet=lambda: HOUR if state["in_flight"] else 0.0)
    for count in (1, 2, 3):
        state["count"] = count
        throttle.poke()
        await asyncio.sleep(0)
    assert shown == []  # photos still in flight: the quiet (an hour) holds the show back
    state["in_flight"] = 0
    throttle.wake()
    # settling at all means the wake was heard: the hour-long wait was worked out again
    await asyncio.wait_for(throttle.settle(), 60)
    assert shown == [3]
