"""Messages to the operators (ADMIN_IDS): what needs their hands, said once per process."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.ops import op_label
from bot.storage import Storage
from bot.texts import MISSING_MODEL_KEYS, t

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

    async def refusal(self, op: str, missing: list[str] | None, lang: str) -> str:
        """What the user hears when `op` cannot run: not in this build (`missing` None), or
        its weights are missing (`missing_weights_for`), which the admins hear about too."""
        name = op_label(lang, op)
        if missing is None:
            return t(lang, "op.planned", op=name)
        await self.model_missing(op, "missing weights: " + ", ".join(missing))
        # A model only some jobs of an op need has its own message ("missing.inpaint").
        own = MISSING_MODEL_KEYS.get(missing[0]) if len(missing) == 1 else None
        return t(lang, own) if own else t(lang, "op.missing", op=name)

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
