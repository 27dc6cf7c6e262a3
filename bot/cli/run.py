"""`vitrina run`: the bot itself, the same as `python -m bot`."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub.add_parser("run", help="run the bot (same as python -m bot)")


def run() -> int:
    from bot.__main__ import run as run_bot  # aiogram and every handler: only here

    return run_bot([])
