"""Catalogues in the chat, end to end over the emulator: photos sent together are one set with
one message, and one action runs over all of them (albums, a summary, a ZIP)."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from PIL import Image

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.set_photos import (
    action,
    album_images,
    catalogue,
    is_set_message,
    is_zip,
    results_csv,
    zip_of,
)
from tests.test_catalogue import assert_one_look, card_box

pytestmark = pytest.mark.e2e


async def test_eighteen_files_are_one_set_then_tags_and_white_for_all(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    user = emulator.user(300, "en")
    photos = catalogue(18)
    for name, data in photos:  # one right after another, not waiting for answers
        user.send_document(data, name, "image/png")
    message = await user.wait_for_message(is_set_message(18), timeout=30)
    assert [r for r in user.bot_messages if is_set_message(0)(r) or r["reply_markup"]] == [message]
    assert not any(
        data.startswith("p:") for r in user.bot_messages for _, data in emulator.buttons(r)
    ), "no photo of the set has a keyboard of its own"

    before = len(emulator.bot_messages)
    user.press_button(message, action(message, "tag"))
    archive_record = await user.wait_for_message(is_zip, after=before, timeout=60)
    rows = results_csv(zip_of(archive_record))
    assert [row["file"] for row in rows] == [name for name, _ in photos]
    assert {row["op"] for row in rows} == {"tag"} and {row["status"] for row in rows} == {"done"}
    assert all("(0." in row["tags"] or "(1." in row["tags"] for row in rows)
    summaries = [
        r for r in emulator.bot_messages[before:] if "for the set of 18" in (r["text"] or "")
    ]
    assert len(summaries) == 1 and "item-017.png" in summaries[0]["text"]

    before = len(emulator.bot_messages)
    user.press_button(message, action(message, "background"))
    menu = await emulator.wait_for_edit(
        message["message_id"], lambda r: any(d.startswith("sb:") for _, d in emulator.buttons(r))
    )
    white = next(d for t, d in emulator.buttons(menu) if t == "white")
    user.press_button(menu, white)
    archive_record = await user.wait_for_message(is_zip, after=before, timeout=90)
    images = album_images(emulator.bot_messages[before:])
    assert len(images) == 18 and sum(r["method"] == "sendMediaGroup" for r in images) == 18
    archive = zip_of(archive_record)
    pngs = sorted(n for n in archive.namelist() if n.endswith(".png"))
    assert pngs == [f"item-{i:03d}-background.png" for i in range(18)]
    for name, data in photos:
        with (
            Image.open(io.BytesIO(data)) as original,
            Image.open(
                io.BytesIO(archive.read(name.replace(".png", "-background.png")))
            ) as result,
        ):
            assert result.size == original.size
    assert len(results_csv(archive)) == 18


async def test_a_set_bigger_than_the_per_user_bound_is_processed_completely(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot(QUEUE_MAX_PER_USER="20")
    user = emulator.user(301, "en")
    for name, data in catalogue(25, first=100):
        user.send_document(data, name, "image/png")
    message = await user.wait_for_message(is_set_message(25), timeout=30)
    before = len(emulator.bot_messages)
    user.send_text("/all background white")  # the set command, on the last set
    archive_record = await user.wait_for_message(is_zip, after=before, timeout=120)
    rows = results_csv(zip_of(archive_record))
    assert len(rows) == 25 and {row["status"] for row in rows} == {"done"}
    assert len(album_images(emulator.bot_messages[before:])) == 25
    said = " ".join(r["text"] or "" for r in emulator.bot_messages[before:])
    assert "already have" not in said  # the per-user bound never refused a photo of the set
    progress = next(
        r for r in emulator.bot_messages[before:] if "for the set" in (r["text"] or "")
    )
    assert "25 of 25 done" in progress["text"] and "/25" in " ".join(progress["edits"])
    assert message["reply_markup"]  # the set's keyboard stays for the next action


async def test_a_lone_photo_is_answered_as_before_and_a_second_one_makes_a_set(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    await start_bot(SET_WINDOW_S="30")
    user = emulator.user(302, "en")
    first = user.send_photo(photos["coffee"])
    lone = await user.wait_for_message(lambda r: r["reply_to_message_id"] == first["message_id"])
    assert lone["text"].startswith("Photo received") and emulator.buttons(lone)[0][1].startswith(
        "p:"
    )
    user.send_photo(photos["chelsea"])  # within the window: the two are a set now
    merged = await emulator.wait_for_edit(lone["message_id"], is_set_message(2))
    assert merged["reply_to_message_id"] == first["message_id"]
    # Split: every photo its own keyboard again
    user.press_button(merged, action(merged, "split"))
    keyboards = await user.wait_for_messages(
        lambda r: "of 2 received" in (r["text"] or ""), 2, timeout=10
    )
    assert all(emulator.buttons(k)[0][1].startswith("p:") for k in keyboards)
    assert (
        "Split"
        in (await emulator.wait_for_edit(lone["message_id"], lambda r: not r["reply_markup"]))[
            "text"
        ]
    )


async def test_an_album_caption_runs_over_the_album_and_cancel_stops_the_set(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    user = emulator.user(303, "ru")
    album = user.send_album([data for _, data in catalogue(4, first=200)], caption="/tag")
    message = await user.wait_for_message(is_set_message(4, "ru"), timeout=30)
    assert message["reply_to_message_id"] == album[0]["message_id"]
    archive_record = await user.wait_for_message(is_zip, timeout=60)
    rows = results_csv(zip_of(archive_record))
    assert [row["file"] for row in rows] == ["photo-01", "photo-02", "photo-03", "photo-04"]
    assert "Теги" in archive_record["text"]

    # a long action over the same set, cancelled: what is done is sent, the rest is not run
    before = len(emulator.bot_messages)
    user.send_text("/all edit add a vase of flowers")
    progress = await user.wait_for_message(
        lambda r: bool(r["reply_markup"]) and "cs:" in str(r["reply_markup"]), after=before
    )
    cancel = next(d for _, d in emulator.buttons(progress) if d.startswith("cs:"))
    user.press_button(progress, cancel)
    archive_record = await user.wait_for_message(is_zip, after=before, timeout=120)
    statuses = [row["status"] for row in results_csv(zip_of(archive_record))]
    assert len(statuses) == 4 and "cancelled" in statuses
    final = await emulator.wait_for_edit(
        progress["message_id"], lambda r: "остановлено" in r["text"]
    )
    assert not final["reply_markup"]


async def test_all_without_a_set_and_with_nonsense_gets_short_answers(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot()
    user = emulator.user(304, "en")
    user.send_text("/all tag")
    assert "No set yet" in (await user.wait_for_message())["text"]
    for name, data in catalogue(3, first=300):
        user.send_document(data, name, "image/png")
    message = await user.wait_for_message(is_set_message(3), timeout=30)
    before = len(emulator.bot_messages)
    user.send_text("/all frobnicate")
    assert "after /all" in (await user.wait_for_message(after=before))["text"]
    before = len(emulator.bot_messages)
    user.send_text("/all background")  # bare: the menu for the whole set
    menu = await user.wait_for_message(after=before)
    assert "3 photos of the set" in menu["text"]
    assert any(d.startswith("sb:") for _, d in emulator.buttons(menu))
    # Edit on the set's message asks for the instruction, the next text runs it on all three
    before = len(emulator.bot_messages)
    user.press_button(message, action(message, "edit"))
    assert "every photo of the set" in (await user.wait_for_message(after=before))["text"]
    user.send_text("add a vase of flowers")
    archive_record = await user.wait_for_message(is_zip, after=before, timeout=120)
    rows = results_csv(zip_of(archive_record))
    assert [row["op"] for row in rows] == ["edit"] * 3
    assert {row["status"] for row in rows} == {"done"}
    async with app.db.db.execute("SELECT params FROM jobs WHERE op = 'edit'") as cursor:
        seeds = {json.loads(row[0])["seed"] for row in await cursor.fetchall()}
    assert len(seeds) == 1  # one seed for the whole set: the edits look alike


JOB_LINE = re.compile(r"job=(\d+) user=(\d+) op=(\w+) wait=([\d.]+)s run=([\d.]+)s")


async def test_another_users_tag_waits_no_longer_than_behind_one_job(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vitrina.jobs")
    await start_bot()
    seller, other = emulator.user(305, "en"), emulator.user(306, "en")
    for name, data in catalogue(40, first=400):
        seller.send_document(data, name, "image/png")
    message = await seller.wait_for_message(is_set_message(40), timeout=60)
    seller.send_text("/all background white")
    progress = await seller.wait_for_message(lambda r: "for the set: " in (r["text"] or ""))
    await emulator.wait_for_edit(
        progress["message_id"], lambda r: re.search(r": ([5-9]|\d\d)/40", r["text"]), timeout=60
    )
    other.send_photo(photos["coffee"], caption="/tag")
    await other.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=30)
    archive_record = await seller.wait_for_message(is_zip, timeout=120)
    assert len(results_csv(zip_of(archive_record))) == 40

    # (when the job's line was logged: it ended; user, wait, run) of every job
    done = [
        (record.created, m.group(2), float(m.group(4)), float(m.group(5)))
        for record in caplog.records
        if (m := JOB_LINE.search(record.getMessage())) is not None
    ]
    set_jobs = [(ended, run) for ended, user, _, run in done if user == "305"]
    tag_ended, _, tag_wait, tag_run = next(job for job in done if job[1] == "306")
    assert len(set_jobs) == 40
    queued, started = tag_ended - tag_run - tag_wait, tag_ended - tag_run
    # behind one job: the set's job running when the /tag came, and no job of the set
    # started while the /tag waited (a few ms of slack for the clocks)
    overtaking = [e - r for e, r in set_jobs if queued + 0.02 < e - r < started - 0.02]
    logging.getLogger("vitrina.tests").warning(
        "fairness: /tag waited %.3f s during a 40-photo set (set jobs run %.3f-%.3f s); "
        "set jobs started while it waited: %d",
        tag_wait,
        min(r for _, r in set_jobs),
        max(r for _, r in set_jobs),
        len(overtaking),
    )
    assert overtaking == []
    assert message["reply_markup"]


async def test_a_sets_cards_have_one_scale_and_one_centre(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    user = emulator.user(307, "en")
    for name, data in catalogue(6, first=500):
        user.send_document(data, name, "image/png")
    message = await user.wait_for_message(is_set_message(6), timeout=30)
    user.press_button(message, action(message, "card"))
    menu = await emulator.wait_for_edit(
        message["message_id"], lambda r: any(d.startswith("sb:") for _, d in emulator.buttons(r))
    )
    before = len(emulator.bot_messages)
    user.press_button(menu, next(d for t, d in emulator.buttons(menu) if t == "transparent"))
    archive = zip_of(await user.wait_for_message(is_zip, after=before, timeout=90))
    boxes = []
    for name in sorted(n for n in archive.namelist() if n.endswith(".png")):
        with Image.open(io.BytesIO(archive.read(name))) as card:
            assert card.size == (900, 1200) and card.mode == "RGBA"
            boxes.append(card_box(card))
    assert len(boxes) == 6
    assert_one_look(boxes, (900, 1200))
    documents = [r for r in emulator.bot_messages[before:] if r["method"] == "sendMediaGroup"]
    assert len(documents) == 6 and all(r["document_bytes"] for r in documents)  # not recompressed


async def test_check_and_fix_for_the_whole_set(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    """The marketplace check (issue 17) over a set: one summary line per photo with its
    grade, the grade in results.csv; Fix: a compliant JPEG card per photo in the ZIP."""
    await start_bot()
    user = emulator.user(306, "en")
    photos = catalogue(3, first=300)
    for name, data in photos:
        user.send_document(data, name, "image/png")
    message = await user.wait_for_message(is_set_message(3), timeout=30)

    before = len(emulator.bot_messages)
    user.press_button(message, action(message, "check"))
    archive_record = await user.wait_for_message(is_zip, after=before, timeout=90)
    rows = results_csv(zip_of(archive_record))
    assert [row["op"] for row in rows] == ["check"] * 3
    assert {row["status"] for row in rows} == {"done"}, rows
    grades = {
        "good_infographic",
        "bad_infographic",
        "other_infographic",
        "clean_good_background",
        "clean_bad_background",
    }
    assert all(row["grade"] in grades for row in rows), rows
    summary = next(
        r for r in emulator.bot_messages[before:] if "for the set of 3" in (r["text"] or "")
    )
    labels = ("Good infographic", "Bad infographic", "Other infographic", "Clean photo")
    lines = [line for line in summary["text"].splitlines() if line.startswith("item-")]
    assert [line.split(":")[0] for line in lines] == [name for name, _ in photos]
    assert all(any(label in line for label in labels) for line in lines), lines
    assert all("rule" in line for line in lines), lines  # "every rule is met" / "N rules not met"

    before = len(emulator.bot_messages)
    user.press_button(message, action(message, "fix"))
    archive_record = await user.wait_for_message(is_zip, after=before, timeout=120)
    archive = zip_of(archive_record)
    cards = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
    assert len(cards) == 3, archive.namelist()
    for name in cards:
        with Image.open(io.BytesIO(archive.read(name))) as card:
            assert card.format == "JPEG" and card.mode == "RGB"
            assert card.size == (1200, 1600)  # Wildberries' recommended 3:4 size
