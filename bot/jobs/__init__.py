"""The bot's side of a job: stored row, progress message, result message.

`runner.py` takes a request (or answers it from the cache) and queues it, `tasks.py` keeps
a task per job (Cancel, shutdown), `progress.py` follows it to its end, `delivery.py` sends
what the user sees.
"""

from __future__ import annotations

from bot.jobs.runner import JobRunner

__all__ = ["JobRunner"]
