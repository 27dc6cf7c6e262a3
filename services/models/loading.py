"""How a model load happens in this process, shared by the model classes, the converted
runtimes and the conversions, none of which needs the others for it.

``LOADING``: one model load at a time in a process. transformers and diffusers build a model
on the meta device through process-wide switches, so two loads at once in two threads corrupt
each other ("Cannot copy out of meta tensor"). Conversions take it too.

``LoadGate``: what a ``ResidentModel`` asks before each load (``ModelResidency`` in
residency.py is the one there is); a protocol, so resident.py and residency.py do not import
each other.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any, Protocol

LOADING = threading.RLock()


class LoadGate(Protocol):
    def loading(self, model: Any) -> AbstractContextManager[None]:
        """Held around one model's load: makes room before it, checks the budget after."""
        ...
