"""The bot's side of check and "Fix for <marketplace>": which profile a job uses. A job
names one (`/check wb`, a profile button) or takes the user's own, the profile of their
last check (the profiles file's default until the first); every check remembers its
profile as the user's."""

from __future__ import annotations

from typing import Any

from bot.ops import spec_of
from bot.storage import Storage, User
from services.marketplace.profiles import load_profiles


def known_profiles() -> tuple[str, ...]:
    return tuple(load_profiles().profiles)


def default_profile(stored: str | None) -> str:
    """The user's stored profile while the profiles file still has it, else the default."""
    profiles = load_profiles()
    return stored if stored in profiles.profiles else profiles.default


async def with_profile(
    storage: Storage, user_id: int, user: User | None, op: str, params: dict[str, Any]
) -> dict[str, Any]:
    """`params` with the job's profile filled in (the `user` row's when none is named); a
    check remembers it as the user's."""
    spec = spec_of(op)
    if spec is None or not spec.takes_profile:
        return params
    profile = params.get("profile")
    if not profile:
        profile = default_profile(user.profile if user else None)
    if spec.remembers_profile:
        await storage.set_profile(user_id, str(profile))
    return {**params, "profile": str(profile)}
