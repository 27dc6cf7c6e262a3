"""The typed profiles (services/marketplace/profiles.py reads and validates the files):
a rule with its source and certainty, what Fix makes (a marketplace's card, a hotel site's
photo), a profile, the banned lists, and every profile with the domains' defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.hotel.kinds import PhotoSpec


@dataclass(frozen=True)
class Rule:
    id: str
    required: bool
    verified: bool
    source: str
    #: the kind's own keys (ratio, width, min, allowed...), already checked and converted
    params: Mapping[str, Any]

    @property
    def level(self) -> str:
        """ "required" only when the marketplace insists and the source is sure."""
        return "required" if self.required and self.verified else "recommended"

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


@dataclass(frozen=True)
class CardSpec:
    """What "fix for <marketplace>" makes."""

    width: int
    height: int
    fill: float
    background: tuple[int, int, int]
    format: str
    quality: int


@dataclass(frozen=True)
class GallerySpec:
    """What /gallery's slides keep to: the smallest text, in the card's pixels."""

    min_text_px: int = 40
    verified: bool = False
    source: str = "Vitrina: a default (the profile names none)"


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    aliases: tuple[str, ...]
    rules: Mapping[str, Rule]
    card: CardSpec | None  # a marketplace's card; None for a hotel platform
    gallery: GallerySpec = GallerySpec()
    domain: str = "product"
    photo: PhotoSpec | None = None  # what a hotel platform's Fix makes of a room photo

    def rule(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def fill_range(self, default: tuple[float, float] = (0.65, 0.98)) -> tuple[float, float]:
        rule = self.rule("object_fill")
        return (rule["min"], rule["max"]) if rule else default


@dataclass(frozen=True)
class BannedLists:
    words: tuple[str, ...]
    #: (category: rank, price, phone, link..., its regular expressions), in file order
    patterns: tuple[tuple[str, tuple[str, ...]], ...]
    source: str
    verified: bool


@dataclass(frozen=True)
class Profiles:
    default: str
    profiles: Mapping[str, Profile]
    banned: BannedLists
    #: domain -> its default profile (a hotel user checks for Booking until they choose)
    defaults: Mapping[str, str] = field(default_factory=dict)

    def default_for(self, domain: str | None) -> str:
        return self.defaults.get(domain or "product", self.default)

    def for_user(self, stored: str | None, domain: str | None = None) -> str:
        """The user's stored profile while the file still has it (and it is one of the
        user's domain, when given), else that domain's default."""
        found = self.profiles.get(stored or "")
        if found is not None and (domain is None or found.domain == domain):
            return found.id
        return self.default_for(domain)

    def of_domain(self, domain: str) -> tuple[str, ...]:
        """The ids of one domain's profiles, in file order."""
        return tuple(pid for pid, p in self.profiles.items() if p.domain == domain)

    def get(self, name: str | None = None) -> Profile:
        """A profile by id or alias (any case); None gives the default."""
        if name is None:
            return self.profiles[self.default]
        key = " ".join(name.casefold().split())
        for profile in self.profiles.values():
            if key == profile.id or key in profile.aliases:
                return profile
        raise KeyError(f"unknown marketplace {name!r}; known: {', '.join(self.profiles)}")
