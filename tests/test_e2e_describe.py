"""/describe end to end: the real bot over HTTP against the emulator, tiny weights."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e
Json = dict[str, Any]


def _data(message: Json, action: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(message) if d.endswith(f":{action}"))


def _is_description(record: Json) -> bool:
    return any(d.endswith(":variant") for _, d in BotAPIEmulator.buttons(record))


async def test_description_with_english_variant_and_copy_ready(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot()
    user = emulator.user(50)
    sent = user.send_photo(photos["coffee"])
    keyboard = await emulator.wait_for_message(
        lambda r: r["reply_to_message_id"] == sent["message_id"] and r["reply_markup"]
    )
    before = len(emulator.bot_messages)
    query = user.press_button(keyboard, _data(keyboard, "describe"))
    await emulator.wait_for_callback_answer(query)
    result = await emulator.wait_for_message(_is_description, after=before, timeout=30)

    # the progress message became the Russian text, replying to the photo, with the buttons
    assert result["reply_to_message_id"] == sent["message_id"]
    assert any("⏳" in old or "⚙️" in old for old in result["edits"])
    labels = [text for text, _ in emulator.buttons(result)]
    assert labels == ["🇬🇧 English", "🔁 Другой вариант", "📋 Для копирования"]
    job = await app.db.get_job(1)
    assert job is not None and job.op == "describe" and job.params["domain"] == "product"
    stored = await app.db.get_result(job.id)
    assert stored is not None and stored.kind == "description"
    first = stored.payload
    assert first["path"] == "local" and first["variant"] == 0 and 3 <= len(first["benefits"]) <= 5
    text = result["text"]
    assert first["title"] in text and first["closing"] in text and text.count("• ") >= 3
    assert "opus-mt" in text and len(result["raw_text"]) <= 4096

    # English: the same message shows the English original, and offers Russian back
    user.press_button(result, _data(result, "english"))
    english = await emulator.wait_for_edit(
        result["message_id"], lambda r: "Английский оригинал" in (r["text"] or "")
    )
    assert first["english"]["title"] in english["text"]
    assert all(line in english["text"] for line in first["english"]["benefits"])
    user.press_button(english, _data(english, "russian"))
    await emulator.wait_for_edit(result["message_id"], lambda r: first["title"] in r["text"])

    # Copy-ready: plain lines in a <pre> block
    before = len(emulator.bot_messages)
    user.press_button(result, _data(result, "copy"))
    copy = await emulator.wait_for_message(
        lambda r: "<pre>" in (r["raw_text"] or ""), after=before
    )
    lines = [first["title"], *first["benefits"], first["closing"]]
    assert copy["text"] == "\n".join(lines)

    # Another variant: a new job, variant 1, a different text
    before = len(emulator.bot_messages)
    user.press_button(result, _data(result, "variant"))
    second = await emulator.wait_for_message(_is_description, after=before, timeout=30)
    job2 = await app.db.get_job(2)
    assert job2 is not None and job2.params["variant"] == 1
    stored2 = await app.db.get_result(2)
    assert stored2 is not None and stored2.payload["variant"] == 1
    assert stored2.payload["english"] != first["english"] and second["text"] != text
