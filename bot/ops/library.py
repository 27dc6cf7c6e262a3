"""/find and /groups: the user's whole library, not one photo (services/operations/
library.py); their commands and views live in handlers/library.py and bot/library/."""

from __future__ import annotations

from bot.ops.spec import OpSpec
from services.operations import Op

SPECS = (
    OpSpec(Op.FIND, label_key="op.find", commands=("find",), menu_key="menu.find", library=True),
    OpSpec(
        Op.GROUP, label_key="op.group", commands=("groups",), menu_key="menu.groups", library=True
    ),
)
