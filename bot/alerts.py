"""Messages to the operators (ADMIN_IDS): what needs their hands, said once per process."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.storage import Storage
from bot.texts import t

log = logging.getLogger("vitrina.bot")


class AdminAlerts:
    def __init__(
        self, bot: Bot, db: Storage, admin_ids: frozenset[int], weights_dir: Path
    ) -> None:
        self.bot = bot
        self.db = db
        self.admin_ids = admin_ids
        self.weights_dir = weights_dir
        self._said: set[str] = set()

    async def model_missing(self, op: str, detail: str) -> None:
        """A user asked for `op` and its weights are not there: log it, tell the admins once."""
        log.warning(
            "%s unavailable (%s): run 'vitrina weights download' to fill %s",
            op,
            detail,
            self.weights_dir,
        )
        if op in self._said:
            return
        self._said.add(op)
        for admin_id in sorted(self.admin_ids):
            user = await self.db.get_user(admin_id)
            lang = user.language if user else "ru"
            text = t(
                lang,
                "admin.model_missing",
                op=op,
                detail=html.escape(detail),
                folder=html.escape(str(self.weights_dir)),
            )
            try:
                await self.bot.send_message(admin_id, text)
            except TelegramAPIError as exc:  # an admin who never started the bot
                log.warning("could not alert admin %s: %s", admin_id, exc)
