"""aiogram routers, one file per concern. `get_routers()` gives them in order, catch-all last."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import admin, callbacks, commands, edit_prompt, fallback, photos, results, start

    # photos before commands: a photo whose caption is /tag belongs to the photo handler
    modules = [start, admin, photos, commands, callbacks, results, edit_prompt, fallback]
    return [module.get_router() for module in modules]
