"""/check, /clean and /fix: the marketplace check with real OCR, the text around the product
removed, and the photo made compliant for a profile (services/operations/check.py, clean.py,
fix.py). Which profile a job uses: bot/check_requests.py."""

from __future__ import annotations

import argparse
from typing import Any

from bot import check_rendering, hotel_rendering
from bot.command_parsing import ParsedCommand, parse_profile
from bot.ops.spec import CliFlag, OpSpec, SetAction
from bot.settings import SettingsError
from services.operations import Op

#: `/clean all`: the text on the product goes too
EVERYTHING_WORDS = ("all", "everything", "всё", "все", "везде")


def fix_caption(facts: dict[str, Any], lang: str) -> str:
    """A fixed card's caption, or a room photo's fixed for a hotel platform."""
    if facts.get("domain") == "hotel":
        return hotel_rendering.room_fix_caption(facts, lang)
    return check_rendering.fix_caption(facts, lang)


def parse_marketplace(op: Op, args: str) -> ParsedCommand:
    """`/check [wb|ozon|ym|generic|вб|озон|ям...]`; bare: the user's own profile."""
    if not args:
        return ParsedCommand(op)
    profile = parse_profile(args)
    if profile is None:
        return ParsedCommand(op, {"value": args[:100]}, problem="check.bad_profile")
    return ParsedCommand(op, {"profile": profile})


def parse_clean(op: Op, args: str) -> ParsedCommand:
    """`/clean` (the text around the product) or `/clean all` (on the product too)."""
    if not args:
        return ParsedCommand(op)
    if args.lower() in EVERYTHING_WORDS:
        return ParsedCommand(op, {"all": True})
    return ParsedCommand(op, {"value": args[:100]}, problem="clean.bad")


def _add_check_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        nargs="?",
        const="",
        metavar="P",
        help="check each photo for a marketplace or hotel site P (wb, ozon, ym, generic; "
        "booking, ostrovok, vrbo, expedia, tripadvisor, airbnb, hotel; default: the "
        "--domain's first): OUT/check.csv",
    )
    parser.add_argument("--profile", metavar="P", help="--check's profile (as --check P)")
    parser.add_argument(
        "--fix", metavar="P", help="fix each photo for marketplace P: OUT/<name>-fix-<P>.jpg"
    )


def _check_params(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.check is None:
        if args.profile:
            raise SettingsError("--profile goes with --check (e.g. --check ozon)")
        return None
    if args.check and args.profile and args.check != args.profile:
        raise SettingsError("say the profile once: --check P or --profile P")
    name = args.check or args.profile
    return {"profile": profile_flag("--check", name, getattr(args, "domain", None))}


def _add_clean_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clean",
        nargs="?",
        const="around",
        choices=("around", "all"),
        help="remove the text around the product (--clean all: on it too): OUT/<name>-clean.png",
    )


def _clean_params(args: argparse.Namespace) -> dict[str, Any] | None:
    if not args.clean:
        return None
    return {"all": True} if args.clean == "all" else {}


def _fix_params(args: argparse.Namespace) -> dict[str, Any] | None:
    return {"profile": profile_flag("--fix", args.fix)} if args.fix else None


def profile_flag(
    flag: str, name: str | None, domain: str | None = None, *, only: str | None = None
) -> str:
    """A profile's id from a flag's value (an id or an alias; None: the `domain`'s
    default); `only`: a domain whose profiles alone are taken (a gallery: marketplaces);
    SettingsError naming the known ones otherwise."""
    from services.marketplace.profiles import load_profiles

    if not name:
        return load_profiles().default_for(only or domain)
    found = parse_profile(name, only)
    if found is None:
        profiles = load_profiles()
        known = ", ".join(profiles.of_domain(only) if only else profiles.profiles)
        raise SettingsError(f"{flag}: unknown marketplace or hotel site {name!r}; known: {known}")
    return found


SPECS = (
    OpSpec(
        Op.CHECK,
        label_key="op.check",
        commands=("check",),
        menu_key="menu.check",
        help_key="help.check",
        parse=parse_marketplace,
        takes_profile=True,
        remembers_profile=True,
        photo_button=7,
        profile_buttons=True,
        set_actions=(SetAction("check", label_key="op.check", position=7, op=Op.CHECK),),
        cli=CliFlag(_add_check_flags, _check_params),
    ),
    OpSpec(
        Op.CLEAN,
        label_key="op.clean",
        commands=("clean",),
        menu_key="menu.clean",
        help_key="help.clean",
        parse=parse_clean,
        caption=check_rendering.clean_caption,
        cli=CliFlag(_add_clean_flag, _clean_params),
    ),
    OpSpec(
        Op.FIX,
        label_key="op.fix",
        commands=("fix",),
        menu_key="menu.fix",
        help_key="help.fix",
        parse=parse_marketplace,
        takes_profile=True,
        caption=fix_caption,
        publishable=True,
        set_actions=(SetAction("fix", label_key="op.fix", position=8, op=Op.FIX),),
        cli=CliFlag(lambda parser: None, _fix_params),  # --fix P: added with --check
    ),
)
