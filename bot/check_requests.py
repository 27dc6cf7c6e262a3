"""The bot's side of check and "Fix for <marketplace>": which profile a job uses. A job
names one (`/check wb`, a profile button) or takes the user's own, the profile of their
last check (until the first: Wildberries for a seller, Booking for a hotelier); every check
remembers its profile as the user's."""

from __future__ import annotations

from typing import Any

from bot.ops import spec_of
from bot.storage import Storage, User
from services.marketplace.profiles import load_profiles


def known_profiles(domain: str | None = None) -> tuple[str, ...]:
    """Every profile's id (`domain`: only that domain's: product or hotel)."""
    profiles = load_profiles()
    return profiles.of_domain(domain) if domain else tuple(profiles.profiles)


def domain_of(profile: str) -> str:
    found = load_profiles().profiles.get(profile)
    return found.domain if found else "product"


def default_profile(stored: str | None, domain: str | None = None) -> str:
    """The user's stored profile while the profiles file still has it (and it is one of the
    user's domain, when given), else that domain's default."""
    return load_profiles().for_user(stored, domain)


async def with_profile(
    storage: Storage, user_id: int, user: User | None, op: str, params: dict[str, Any]
) -> dict[str, Any]:
    """`params` with the job's profile filled in (the `user` row's when none is named); a
    check remembers it as the user's."""
    spec = spec_of(op)
    if spec is None or not spec.takes_profile:
        return params
    domains = spec.profile_domains
    domain = user.domain if user is not None and user.domain in domains else domains[0]
    profile = params.get("profile")
    if not profile or domain_of(str(profile)) not in domains:
        profile = default_profile(user.profile if user else None, domain)
    if spec.remembers_profile:
        await storage.set_profile(user_id, str(profile))
    return {**params, "profile": str(profile)}
