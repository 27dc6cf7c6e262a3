"""`SetRunner`: one action for all the photos of a set, as one request.

Any operation with its params (and one seed for edits) runs over every photo, in passes fed
to the fair queue progressively (`feeding.py`): a catalogue card first measures every cut
and then lays every card out with one scale (services/catalogue.py). One progress message
for the set («7/18») with one Cancel; image results go out as albums of up to 10 as they
come, then the summary of text results and the ZIP (`delivery.py`). A run's state is in
SQLite (`set_runs`, `set_items` and their jobs), so after a restart only the unfinished
photos are processed and the ZIP is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Any

from aiogram import Bot
from aiogram.types import ReplyParameters

from bot import keyboards
from bot.alerts import AdminAlerts
from bot.jobs.delivery import SEND_ERRORS, Delivery
from bot.sets.actions import with_domain, with_one_seed
from bot.sets.archive import item_names
from bot.sets.delivery import ALBUM_SIZE, Outcome, SetDelivery
from bot.sets.feeding import Feeder, RunState, Settlement
from bot.sets.throttle import Throttle
from bot.storage import FINISHED, JobStatus, PhotoSet, RunStatus, SetItem, SetRun, Storage, User
from bot.texts import MISSING_MODEL_KEYS, op_label, t
from services.catalogue import measure_params, needs_measure, shared_params
from services.results import ObjectMeasure
from services.scheduler import ModelServices

log = logging.getLogger("vitrina.bot")
#: the state of a run -> the text of its progress message
PROGRESS_KEYS = {
    "running": "set.progress",
    "measuring": "set.measuring",
    "resumed": "set.resumed",
    "done": "set.done",
    "cancelled": "set.cancelled",
}


class SetRunner:
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        services: ModelServices,
        alerts: AdminAlerts,
        delivery: Delivery,
        progress_interval_s: float = 1.0,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.services = services
        self.alerts = alerts
        self.feeder = Feeder(storage, services, delivery, alerts)
        self.sender = SetDelivery(bot, storage)
        self.interval = progress_interval_s
        self._states: dict[int, RunState] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}

    # ---- entry points

    async def start(
        self, photo_set: PhotoSet, *, user: User, lang: str, op: str, params: dict[str, Any]
    ) -> SetRun | None:
        """Run `op` with `params` over every photo of the set; None if it cannot start."""
        members = await self.storage.set_members(photo_set.id)
        if not members:
            await self._say(photo_set.chat_id, t(lang, "set.gone"), photo_set.message_id)
            return None
        params = with_one_seed(op, with_domain(op, params, user.domain))
        missing = self.services.missing_weights_for(op, params)
        if missing != []:
            await self._refuse(photo_set, op, missing, lang)
            return None
        names = item_names([name for _, name in members])
        items = [(photo.id, name) for (photo, _), name in zip(members, names, strict=True)]
        run = await self.storage.create_run(photo_set, op, params, items)
        log.info("set %s: run %s of %s over %d photos", photo_set.id, run.id, op, len(items))
        self._launch(run, lang, photo_set.message_id, resumed=False)
        return run

    async def resume_unfinished(self) -> int:
        """Runs a stop or a crash interrupted: their unfinished photos are processed, what
        was not sent is sent (the ZIP once). Returns how many runs go on."""
        runs = await self.storage.unfinished_runs()
        for run in runs:
            user = await self.storage.get_user(run.user_id)
            photo_set = await self.storage.get_set(run.set_id)
            reply_to = photo_set.message_id if photo_set is not None else None
            self._launch(run, user.language if user else "ru", reply_to, resumed=True)
        return len(runs)

    async def cancel(self, run_id: int, user_id: int) -> bool:
        """Cancel: the photos not done yet are not processed; what is done is still sent."""
        state = self._states.get(run_id)
        if state is None or state.run.user_id != user_id or state.cancelled:
            return False
        state.cancelled = True
        for handle in list(state.handles):
            handle.cancel()
        await self.storage.set_run_status(run_id, RunStatus.CANCELLED)
        return True

    async def cancel_user(self, user_id: int, timeout: float = 10.0) -> None:
        """Stop every run of `user_id` (their data is about to be erased)."""
        tasks = []
        for run_id, state in list(self._states.items()):
            if state.run.user_id == user_id:
                tasks.append(self._tasks[run_id])
                self._tasks[run_id].cancel()
                for handle in list(state.handles):
                    handle.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- a run

    def _launch(self, run: SetRun, lang: str, reply_to: int | None, *, resumed: bool) -> None:
        state = RunState(run, lang, cancelled=run.status is RunStatus.CANCELLED)
        self._states[run.id] = state
        task = asyncio.create_task(self._drive(state, reply_to, resumed))
        self._tasks[run.id] = task

        def forget(_: asyncio.Task[None]) -> None:
            self._tasks.pop(run.id, None)
            self._states.pop(run.id, None)

        task.add_done_callback(forget)

    async def _drive(self, state: RunState, reply_to: int | None, resumed: bool) -> None:
        run, lang = state.run, state.lang
        items = await self.storage.run_items(run.id)
        progress = RunProgress(self, state, items, reply_to)
        try:
            await progress.open(resumed)
            if not state.cancelled:
                await self._process(state, items, progress, reply_to)
            run = await self.storage.get_run(run.id) or run
            outcomes = await self.sender.outcomes(run)
            await progress.close(outcomes)
            await self.sender.send_albums(run, outcomes, reply_to)
            if not run.summary_sent:
                await self.sender.send_summary(run, outcomes, lang, reply_to)
            if not run.zip_sent:
                await self.sender.send_zip(run, outcomes, lang, reply_to)
            await self.storage.set_run_status(run.id, RunStatus.DONE)
        except asyncio.CancelledError:
            raise
        except Exception:  # a full disk, the user erased their data meanwhile
            log.exception("set run %s failed", run.id)
            with contextlib.suppress(Exception):
                await progress.fail()

    async def _process(
        self, state: RunState, items: list[SetItem], progress: RunProgress, reply_to: int | None
    ) -> None:
        run = state.run
        params = dict(run.params)
        if needs_measure(run.op, params):
            shared = run.shared
            if shared is None:
                todo = [i for i in items if i.measure_status not in FINISHED]
                progress.phase(measuring=True, done=len(items) - len(todo))
                await self.feeder.run_pass(
                    state, todo, measure_params(params), measure=True, settled=progress.measured
                )
                if state.cancelled:
                    return
                items = await self.storage.run_items(run.id)
                shared = shared_params(params, await self._measures(items))
                await self.storage.set_run_shared(run.id, shared)
            params |= shared
            items = [i for i in items if i.measure_status is JobStatus.DONE]
        todo = [i for i in items if i.status not in FINISHED]
        progress.phase(measuring=False, done=progress.total - len(todo))
        ready: list[Settlement] = []

        async def settled(settlement: Settlement) -> None:
            await progress.settled(settlement)
            if settlement.kind != "image":
                return
            ready.append(settlement)
            if len(ready) >= ALBUM_SIZE:  # a full album goes out while the rest runs
                chunk = ready[:ALBUM_SIZE]
                del ready[:ALBUM_SIZE]
                await self.sender.send_album(run, await self._outcomes(chunk), reply_to)

        await self.feeder.run_pass(state, todo, params, measure=False, settled=settled)

    async def _outcomes(self, chunk: list[Settlement]) -> list[Outcome]:
        found = []
        for settlement in chunk:
            item = dataclasses.replace(settlement.item, job_id=settlement.job_id)
            found.append(Outcome(item, await self.storage.get_result(settlement.job_id)))
        return found

    async def _measures(self, items: list[SetItem]) -> list[ObjectMeasure]:
        measures = []
        for item in items:
            if item.measure_status is JobStatus.DONE and item.measure_job_id is not None:
                result = await self.storage.get_result(item.measure_job_id)
                if result is not None and result.kind == "measure":
                    measures.append(ObjectMeasure(**result.payload))
        return measures

    async def _refuse(
        self, photo_set: PhotoSet, op: str, missing: list[str] | None, lang: str
    ) -> None:
        name = op_label(lang, op)
        if missing is None:
            text = t(lang, "op.planned", op=name)
        else:
            await self.alerts.model_missing(op, "missing weights: " + ", ".join(missing))
            own = MISSING_MODEL_KEYS.get(missing[0]) if len(missing) == 1 else None
            text = t(lang, own) if own else t(lang, "op.missing", op=name)
        await self._say(photo_set.chat_id, text, photo_set.message_id)

    async def _say(
        self, chat_id: int, text: str, reply_to: int | None, markup: Any = None
    ) -> int | None:
        reply = None
        if reply_to is not None:
            reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        try:
            sent = await self.bot.send_message(
                chat_id, text, reply_markup=markup, reply_parameters=reply
            )
        except SEND_ERRORS as exc:
            log.warning("could not send to chat %s: %s", chat_id, exc)
            return None
        return sent.message_id

    async def _edit(self, chat_id: int, message_id: int, text: str, markup: Any) -> bool:
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except SEND_ERRORS as exc:
            return "not modified" in str(exc)
        return True


class RunProgress:
    """The run's one progress message: «⚙️ Теги: 7/18» with Cancel, edited at most once per
    PROGRESS_INTERVAL_S; at the end what was done (and what failed)."""

    def __init__(
        self, runner: SetRunner, state: RunState, items: list[SetItem], reply_to: int | None
    ) -> None:
        self.runner = runner
        self.state = state
        self.reply_to = reply_to
        self.total = len(items)
        self.done = 0
        self.failed = 0
        self.measuring = False
        self.message_id = state.run.progress_message_id
        self.throttle = Throttle(runner.interval, self._show)

    def _text(self, stage: str) -> str:
        lang = self.state.lang
        fields = {"op": op_label(lang, self.state.run.op), "done": self.done, "total": self.total}
        text = t(lang, PROGRESS_KEYS[stage], **fields)
        if self.failed:
            text += "\n" + t(lang, "set.progress_failed", failed=self.failed)
        return text

    async def open(self, resumed: bool) -> None:
        text = self._text("resumed" if resumed else "running")
        markup = keyboards.cancel_set_run(self.state.run.id, self.state.lang)
        run = self.state.run
        if self.message_id is not None and await self.runner._edit(
            run.chat_id, self.message_id, text, markup
        ):
            return
        self.message_id = await self.runner._say(run.chat_id, text, self.reply_to, markup)
        await self.runner.storage.set_run_progress_message(run.id, self.message_id)

    def phase(self, *, measuring: bool, done: int) -> None:
        self.measuring, self.done, self.failed = measuring, done, 0
        self.throttle.poke()

    async def measured(self, settlement: Settlement) -> None:
        await self.settled(settlement)

    async def settled(self, settlement: Settlement) -> None:
        self.done += 1
        self.failed += settlement.kind == "failed"
        self.throttle.poke()

    async def _show(self) -> None:
        if self.message_id is None or self.state.cancelled:
            return
        stage = "measuring" if self.measuring else "running"
        markup = keyboards.cancel_set_run(self.state.run.id, self.state.lang)
        await self.runner._edit(self.state.run.chat_id, self.message_id, self._text(stage), markup)

    async def close(self, outcomes: list[Outcome]) -> None:
        """The message says what came out; the results follow it."""
        await self.throttle.cancel()
        self.done = sum(o.result is not None for o in outcomes)
        self.failed = sum(_failed(o.item) for o in outcomes)
        await self._final(self._text("cancelled" if self.state.cancelled else "done"))

    async def fail(self) -> None:
        await self.throttle.cancel()
        await self._final(
            t(self.state.lang, "job.failed", op=op_label(self.state.lang, self.state.run.op))
        )

    async def _final(self, text: str) -> None:
        run = self.state.run
        if self.message_id is None or not await self.runner._edit(
            run.chat_id, self.message_id, text, None
        ):
            await self.runner._say(run.chat_id, text, self.reply_to)


def _failed(item: SetItem) -> bool:
    return JobStatus.FAILED in (item.status, item.measure_status)
