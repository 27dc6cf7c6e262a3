"""aiogram routers, one file per concern. `get_routers()` gives them in order, catch-all last.

Each module's `get_router()` builds a fresh `Router(name=__name__)` on every call: aiogram
attaches a router to one dispatcher only, and tests build several dispatchers.
"""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import (
        admin,
        callbacks,
        check_buttons,
        commands,
        descriptions,
        edit_prompt,
        fallback,
        library,
        photos,
        privacy,
        publish,
        result_buttons,
        sets,
        settings,
        start,
    )

    # photos before commands: a photo whose caption is /tag belongs to the photo handler;
    # sets (/all, a set's buttons, its edit prompt) and the Edit button's prompt (a state)
    # before the catch-all.
    modules = [
        start,
        admin,
        privacy,
        library,
        settings,
        publish,
        photos,
        sets,
        commands,
        callbacks,
        check_buttons,
        descriptions,
        result_buttons,
        edit_prompt,
        fallback,
    ]
    return [module.get_router() for module in modules]
