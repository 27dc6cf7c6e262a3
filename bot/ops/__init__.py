"""The registry of operations as the bot shows them: one `OpSpec` per `Op`, from the modules
of this package. Everything that lists operations is built here from the specs: the
commands and their parsing, the photo keyboard's and a set's buttons, the menu and /help,
the params a user's settings fill in, the caption of a picture, the follow-up buttons and
the `vitrina process` flags. A new operation adds its module's spec to `SPECS`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.command_parsing import ParsedCommand
from bot.ops import background, describe, edits, gallery, hotel, library, marketplace, tag
from bot.ops.spec import (
    ASK,
    MENU,
    RUN,
    SPLIT,
    CliFlag,
    FollowUp,
    OpSpec,
    SetAction,
)
from bot.texts import t
from services.operations import Op

if TYPE_CHECKING:
    from bot.storage import User
    from services.config import ServiceConfig

#: every operation's spec, in the order of the menu and of /help
SPECS: tuple[OpSpec, ...] = (
    tag.SPEC,
    *edits.SPECS,
    background.SPEC,
    describe.SPEC,
    *marketplace.SPECS,
    gallery.SPEC,
    *hotel.SPECS,
    *library.SPECS,
)
BY_OP: dict[str, OpSpec] = {spec.op: spec for spec in SPECS}

#: command word -> the photo operation it runs (/find and /groups: handlers/library.py)
COMMAND_OPS: dict[str, Op] = {
    word: spec.op for spec in SPECS if not spec.library for word in spec.commands
}
#: the photo keyboard: every op with a button, in the order of its buttons
PHOTO_ACTIONS: tuple[OpSpec, ...] = tuple(
    sorted((s for s in SPECS if s.photo_button is not None), key=lambda s: s.photo_button or 0)
)
#: a set's keyboard: what can be done to all of its photos at once (rows of three)
SET_ACTIONS: tuple[SetAction, ...] = (
    *sorted((a for s in SPECS for a in s.set_actions), key=lambda action: action.position),
    SetAction("split", label_key="set.button.split", position=99, op=None, step=SPLIT),
)
ACTIONS_BY_KEY: dict[str, SetAction] = {action.key: action for action in SET_ACTIONS}
#: the bot's own commands in the menu after the operations', with their menu lines
OTHER_COMMANDS_KEYS = {
    "history": "menu.history",
    "settings": "menu.settings",
    "delete": "menu.delete",
    "all": "menu.all",
    "domain": "menu.domain",
    "connect": "menu.connect",
    "publish": "menu.publish",
    "disconnect": "menu.disconnect",
    "forget_me": "menu.forget_me",
    "help": "menu.help",
}


def spec_of(op: str) -> OpSpec | None:
    """The spec of `op` (None: an op this build does not have, e.g. a job of an old one)."""
    return BY_OP.get(op)


def op_label(lang: str, op: str) -> str:
    """An operation's name for the user (its id for an op this build has no name for)."""
    spec = BY_OP.get(op)
    return t(lang, spec.label_key) if spec else op


def parse_command(name: str, args: str) -> ParsedCommand | None:
    """Turn a photo command into its operation and params; None for other commands."""
    op = COMMAND_OPS.get(name)
    return None if op is None else BY_OP[op].parse(op, args)


def menu_commands() -> list[tuple[str, str]]:
    """(command, catalog key of its line) for Telegram's menu: the operations, then the rest."""
    ops = [(spec.commands[0], spec.menu_key) for spec in SPECS if spec.menu_key]
    return [*ops, *OTHER_COMMANDS_KEYS.items()]


def help_text(lang: str, domain: str) -> str:
    """/help: what each operation does, in the registry's order, then the rest."""
    lines = [t(lang, spec.help_key) for spec in SPECS if spec.help_key]
    return "\n".join([t(lang, "help.head"), *lines, t(lang, "help.tail", domain=domain)])


def job_params(
    op: str, params: Mapping[str, Any], user: User | None, config: ServiceConfig
) -> dict[str, Any]:
    """A job's params with the user's settings filled in where the request did not say."""
    filled = dict(params)
    spec = BY_OP.get(op)
    return filled if user is None or spec is None else spec.fill_params(filled, user, config)


def with_domain(op: str, params: Mapping[str, Any], domain: str) -> dict[str, Any]:
    """The params with the user's domain where the op takes one and the request named none."""
    done = dict(params)
    spec = BY_OP.get(op)
    if spec is not None and spec.takes_domain:
        done.setdefault("domain", domain)
    return done


def with_one_seed(op: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """One seed for every photo of a set's run where the op draws one per photo, so the
    results look like one catalogue (backgrounds are seeded 0 unless asked)."""
    done = dict(params)
    spec = BY_OP.get(op)
    if spec is not None and spec.seed_per_set:
        done.setdefault("seed", secrets.randbelow(2**31))
    return done


def caption(op: str, facts: dict[str, Any], lang: str) -> str:
    """The caption under an op's picture (the plain one for an op without its own)."""
    spec = BY_OP.get(op)
    if spec is not None and spec.caption is not None:
        return spec.caption(facts, lang)
    return t(lang, "result.image", op=op_label(lang, op))


def again(op: str, params: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The same job with a new seed (Again, under every picture)."""
    return op, {**params, "seed": secrets.randbelow(2**31)}


def follow_up(op: str, action: str) -> FollowUp | None:
    """What a button under an op's result asks for (None: the op has no such button)."""
    if action == "again":
        return again
    spec = BY_OP.get(op)
    return spec.follow_ups.get(action) if spec is not None else None


__all__ = [
    "ACTIONS_BY_KEY",
    "ASK",
    "BY_OP",
    "COMMAND_OPS",
    "MENU",
    "PHOTO_ACTIONS",
    "RUN",
    "SET_ACTIONS",
    "SPECS",
    "SPLIT",
    "CliFlag",
    "OpSpec",
    "SetAction",
    "caption",
    "follow_up",
    "help_text",
    "job_params",
    "menu_commands",
    "op_label",
    "parse_command",
    "spec_of",
    "with_domain",
    "with_one_seed",
]
