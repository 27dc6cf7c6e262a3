"""What every `vitrina` command shares: one line at a time for the operator, on stderr."""

from __future__ import annotations

import sys


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
