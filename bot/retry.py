"""Every Bot API call of the bot waits out flood control and retries transient failures.

A request middleware on the aiogram session, so handlers, the job runner and alerts all get
the same behaviour: 429 → wait `retry_after` (up to a bound); network errors, 5xx and a
proxy's non-JSON error page → exponential backoff; 4xx answers (a deleted chat, a bad
request) are final at once. getUpdates is left to the polling loop (bot/inbox/polling.py),
which has its own backoff.

The sends that matter — a user's result (`bot/jobs/delivery.py`, `bot/sets/delivery.py`) —
run inside `patient()`: there a 429 of any length is waited out (Telegram can ask for minutes
after a burst), so the result arrives late rather than never; other calls keep the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod

if TYPE_CHECKING:
    from bot.metrics import BotMetrics

log = logging.getLogger("vitrina.bot")
TRANSIENT = (TelegramNetworkError, TelegramServerError, ClientDecodeError)
#: a patient send gives up only after Telegram has asked it to wait this long in all
PATIENT_MAX_WAIT_S = 3600.0
_patient: ContextVar[bool] = ContextVar("vitrina_patient_send", default=False)
P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def patient() -> Iterator[None]:
    """Around a send that matters: a 429 with any Retry-After is waited out."""
    token = _patient.set(True)
    try:
        yield
    finally:
        _patient.reset(token)


def patiently(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A coroutine function whose Bot API calls are all `patient()` (a result's delivery)."""

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with patient():
            return await function(*args, **kwargs)

    return wrapper


class RetryRequests(BaseRequestMiddleware):
    def __init__(
        self,
        attempts: int = 5,
        backoff_s: float = 0.5,
        max_wait_s: float = 60.0,
        *,
        time_scale: float = 1.0,
        metrics: BotMetrics | None = None,
    ):
        """`time_scale` multiplies every Retry-After wait (RETRY_AFTER_SCALE: tests only, so
        a 90 s Retry-After takes 0.9 s there)."""
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.time_scale = time_scale
        self.metrics = metrics

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        if isinstance(method, GetUpdates):
            return await make_request(bot, method)
        name = type(method).__name__
        tries, waited = 0, 0.0
        while True:
            tries += 1
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if self.metrics is not None:
                    self.metrics.api_flood(name)
                waited += exc.retry_after
                if _patient.get():
                    tries -= 1  # a patient send is bounded by the time waited, not tries
                    if waited > PATIENT_MAX_WAIT_S:
                        raise
                elif tries >= self.attempts or exc.retry_after > self.max_wait_s:
                    raise
                log.warning("%s: flood control, waiting %ss", name, exc.retry_after)
                await asyncio.sleep(exc.retry_after * self.time_scale)
            except TRANSIENT as exc:
                if tries >= self.attempts:
                    raise
                delay = self.backoff_s * 2 ** (tries - 1)
                log.warning("%s failed (%s); retrying in %.1fs", name, type(exc).__name__, delay)
                if self.metrics is not None:
                    self.metrics.api_retry(name)
                await asyncio.sleep(delay)
