"""`python -m bot`: run the bot (long polling, or a webhook with WEBHOOK_URL)."""

from __future__ import annotations

import asyncio
import sys

from bot.app import Application
from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, load_settings
from services.errors import BackendUnreachable
from services.worker.redis_url import password


async def main(settings: Settings) -> None:
    await Application(settings).run(freeze_heap=True)


def run(argv: list[str] | None = None) -> int:
    """Exit codes: 0 after a clean stop, 2 for a configuration error (one line, no traceback).

    `--check` only validates the settings (make run does that before fetching weights).
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        settings = load_settings()
        settings.require_bot_token()
    except SettingsError as exc:
        sys.stderr.write(f"vitrina: {exc}\n")
        return 2
    if "--check" in args:
        return 0
    secrets = [
        settings.bot_token.get(),
        settings.openai_api_key.get(),
        settings.webhook_secret.get(),
    ]
    setup_logging(settings.log_level, [*secrets, password(settings.service_backend)])
    try:
        asyncio.run(main(settings))
    except (SettingsError, BackendUnreachable) as exc:
        sys.stderr.write(f"vitrina: {exc}\n")
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(run())
