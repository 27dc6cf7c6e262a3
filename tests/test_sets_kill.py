"""kill -9 in the middle of a set's run: after a restart every photo of the set gets its
result once, and the ZIP comes once. The bot runs as a real process against the emulator."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.emulator import BotAPIEmulator
from tests.set_photos import catalogue, is_set_message, is_zip, results_csv, zip_of
from tests.test_kill import _env, _start
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PHOTOS = 14  # one album of 10 goes out before the kill, the rest after it
PROMPT = "/all background on a marble table with plants"  # a diffusion per photo


def _items(database: Path) -> list[tuple[int, str | None, int]]:
    """(position, job status, sent) of every photo of the run."""
    if not database.exists():
        return []
    try:
        with sqlite3.connect(database) as db:
            return db.execute(
                "SELECT i.position, j.status, i.sent FROM set_items i "
                "LEFT JOIN jobs j ON j.id = i.job_id ORDER BY i.position"
            ).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return []


def _captions(emulator: BotAPIEmulator) -> Counter[str]:
    """How often each photo's result image reached the user (its name is the caption)."""
    return Counter(
        r["text"]
        for r in emulator.bot_messages
        if r["method"] in ("sendMediaGroup", "sendPhoto") and r["text"]
    )


async def test_sigkill_during_a_set_run_answers_every_photo_once_and_the_zip_once(
    tmp_path: Path, tiny_weights: Path, emulator: BotAPIEmulator
) -> None:
    database = tmp_path / "data" / "vitrina.sqlite3"
    env = _env(emulator, tiny_weights, database)
    user = emulator.user(700, "en")
    photos = catalogue(PHOTOS, first=700)
    process = await _start(env, tmp_path)
    try:
        for name, data in photos:
            user.send_document(data, name, "image/png")
        await user.wait_for_message(is_set_message(PHOTOS), timeout=120)
        user.send_text(PROMPT)

        def one_album_out() -> bool:
            items = _items(database)
            sent = sum(s for *_, s in items)
            done = sum(status == "done" for _, status, _ in items)
            return sent >= 10 and done < PHOTOS

        await eventually(one_album_out, 240, interval=0.05, message=emulator.dump)
    finally:
        process.kill()  # SIGKILL: no shutdown handler runs
        await process.wait()
    before = _items(database)
    assert not any(is_zip(r) for r in emulator.bot_messages)

    process = await _start(env, tmp_path)
    try:
        archive_record = await user.wait_for_message(is_zip, timeout=240)
        await eventually(
            lambda: all(s for *_, s in _items(database)), 30, interval=0.1, message=emulator.dump
        )
        await asyncio.sleep(1.0)  # nothing more arrives: the counts below are final
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    rows = results_csv(zip_of(archive_record))
    assert [row["file"] for row in rows] == [name for name, _ in photos]
    assert {row["status"] for row in rows} == {"done"}
    captions = _captions(emulator)
    assert set(captions) == {name for name, _ in photos}
    assert all(count == 1 for count in captions.values()), captions  # nothing twice
    assert sum(is_zip(r) for r in emulator.bot_messages) == 1
    texts = [t or "" for r in emulator.bot_messages for t in [r["text"], *r.get("edits", [])]]
    assert any("restarted" in text for text in texts)  # the progress message said so
    logging.getLogger("vitrina.tests").warning(
        "set kill test: before SIGKILL %d of %d photos done, %d sent; after the restart all "
        "%d sent once, one ZIP",
        sum(status == "done" for _, status, _ in before),
        PHOTOS,
        sum(s for *_, s in before),
        PHOTOS,
    )
