"""`vitrina`: run the bot, process files without Telegram, manage weights, serve jobs.

One module per command (`run`, `doctor`, `process`, `weights`, `worker`), each with `add_parser()`
and `run()`. Their modules import only argparse-level names at the top: what a command
needs (aiogram, the service layer, taskiq) is imported when that command runs, so that
`vitrina worker` on a GPU machine never loads aiogram or a handler.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.cli import doctor, process, run, weights, worker
from bot.cli.console import say
from bot.settings import SettingsError, load_settings
from services.errors import BackendUnreachable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitrina", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run.add_parser(sub)
    doctor.add_parser(sub)
    process.add_parser(sub)
    weights.add_parser(sub)
    worker.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run.run()
    if args.command == "doctor":  # reads the settings itself: a bad one is a finding
        return doctor.run(args)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level,
            stream=sys.stderr,
            format="%(levelname)s %(name)s: %(message)s",
        )
        if args.command == "weights":
            return weights.run(args, settings)
        if args.command == "worker":
            return worker.run(args, settings)
        return process.run(args, settings)
    except (SettingsError, FileNotFoundError, BackendUnreachable) as exc:
        say(f"vitrina: {exc}")
        return 2
