"""Every Bot API call of the bot waits out flood control and retries transient failures.

A request middleware on the aiogram session, so handlers, the job runner and alerts all get
the same behaviour: 429 → wait `retry_after` (up to a bound); network errors, 5xx and a
proxy's non-JSON error page → exponential backoff; 4xx answers (a deleted chat, a bad
request) are final at once. getUpdates is left to aiogram's polling loop, which has its own
backoff.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

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

log = logging.getLogger("vitrina.bot")
TRANSIENT = (TelegramNetworkError, TelegramServerError, ClientDecodeError)


class RetryRequests(BaseRequestMiddleware):
    def __init__(self, attempts: int = 5, backoff_s: float = 0.5, max_wait_s: float = 60.0):
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        if isinstance(method, GetUpdates):
            return await make_request(bot, method)
        name = type(method).__name__
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if last or exc.retry_after > self.max_wait_s:
                    raise
                log.warning("%s: flood control, waiting %ss", name, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TRANSIENT as exc:
                if last:
                    raise
                delay = self.backoff_s * 2**attempt
                log.warning("%s failed (%s); retrying in %.1fs", name, type(exc).__name__, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
