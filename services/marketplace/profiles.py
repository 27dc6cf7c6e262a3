"""Marketplace and hotel-platform profiles (``profiles.toml`` beside this module, and
``services/hotel/profiles.toml``): typed, frozen, validated by one schema, loaded together.

Every mistake in the file is a `ProfileError` that names the file, the table and the key:
an unknown key, a rule without its source, a number out of range, a card that would fail
its own profile. Parsed once per path.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from services.hotel.kinds import HOTEL_KINDS, HOTEL_RULE_ORDER, PHOTO_KEYS, PhotoSpec
from services.marketplace.profile_types import (
    BannedLists,
    CardSpec,
    GallerySpec,
    Profile,
    Profiles,
    Rule,
)
from services.marketplace.schema import (
    MISSING,
    Check,
    DataError,
    anything,
    boolean,
    colour,
    fail,
    formats,
    number,
    one_of,
    pixels,
    quality,
    ratio,
    string,
    table,
    words,
)
from services.marketplace.schema import (
    regexes as regexes_,
)

DEFAULT_PATH = Path(__file__).resolve().parent / "profiles.toml"
HOTEL_PATH = Path(__file__).resolve().parent.parent / "hotel" / "profiles.toml"
#: what a profile is for: a product card on a marketplace, or a room photo on a hotel site
DOMAINS = ("product", "hotel")
SCHEMA = 1
BACKGROUND_COLOURS = ("white", "light", "neutral")
CARD_FORMATS = ("JPEG", "PNG")
#: Rules of these kinds, in the order a reply lists them.
RULE_ORDER = (
    "min_size",
    "recommended_size",
    "max_side",
    "aspect",
    "formats",
    "colour_space",
    "jpeg_quality",
    "max_file_mb",
    "transparency",
    "background",
    "object_fill",
    "text",
    "banned_words",
    *HOTEL_RULE_ORDER,
)

#: The profiles file is wrong; the message says where.
ProfileError = DataError

_SHARE = number(0.0, 1.0)
#: kind -> its keys -> (checker, default or MISSING)
KINDS: dict[str, dict[str, tuple[Check, Any]]] = {
    "aspect": {"ratio": (ratio, MISSING), "tolerance": (number(0.0, 0.5), 0.02)},
    # portrait: [w, h] for an upright photo, where the platform gives it its own minimum
    "min_size": {
        "width": (pixels, MISSING),
        "height": (pixels, MISSING),
        "portrait": (lambda v, w: v if v is None else _pair(v, w), None),
    },
    "recommended_size": {"width": (pixels, MISSING), "height": (pixels, MISSING)},
    "max_side": {"value": (pixels, MISSING)},
    "max_file_mb": {"value": (number(0.01, 1000.0), MISSING)},
    "formats": {"allowed": (formats, MISSING)},
    "colour_space": {"value": (one_of(("sRGB",)), MISSING)},
    "jpeg_quality": {"min": (quality, MISSING)},
    "transparency": {"allowed": (boolean, MISSING)},
    "background": {"colour": (one_of(BACKGROUND_COLOURS), MISSING), "uniform": (boolean, True)},
    "object_fill": {"min": (_SHARE, MISSING), "max": (_SHARE, MISSING)},
    "text": {"allowed": (boolean, MISSING)},
    "banned_words": {"extra": (words, [])},
    **HOTEL_KINDS,
}
_COMMON: dict[str, tuple[Check, Any]] = {
    "required": (boolean, MISSING),
    "verified": (boolean, MISSING),
    "source": (string, MISSING),
}
_CARD: dict[str, tuple[Check, Any]] = {
    "width": (pixels, MISSING),
    "height": (pixels, MISSING),
    "fill": (number(0.1, 1.0), MISSING),
    "background": (colour, "#ffffff"),
    "format": (one_of(CARD_FORMATS), "JPEG"),
    "quality": (quality, 92),
}
_GALLERY: dict[str, tuple[Check, Any]] = {
    "min_text_px": (pixels, MISSING),
    "verified": (boolean, MISSING),
    "source": (string, MISSING),
}


def _pair(value: Any, where: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise fail(where, f"must be [width, height], not {value!r}")
    return pixels(value[0], where), pixels(value[1], where)


def _rule(rule_id: str, data: Any, where: str) -> Rule:
    if rule_id not in KINDS:
        raise fail(where, f"unknown rule {rule_id!r}; known: {', '.join(KINDS)}")
    values = table(data, where, {**_COMMON, **KINDS[rule_id]})
    common = {key: values.pop(key) for key in _COMMON}
    if rule_id == "object_fill" and values["min"] > values["max"]:
        raise fail(where, f"min {values['min']} is above max {values['max']}")
    return Rule(id=rule_id, params=MappingProxyType(values), **common)


def _check_card(profile: Profile, where: str) -> None:
    """The card "fix" makes must pass the profile's own rules."""
    card = profile.card
    if card is None:
        return
    problems = []
    if (rule := profile.rule("aspect")) is not None:
        w, h = rule["ratio"]
        if abs(card.width * h / (card.height * w) - 1.0) > rule["tolerance"]:
            problems.append(f"is not {w}:{h}")
    for size_rule in ("min_size", "recommended_size"):
        if (rule := profile.rule(size_rule)) is not None and (
            card.width < rule["width"] or card.height < rule["height"]
        ):
            problems.append(f"is below {size_rule} {rule['width']}×{rule['height']}")
    if (rule := profile.rule("max_side")) is not None and max(card.width, card.height) > rule[
        "value"
    ]:
        problems.append(f"exceeds max_side {rule['value']}")
    if (rule := profile.rule("formats")) is not None and card.format not in rule["allowed"]:
        problems.append(f"format {card.format} is not allowed")
    if (rule := profile.rule("object_fill")) is not None and not (
        rule["min"] <= card.fill <= rule["max"]
    ):
        problems.append(f"fill {card.fill} is outside object_fill {rule['min']}..{rule['max']}")
    if card.format == "JPEG" and card.quality < 90:
        problems.append(f"JPEG quality {card.quality} is below 90")
    if problems:
        raise fail(where, f"the card {card.width}×{card.height} " + "; ".join(problems))


def _profile(profile_id: str, data: Any, where: str) -> Profile:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", profile_id):
        raise fail(where, "a profile id is lower-case letters, digits and _")
    spec = {
        "name": (string, MISSING),
        "aliases": (words, []),
        "rules": (anything, MISSING),
        "card": (anything, None),
        "gallery": (anything, None),
        "domain": (one_of(DOMAINS), "product"),
        "photo": (anything, None),
    }
    values = table(data, where, spec)
    domain = values["domain"]
    needs, other = ("card", "photo") if domain == "product" else ("photo", "card")
    if values[needs] is None or values[other] is not None:
        raise fail(where, f"a {domain} profile has a [{needs}] table and no [{other}]")
    rules_data = values["rules"]
    if not isinstance(rules_data, dict) or not rules_data:
        raise fail(f"{where}.rules", "must be a table with at least one rule")
    rules = {rid: _rule(rid, rdata, f"{where}.rules.{rid}") for rid, rdata in rules_data.items()}
    low, high = rules.get("min_size"), rules.get("recommended_size")
    if low and high and (high["width"] < low["width"] or high["height"] < low["height"]):
        raise fail(f"{where}.rules.recommended_size", "is below min_size")
    ordered = {rid: rules[rid] for rid in RULE_ORDER if rid in rules}
    card = photo = None
    if domain == "product":
        card = CardSpec(**table(values["card"], f"{where}.card", _CARD))
    else:
        photo = PhotoSpec(**table(values["photo"], f"{where}.photo", PHOTO_KEYS))
    aliases = tuple(alias.casefold() for alias in values["aliases"])
    gallery = GallerySpec()
    if values["gallery"] is not None:
        gallery = GallerySpec(**table(values["gallery"], f"{where}.gallery", _GALLERY))
        if card is None or gallery.min_text_px * 10 > card.height:
            raise fail(f"{where}.gallery", "min_text_px is above a tenth of the card's height")
    profile = Profile(
        profile_id,
        values["name"],
        aliases,
        MappingProxyType(ordered),
        card,
        gallery,
        domain,
        photo,
    )
    _check_card(profile, f"{where}.card")
    return profile


def _banned(data: Any, where: str) -> BannedLists:
    spec = {
        "source": (string, MISSING),
        "verified": (boolean, MISSING),
        "words": (words, MISSING),
        "patterns": (anything, MISSING),
    }
    values = table(data, where, spec)
    if not isinstance(values["patterns"], dict):
        raise fail(f"{where}.patterns", "must be a table of category = [regex, ...]")
    patterns = []
    for category, regexes in values["patterns"].items():
        patterns.append((category, regexes_(regexes, f"{where}.patterns.{category}")))
    return BannedLists(values["words"], tuple(patterns), values["source"], values["verified"])


def parse_profiles(
    data: Mapping[str, Any], where: str = "profiles.toml", *, banned: BannedLists | None = None
) -> Profiles:
    """Validate the parsed TOML document (exposed for tests of the checks). A file without
    its own [banned] lists (the hotel one) takes `banned`."""
    spec = {
        "schema": (anything, MISSING),
        "default": (string, MISSING),
        "profiles": (anything, MISSING),
        "banned": (anything, MISSING if banned is None else None),
    }
    values = table(dict(data), where, spec)
    if values["schema"] != SCHEMA:
        raise fail(f"{where}: schema", f"this Vitrina reads schema {SCHEMA}")
    if not isinstance(values["profiles"], dict) or not values["profiles"]:
        raise fail(f"{where}: profiles", "must hold at least one profile")
    profiles = {
        pid: _profile(pid, pdata, f"{where}: profiles.{pid}")
        for pid, pdata in values["profiles"].items()
    }
    if values["default"] not in profiles:
        raise fail(f"{where}: default", f"{values['default']!r} is not a profile")
    if values["banned"] is not None:
        banned = _banned(values["banned"], f"{where}: banned")
    assert banned is not None
    domains = {p.domain for p in profiles.values()}
    if len(domains) != 1:
        raise fail(where, "one file holds the profiles of one domain")
    defaults = {domains.pop(): values["default"]}
    return Profiles(values["default"], MappingProxyType(profiles), banned, defaults)


def load_profiles(
    path: Path | str | None = None, hotel_path: Path | str | None = None
) -> Profiles:
    """The marketplace profiles of `path` (the packaged file by default) with the hotel
    platforms' of `hotel_path` (the packaged one by default): parsed once per pair."""
    return _load(
        Path(path).resolve() if path is not None else DEFAULT_PATH,
        Path(hotel_path).resolve() if hotel_path is not None else HOTEL_PATH,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: profiles file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML ({exc})") from None


@lru_cache(maxsize=8)
def _load(path: Path, hotel_path: Path) -> Profiles:
    products = parse_profiles(_read(path), str(path))
    hotels = parse_profiles(_read(hotel_path), str(hotel_path), banned=products.banned)
    clash = set(products.profiles) & set(hotels.profiles)
    if clash:
        raise ProfileError(f"{hotel_path}: profile {sorted(clash)[0]!r} is also a marketplace")
    return Profiles(
        products.default,
        MappingProxyType({**products.profiles, **hotels.profiles}),
        products.banned,
        MappingProxyType({**products.defaults, **hotels.defaults}),
    )
