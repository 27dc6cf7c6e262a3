"""The set's keyboard: ONE list of what can be done to every photo of a set at once.

An action names an operation (`Op`) and its fixed params, and what happens when its button
is pressed: the run starts at once ("run"), a background is picked first ("menu": the
colour/preset menu, its choice added to the params), the edit instruction is asked for
("ask"), or the set is split into its photos ("split"). Whatever the op, the run is the
same (`bot/sets/runner.py`: any op with its params over every photo). A new operation for
sets is one line here (and its button text in `SET_BUTTON_KEYS`), as Check and Fix (the
marketplace check of every photo, and every photo made compliant, for the user's profile).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.operations import EDIT_OPS, Op

RUN, MENU, ASK, SPLIT = "run", "menu", "ask", "split"


@dataclass(frozen=True)
class SetAction:
    key: str  # the button's callback value
    op: Op | None  # None: not an operation (Split)
    params: Mapping[str, Any] = field(default_factory=dict)
    step: str = RUN


#: the set keyboard, in the order of its buttons (rows of three)
SET_ACTIONS: tuple[SetAction, ...] = (
    SetAction("tag", Op.TAG),
    SetAction("background", Op.BACKGROUND, step=MENU),
    SetAction("card", Op.BACKGROUND, {"card": "3:4"}, step=MENU),
    SetAction("night", Op.NIGHT),
    SetAction("edit", Op.EDIT, step=ASK),
    SetAction("describe", Op.DESCRIBE),
    SetAction("check", Op.CHECK),
    SetAction("fix", Op.FIX),
    SetAction("split", None, step=SPLIT),
)
ACTIONS_BY_KEY = {action.key: action for action in SET_ACTIONS}


def with_domain(op: str, params: Mapping[str, Any], domain: str) -> dict[str, Any]:
    """The job params the one-job runner would complete too (the user's vocabulary)."""
    done = dict(params)
    if op in (Op.TAG, Op.DESCRIBE):
        done.setdefault("domain", domain)
    return done


def with_one_seed(op: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """One seed for every photo of the set's edits, so the results look like one catalogue
    (an edit without one draws a seed per photo; backgrounds are seeded 0 unless asked)."""
    done = dict(params)
    if op in EDIT_OPS:
        done.setdefault("seed", secrets.randbelow(2**31))
    return done
