"""Catalogues in the chat, end to end over the emulator: photos sent together are one set with
one message, and one action runs over all of them (albums, a summary, a ZIP)."""

from __future__ import annotations

import io

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
    summaries = [r for r in emulator.bot_messages[before:] if "for the set of 18" in (r["text"] or "")]
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
        with Image.open(io.BytesIO(data)) as original, Image.open(
            io.BytesIO(archive.read(name.replace(".png", "-background.png")))
        ) as result:
            assert result.size == original.size
    assert len(results_csv(archive)) == 18
