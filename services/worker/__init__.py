"""The model worker: where operations run, in a thread of the bot or in a process of its own.

`runner.BatchRunner` is the loop that owns the models (one thread, the only one that touches
the device). `ThreadEngine` runs it in a thread of this process; `ProcessEngine` runs it in a
spawned process and speaks to it over a pipe, so the denoising loop's Python work never
competes with the bot's event loop for the GIL. Both give `ModelServices` one contract:
run a batch (with progress and cancel), call an operation's declared worker calls, warm up,
stop.
"""

from services.worker.engine import Engine, WorkerDied
from services.worker.messages import LANE_DIFFUSION, LANE_QUICK

__all__ = ["LANE_DIFFUSION", "LANE_QUICK", "Engine", "WorkerDied"]
