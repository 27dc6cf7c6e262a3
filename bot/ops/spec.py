"""`OpSpec`: everything the bot says and does about one operation, in one declaration.

In the spirit of diffusers' pipeline mapping and LitServe's one-class contract: the service
module (`services/operations/<op>.py`) runs it; its spec (one module of `bot/ops/`) says how a
user reaches it and what they see: the command words and their parser, the user settings
that fill its params, its buttons (under a photo, under its result, on a set's message), the
caption of its picture, its line in the menu and in /help, and its `vitrina process` flag.
The menu, the keyboards, /help, /all and the CLI are built from the registry
(`bot/ops/__init__.py`); a test fails on an `Op` without a complete spec.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.command_parsing import ParsedCommand
from services.operations import Op

if TYPE_CHECKING:
    from bot.storage import Photo, Storage, User
    from services.config import ServiceConfig

#: what a button does before the job runs: start it, open the background menu, ask for the
#: instruction (an edit), or split the set into its photos (not an operation)
RUN, MENU, ASK, SPLIT = "run", "menu", "ask", "split"

#: (op, args after the command) -> the job's params or what is wrong with them
Parser = Callable[[Op, str], ParsedCommand]
#: (params the request named, the user's row, the service settings) -> the job's params
ParamFiller = Callable[[dict[str, Any], "User | None", "ServiceConfig"], dict[str, Any]]
#: (storage, the photo, the job's params) -> the params with what the request left out found
#: in storage (e.g. /gallery's text from the photo's caption or its description)
Preparer = Callable[["Storage", "Photo", dict[str, Any]], Awaitable[dict[str, Any]]]
#: the stored facts of an image result -> its caption, in `lang`
CaptionRenderer = Callable[[dict[str, Any], str], str]
#: a button under a result -> the job it asks for: (op, job params, result facts) -> (op,
#: params); None = nothing to ask for (the button answers "nothing found")
FollowUp = Callable[[str, dict[str, Any], dict[str, Any]], tuple[str, dict[str, Any]] | None]


def no_arguments(op: Op, args: str) -> ParsedCommand:
    """An operation that takes nothing after its command (anything there is ignored)."""
    return ParsedCommand(op)


def as_asked(params: dict[str, Any], user: User | None, config: ServiceConfig) -> dict[str, Any]:
    """No user setting applies: the params as the request named them."""
    return params


@dataclass(frozen=True)
class SetAction:
    """One button of a set's message: its op and fixed params over every photo."""

    key: str  # the button's callback value
    label_key: str  # its label in the catalogs
    position: int  # its place on the keyboard (rows of three)
    op: Op | None  # None: not an operation (Split)
    params: Mapping[str, Any] = field(default_factory=dict)
    step: str = RUN
    #: the users whose sets show it (a seller's card background, a hotelier's order)
    domains: tuple[str, ...] = ("product", "hotel")


@dataclass(frozen=True)
class CliFlag:
    """The op's flags of `vitrina process`: `add` puts them on the parser, `params` reads
    them back as the job's params (None: not asked for; SettingsError: a wrong value)."""

    add: Callable[[argparse.ArgumentParser], None]
    params: Callable[[argparse.Namespace], dict[str, Any] | None]
    #: each file's own params (e.g. a gallery's text from --texts), from the op's
    file_params: Callable[[argparse.Namespace, Path, dict[str, Any]], dict[str, Any]] | None = None
    #: writes a result that is not one picture (a gallery's slides): (result, the input
    #: file, OUT) -> the row's "output", "kind" and "result"
    save: Callable[[Any, Path, Path], dict[str, Any]] | None = None
    #: after every file: (the run's rows, OUT) -> its files over all of them (--order)
    finish: Callable[[list[dict[str, Any]], Path], Awaitable[None]] | None = None


@dataclass(frozen=True)
class OpSpec:
    op: Op
    #: its name on buttons, in progress messages and summaries (a catalog key)
    label_key: str
    #: the commands that run it (the first is the menu's); () = none of its own
    commands: tuple[str, ...] = ()
    #: its line in Telegram's command menu and its part of /help (catalog keys; None: none)
    menu_key: str | None = None
    help_key: str | None = None
    #: on the user's library (/find, /groups), not on one photo: no photo command runs it
    library: bool = False
    parse: Parser = no_arguments
    fill_params: ParamFiller = as_asked
    #: the job takes the user's domain (product or hotel vocabulary) unless it names one
    takes_domain: bool = False
    #: the job names a marketplace profile (the user's when none is asked); `remembers`:
    #: its profile becomes the user's
    takes_profile: bool = False
    remembers_profile: bool = False
    #: the domains whose profiles it takes (a gallery: marketplaces only, even for a
    #: hotelier); the user's domain when it is one of them, else the first
    profile_domains: tuple[str, ...] = ("product", "hotel")
    #: one seed for every photo of a set's run (an edit draws one per photo otherwise)
    seed_per_set: bool = False
    #: its place on the photo keyboard (None: no button) and what the button does first
    photo_button: int | None = None
    photo_step: str = RUN
    #: buttons under its picture after Again and Full size, and under its text result
    image_buttons: tuple[str, ...] = ()
    text_buttons: tuple[str, ...] = ()
    #: under its text result: Clean / Fix / Background and a row of marketplace profiles
    profile_buttons: bool = False
    #: its image result is listing material: a "To Wildberries" button under it (/publish)
    publishable: bool = False
    #: what its own result buttons ask for (ResultAction.action -> the next job)
    follow_ups: Mapping[str, FollowUp] = field(default_factory=dict)
    #: the caption under its picture (None: the plain "done" caption)
    caption: CaptionRenderer | None = None
    set_actions: tuple[SetAction, ...] = ()
    cli: CliFlag | None = None
    #: run before a job is made (the runner, a set's feeder): fills params from storage
    prepare: Preparer | None = None
    #: a param a single request cannot go without: when `prepare` leaves it empty, the
    #: runner asks the user for it (bot/prompts.py, `question_key`) and queues nothing
    asks_for: str | None = None
    question_key: str | None = None
