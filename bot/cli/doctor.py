"""`vitrina doctor`: what works on this machine, one line per check, and whether the bot can
start (exit 0) or not (exit 1). The first thing to run when `make run` fails.

✓ works, ✗ does not (with the command or setting that fixes it), – not checked or not used.
Missing weights do not stop the bot (those features answer "unavailable"); bad settings, a
missing or rejected BOT_TOKEN, an unreachable Redis (SERVICE_BACKEND=redis://) or a database
folder that cannot be written do. `--offline` skips the checks that need the internet.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from bot.cli import doctor_checks as checks
from bot.cli.doctor_checks import BAD, Line


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    doctor = sub.add_parser("doctor", help="check this machine: what works, what to fix")
    doctor.add_argument(
        "--offline", action="store_true", help="skip Telegram and OpenAI (no network)"
    )
    doctor.add_argument("--timeout", type=float, default=3.0, help="seconds per network check")


def run(args: argparse.Namespace) -> int:
    """Every check, one line each; 1 when the bot cannot start. The project's own log lines
    are held back meanwhile (the lines say it all) and let through again after."""
    logger = logging.getLogger("vitrina")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return _run(args)
    finally:
        logger.setLevel(level)


def _run(args: argparse.Namespace) -> int:
    from bot.settings import SettingsError, load_settings

    out: list[Line] = [checks.python_line()]
    try:
        settings = load_settings()
    except SettingsError as exc:
        out.append(Line(BAD, "settings", f"{exc}; fix it in env/.env (or the environment)", True))
        return _report(out)
    out.append(Line(checks.OK, "settings", "read (env/.env, then the environment)"))
    online = not args.offline
    steps: list[Callable[[], Line | list[Line]]] = [
        lambda: checks.torch_lines(settings),
        lambda: checks.feature_lines(settings),
        checks.tesseract_line,
        checks.fonts_line,
        checks.gallery_fonts_line,
        lambda: checks.bot_token_line(settings, online, args.timeout),
        lambda: checks.redis_line(settings, args.timeout),
        lambda: checks.openai_line(settings, online, args.timeout),
        lambda: checks.secret_key_line(settings),
        lambda: checks.storage_lines(settings),
    ]
    for step in steps:
        try:
            found = step()
        except Exception as exc:  # a check that breaks is a finding, never a traceback
            found = Line(BAD, getattr(step, "__name__", "check"), f"check failed: {exc}")
        out.extend(found if isinstance(found, list) else [found])
    return _report(out)


def _report(lines: list[Line]) -> int:
    for line in lines:
        _say(str(line) + (" (the bot cannot start)" if line.blocks else ""))
    blocking = [line.name for line in lines if line.blocks]
    if blocking:
        _say(f"vitrina doctor: the bot cannot start: fix {', '.join(blocking)}")
        return 1
    unavailable = sum(1 for line in lines if line.mark == BAD and line.name.startswith("feat"))
    tail = f" ({unavailable} feature(s) unavailable until their weights are there)"
    _say("vitrina doctor: the bot can start" + (tail if unavailable else ""))
    return 0


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
