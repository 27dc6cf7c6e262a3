"""A set's pass feeds the worker whole batches (issue 31, S1): the first batch is a whole
window (never a batch of one while the other rows are still being made), the next whole
batch goes out the moment one finishes, and results being stored or delivered (an album
upload) hold no job back. Events and queue states, never timing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

from bot.sets.feeding import Feeder, RunState, Settlement
from bot.storage import JobStatus, SetItem, Storage
from services.config import ServiceConfig
from services.jobs import JobRequest
from services.models.clip import TagResult
from services.operations import Operation, RunContext
from services.scheduler import ModelServices
from tests.waiting import eventually

BATCH = 2
PHOTOS = 6
USER = 7


class GatedTags(Operation):
    """Batches of up to BATCH that each wait for the test to let them through."""

    name = "tag"
    max_batch = BATCH

    def __init__(self) -> None:
        self.gate = threading.Semaphore(0)
        self.batches: list[int] = []  # each batch's size, in the order they ran
        self.entered = threading.Semaphore(0)  # one release per batch that started

    def batch_key(self, request: JobRequest) -> Hashable:
        return 0

    def missing_weights(self) -> list[str]:
        return []

    def warm_up(self) -> None:
        pass

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Any]:
        self.batches.append(len(requests))
        self.entered.release()
        assert self.gate.acquire(timeout=30), "the test never let this batch through"
        return [TagResult("product", (), ()) for _ in requests]


async def _run_items(db: Storage) -> tuple[RunState, list[SetItem]]:
    await db.upsert_user(USER, "en", "seller")
    ids = []
    for index in range(PHOTOS):
        photo = await db.add_photo(
            user_id=USER,
            chat_id=USER,
            message_id=index + 1,
            file_id=f"F{index}",
            file_unique_id=f"U{index}",
            data=f"img{index}".encode(),
            width=64,
            height=48,
        )
        ids.append(photo.id)
    photo_set = await db.create_set(USER, USER, [(i, None) for i in ids])
    run = await db.create_run(photo_set, "tag", {}, [(i, f"p{i}.jpg") for i in ids])
    return RunState(run, "en"), await db.run_items(run.id)


async def _entered(op: GatedTags) -> None:
    assert await asyncio.to_thread(op.entered.acquire, True, 30), "no batch started"


async def test_whole_batches_go_out_while_results_are_delivered(tmp_path: Path) -> None:
    op = GatedTags()
    config = ServiceConfig(weights_dir=Path("unused"), queue_max_per_user=20)
    async with (
        Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db,
        ModelServices(config, operations={"tag": op}) as services,
    ):
        feeder = Feeder(db, services, delivery=None, alerts=None)  # type: ignore[arg-type]
        assert feeder.window("tag", {}) == BATCH
        state, items = await _run_items(db)
        delivering = asyncio.Event()  # the first result's delivery (an album) hangs on
        settlements: list[Settlement] = []

        async def settled(settlement: Settlement) -> None:
            settlements.append(settlement)
            if len(settlements) == 1:
                await delivering.wait()

        run = asyncio.create_task(
            feeder.run_pass(state, items, {}, measure=False, settled=settled)
        )
        for number in range(PHOTOS // BATCH):
            await _entered(op)  # batch `number` runs in the worker; the set holds no more
            assert services.queued == 0 and len(op.batches) == number + 1
            op.gate.release()
            if number == 0:  # its results are being stored and delivered meanwhile
                await eventually(lambda: len(settlements) >= 1)
        await eventually(lambda: len(settlements) == PHOTOS)  # every photo settled...
        assert not run.done()  # ...while the first delivery still hangs
        assert op.batches == [BATCH] * (PHOTOS // BATCH)  # every batch whole, the first too
        delivering.set()
        await asyncio.wait_for(run, 30)
        assert sorted(s.item.position for s in settlements) == [i.position for i in items]
        statuses = {(await db.get_job(s.job_id)).status for s in settlements}  # type: ignore[union-attr]
        assert statuses == {JobStatus.DONE}
