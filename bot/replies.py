"""How the bot replies to a message: one `ReplyParameters` for every send."""

from __future__ import annotations

from aiogram.types import ReplyParameters


def reply_to(message_id: int | None) -> ReplyParameters | None:
    """Reply to `message_id`; once that message is gone (the user deleted it), the answer
    goes out without the reply instead of failing. None: not a reply."""
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
