"""`ProcessEngine`: the model worker in a spawned process of its own.

Why: the denoising loop's Python work and torch's imports hold the GIL; in a thread of the
bot they stall the event loop (issue 9 measured 360 ms answers). In its own process the
worker competes for CPU, never for the bot's GIL.

Orders go down a pipe through one sender thread (ordered, never blocking the loop); one
reader thread turns what comes back into events on the loop. If the process dies (a crash,
the OOM killer, `kill -9`), the reader sees the pipe close: whatever was in flight fails
with `WorkerDied`, a new process starts, and the bot goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from services.config import ServiceConfig
from services.errors import ServiceError
from services.operations import OperationSet
from services.worker.engine import Engine, WorkerDied
from services.worker.messages import BatchDone, CallDone, Event, Order, Shutdown, WarmUp
from services.worker.runner import BatchRunner

log = logging.getLogger("vitrina.worker")
if TYPE_CHECKING:
    from services.models.residency import ModelResidency

#: Builds the operations (with the worker's residency; None: its own), also inside the
#: worker process: a module-level function (picklable), e.g. `wiring.default_operations`.
OperationsFactory = Callable[[ServiceConfig, "ModelResidency | None"], OperationSet]
RESTART_LIMIT = 20  # deaths in a row before the engine gives up restarting
WORKER_NICENESS = 10  # the worker process's CPU priority below the bot's


class ProcessEngine(Engine):
    kind = "process"

    def __init__(self, factory: OperationsFactory, config: ServiceConfig) -> None:
        super().__init__()
        self.factory = factory
        self.config = config
        self.process: multiprocessing.process.BaseProcess | None = None
        self.restarts = 0
        self._conn: Connection | None = None
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-pipe")
        self._stopping = False
        self._warm: tuple[str, ...] = ()
        self._generation = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        await super().start()
        if self.process is None:
            await asyncio.to_thread(self._spawn)

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        parent, child = context.Pipe()
        process = context.Process(
            target=worker_main,
            args=(child, self.factory, self.config, logging.getLogger().getEffectiveLevel()),
            name="vitrina-model-worker",
            daemon=True,
        )
        process.start()
        child.close()  # the child's end lives in the child only: its death closes the pipe
        self._generation += 1
        self.process, self._conn = process, parent
        threading.Thread(
            target=self._read,
            args=(parent, self._generation),
            name="worker-events",
            daemon=True,
        ).start()
        log.info("model worker process %s started", process.pid)
        if self._warm:
            self._send(WarmUp(self._warm))

    def warm_up(self, ops: Sequence[str]) -> None:
        self._warm = tuple(ops)  # a restarted worker warms the same models again
        super().warm_up(ops)

    def _send(self, order: Order) -> None:
        conn = self._conn
        if conn is None:
            raise ServiceError("the model worker has stopped")

        def send() -> None:
            with contextlib.suppress(OSError, ValueError):  # a dead worker: the reader reports
                conn.send(order)

        self._sender.submit(send)

    def _read(self, conn: Connection, generation: int) -> None:
        """The reader thread: events to the loop until the pipe closes."""
        while True:
            try:
                event = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # an event that does not unpickle here: fail its job only
                log.exception("an event from the model worker could not be read")
                continue
            self._emit_threadsafe(event)
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_exit, generation)

    def _on_exit(self, generation: int) -> None:
        if generation != self._generation or self._stopping:
            return
        process = self.process
        if process is not None:
            process.join(0)  # reap it without blocking the loop (the pipe closed: it is gone)
        code = process.exitcode if process is not None else None
        log.error("the model worker process died (exit code %s); starting a new one", code)
        self._fail_all(WorkerDied(f"the model worker process died (exit code {code})"))
        self.process, self._conn = None, None
        self.restarts += 1
        if self.restarts > RESTART_LIMIT:
            log.error("the model worker died %d times; not restarting it", self.restarts)
            return
        self._spawn()

    async def stop(self, wait_s: float) -> None:
        self._stopping = True
        process, conn = self.process, self._conn
        if process is None or conn is None:
            return
        self._send(Shutdown())
        await asyncio.to_thread(process.join, wait_s)
        if process.is_alive():
            log.warning("the model worker did not stop within %.0fs; killing it", wait_s)
            process.kill()
            await asyncio.to_thread(process.join, 5)
        self._fail_all(ServiceError("the model worker has stopped"))
        self.process, self._conn = None, None
        self._sender.shutdown(wait=False)
        conn.close()


# ---- the worker process


def worker_main(
    conn: Connection, factory: OperationsFactory, config: ServiceConfig, log_level: int
) -> None:
    """Entry point of the worker process: build the operations, serve orders until told to
    stop or until the bot's end of the pipe closes (the bot died: so does its worker)."""
    # The bot decides when its worker stops (a Shutdown after the grace period), so a
    # Ctrl-C or a SIGTERM sent to the whole process group must not cut a job short here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s %(name)s[worker]: %(message)s"
    )
    _limit_threads(config)
    _yield_cpu_to_the_bot()
    send_lock = threading.Lock()

    def emit(event: Event) -> None:
        with send_lock:
            try:
                conn.send(event)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                conn.send(_picklable(event, exc))
            except (OSError, ValueError):  # the bot is gone
                os._exit(0)

    runner = BatchRunner(factory(config, None), emit)

    def read() -> None:
        while True:
            try:
                order = conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the bot died: nobody is left to deliver results to
            runner.submit(order)
            if isinstance(order, Shutdown):
                return

    threading.Thread(target=read, name="worker-orders", daemon=True).start()
    runner.serve()


def _yield_cpu_to_the_bot() -> None:
    """Run the models at a lower CPU priority than the bot (nice +WORKER_NICENESS): on a
    busy CPU box the scheduler then always gives the bot's answers the core first, and the
    models take whatever is left (a GPU worker barely uses the CPU either way)."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)


def _limit_threads(config: ServiceConfig) -> None:
    """On CPU, leave the bot's process a core: torch would otherwise take them all and the
    bot's answers would queue behind the worker for CPU time (WORKER_THREADS overrides)."""
    threads = config.worker_threads
    if not threads and config.device.startswith("cpu"):
        if os.environ.get("OMP_NUM_THREADS"):
            return  # the operator chose
        threads = max(1, (os.cpu_count() or 2) - 1)
    if threads:
        import torch

        torch.set_num_threads(threads)
        logging.getLogger("vitrina.worker").info("torch uses %d CPU threads", threads)


def _picklable(event: Event, error: Exception) -> Event:
    """An outcome that cannot cross the pipe becomes a plain error for its job."""

    def plain(value: Any) -> Any:
        try:
            pickle.dumps(value)
        except Exception:
            return ServiceError(f"unpicklable result {type(value).__name__}: {error}")
        return value

    if isinstance(event, BatchDone):
        return BatchDone(event.batch_id, [plain(v) for v in event.outcomes], event.run_s)
    if isinstance(event, CallDone):
        return CallDone(event.call_id, error=ServiceError(f"unpicklable result: {error}"))
    return event
