"""`python -m bot.cli ...`: the same as `vitrina ...` (tests start workers this way)."""

from __future__ import annotations

import sys

from bot.cli import main

sys.exit(main())
