"""Build aiogram's pydantic response models before polling starts.

aiogram parametrises `Response[<result type>]` the first time each Bot API method answers,
and pydantic builds its validator then: 5 ms idle, 100+ ms when the machine is busy,
on the event loop, in the middle of the first user's request (issue 9's profile). Building
them at start-up moves that cost out of every user's way.
"""

from __future__ import annotations

import time

from aiogram import methods
from aiogram.methods.base import Response

#: The Bot API methods this bot calls (tests/emulator.py implements the same list).
USED_METHODS = (
    methods.GetMe,
    methods.GetUpdates,
    methods.GetFile,
    methods.SendMessage,
    methods.SendPhoto,
    methods.SendDocument,
    methods.SendMediaGroup,
    methods.EditMessageText,
    methods.EditMessageReplyMarkup,
    methods.AnswerCallbackQuery,
    methods.SendChatAction,
    methods.DeleteMessage,
    methods.SetMyCommands,
    methods.DeleteWebhook,
)


#: The built models, held: pydantic caches parametrised generic models only weakly, so a
#: garbage collection took them and each call after it built its model again, on the loop
#: (issue 21, P1: py-spy showed `create_generic_submodel` under `check_response`).
_BUILT: dict[type, type] = {}


def prebuild_response_models() -> float:
    """Parametrise and build every response model the bot will need; returns seconds."""
    started = time.perf_counter()
    for method in USED_METHODS:
        model = Response[method.__returning__]  # type: ignore[name-defined]
        _BUILT[method] = model
        model.model_rebuild()
        model.model_validate({"ok": False, "error_code": 400, "description": "prebuild"})
    return time.perf_counter() - started
