"""Which messages the bot treats as addressed to it."""

from __future__ import annotations

from aiogram.types import Message

from bot.middlewares import addressed_to_bot


def message(chat_type: str, **content: object) -> Message:
    return Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100 if chat_type != "private" else 7, "type": chat_type},
            "from": {"id": 7, "is_bot": False, "first_name": "A"},
            **content,
        }
    )


def test_private_chats_get_everything_groups_only_commands() -> None:
    photo = [{"file_id": "f", "file_unique_id": "u", "width": 10, "height": 10}]
    assert addressed_to_bot(message("private", text="hello"), None)
    assert not addressed_to_bot(message("group", text="hello"), None)
    assert not addressed_to_bot(message("supergroup", photo=photo), None)
    assert addressed_to_bot(message("group", text="/tag"), None)
    assert addressed_to_bot(message("supergroup", photo=photo, caption="/tag"), None)
    album = [message("group", photo=photo), message("group", photo=photo, caption="/tag")]
    assert addressed_to_bot(album[0], album)
