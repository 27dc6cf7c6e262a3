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

from bot.alerts import AdminAlerts
from bot.check_requests import with_profile
from bot.inbox.origin import origin
from bot.jobs.delivery import Delivery
from bot.ops import job_params, with_domain, with_one_seed
from bot.sets.archive import item_names
from bot.sets.delivery import ALBUM_SIZE, Outcome, SetDelivery
from bot.sets.feeding import Feeder, RunState, Settlement
from bot.sets.progress import RunProgress, say
from bot.storage import FINISHED, JobStatus, PhotoSet, RunStatus, SetItem, SetRun, Storage, User
from bot.texts import t
from services.catalogue import measure_params, needs_measure, shared_params
from services.results import MEASURE, ObjectMeasure
from services.scheduler import ModelServices

log = logging.getLogger("vitrina.bot")


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
        """Run `op` with `params` over every photo of the set; None if it cannot start.
        The same update handled again (after a crash) finds its run, resumed at start."""
        made_for = origin("run", photo_set.id, op)
        if made_for is not None and (made := await self.storage.run_by_origin(made_for)):
            return made
        members = await self.storage.set_members(photo_set.id)
        if not members:
            await say(self.bot, photo_set.chat_id, t(lang, "set.gone"), photo_set.message_id)
            return None
        # as for one photo: the user's /settings, then the marketplace profile, then one seed
        params = job_params(op, params, user, self.services.config)
        params = await with_profile(self.storage, user.id, user, op, params)
        params = with_one_seed(op, with_domain(op, params, user.domain))
        missing = self.services.missing_weights_for(op, params)
        if missing != []:
            text = await self.alerts.refusal(op, missing, lang)
            await say(self.bot, photo_set.chat_id, text, photo_set.message_id)
            return None
        names = item_names([name for _, name in members])
        items = [(photo.id, name) for (photo, _), name in zip(members, names, strict=True)]
        run = await self.storage.create_run(photo_set, op, params, items, made_for)
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
        progress = RunProgress(self.bot, self.storage, self.interval, state, len(items), reply_to)
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
        except Exception:  # a full disk, the user erased their data meanwhile
            log.exception("set run %s failed", run.id)
            with contextlib.suppress(Exception):
                await progress.fail()
        finally:  # no edit of the progress message outlives the run (or the bot's session)
            progress.throttle.discard()

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
                if result is not None and result.kind == MEASURE.name:
                    measures.append(result.value)
        return measures
