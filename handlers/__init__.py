"""aiogram routers, one file per concern. `get_routers()` gives them in order, catch-all last."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import (
        admin,
        callbacks,
        commands,
        descriptions,
        edit_prompt,
        fallback,
        photos,
        privacy,
        results,
        start,
    )

    # photos before commands: a photo whose caption is /tag belongs to the photo handler;
    # the Edit button's prompt (a state) before the catch-all.
    modules = [
        start,
        admin,
        privacy,
        photos,
        commands,
        callbacks,
        descriptions,
        results,
        edit_prompt,
        fallback,
    ]
    return [module.get_router() for module in modules]
