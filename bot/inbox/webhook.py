"""Webhook mode (WEBHOOK_URL): Telegram POSTs each update; it is stored in the inbox BEFORE
the 200 goes back (a 500 when it could not be stored: Telegram sends it again), then handled
from there, like a polled one.

The HTTP side is aiogram's `SimpleRequestHandler` (secret token check, the aiohttp route);
only what happens to a verified update is ours.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.inbox.inbox import Inbox

log = logging.getLogger("vitrina.inbox")


class InboxRequestHandler(SimpleRequestHandler):
    def __init__(self, dispatcher: Dispatcher, bot: Bot, inbox: Inbox, secret_token: str) -> None:
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret_token)
        self.inbox = inbox

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            raw = await request.json(loads=bot.session.json_loads)
            update = Update.model_validate(raw, context={"bot": bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="not an update")
        try:
            fresh = await self.inbox.accept([update])
        except Exception:  # not stored: not acknowledged, Telegram delivers it again
            log.exception("update %s could not be stored; answered 500", update.update_id)
            return web.Response(status=500, text="not stored")
        self.inbox.dispatch(fresh)
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        return await self._handle_request_background(bot, request)

    async def close(self) -> None:
        """The bot's session is the application's: it closes it after the dispatcher."""


class WebhookReceiver:
    """Listens on host:port (path from WEBHOOK_URL) and sets the webhook; until `stop`."""

    def __init__(
        self,
        bot: Bot,
        dp: Dispatcher,
        inbox: Inbox,
        *,
        url: str,
        path: str,
        host: str,
        port: int,
        secret: str,
        allowed_updates: list[str] | None,
    ) -> None:
        self.bot = bot
        self.handler = InboxRequestHandler(dp, bot, inbox, secret)
        self.url = url
        self.path = path
        self.host = host
        self.port = port
        self.secret = secret
        self.allowed_updates = allowed_updates

    async def run(self, stop: asyncio.Event) -> None:
        app = web.Application()
        app.router.add_post(self.path, self.handler.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            options: dict[str, Any] = {"allowed_updates": self.allowed_updates}
            await self.bot.set_webhook(
                self.url, secret_token=self.secret, drop_pending_updates=False, **options
            )
            log.info("webhook set; listening on %s:%d%s", self.host, self.port, self.path)
            await stop.wait()
        finally:
            await runner.cleanup()  # no new update is taken; handlers in flight drain
        log.info("webhook stopped")
