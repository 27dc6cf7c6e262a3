"""A quick job answers with its result alone (PROGRESS_DELAY_S, issue 21's P4): no progress
message, no chat action, no status write beside the model; a job still running after the
delay gets its progress message (and "typing") as before."""

from __future__ import annotations

import time
from typing import Any

from bot.storage import JobStatus
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator


def contains(*parts: str) -> Any:
    return lambda record: all(part in (record["text"] or "") for part in parts)


async def test_a_quick_tag_answers_with_its_result_alone(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(PROGRESS_DELAY_S="30")
    user = emulator.user(61, "en")
    sent = user.send_photo(photos["coffee"], caption="/tag")
    tags = await user.wait_for_message(contains("Tags", "•"))
    assert tags["method"] == "sendMessage" and tags["edits"] == []  # sent, not edited into
    assert tags["reply_to_message_id"] == sent["message_id"]
    job = await app.db.get_job(1)
    assert job is not None and job.status is JobStatus.DONE
    assert [j.id for j in await app.db.undelivered_jobs()] == []
    assert job.progress_message_id is None
    # the photo's own message ("received", with its keyboard) and the tags: nothing else
    texts = [r["text"] or "" for r in user.bot_messages]
    assert len(texts) == 2 and not any("⏳" in t or "⚙️" in t for t in texts)
    assert not [a for a in emulator.chat_actions if str(a["chat_id"]) == "61"]


async def test_a_slow_job_gets_its_progress_message_after_the_delay(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(PROGRESS_DELAY_S="0.3", EDIT_STEPS="30", EDIT_MAX_SIDE="64")
    editor = app.services.operations["night"].editor
    editor.load()

    def slow_step(module: Any, args: Any) -> None:
        time.sleep(0.05)  # simulated work: 30 steps take 1.5 s, past the delay

    hook = editor.pipeline.unet.register_forward_pre_hook(slow_step)
    try:
        user = emulator.user(62)
        sent = user.send_photo(photos["coffee"], caption="/night")
        progress = await user.wait_for_message(contains("Ночь"))
        assert progress["text"].startswith(("⏳", "⚙️"))
        assert any(d.startswith("cj:") for _, d in emulator.buttons(progress))  # Cancel
        result = await user.wait_for_message(
            lambda r: (
                r["method"] == "sendPhoto" and r["reply_to_message_id"] == sent["message_id"]
            ),
            timeout=60,
        )
    finally:
        hook.remove()
    assert "Ночь" in result["text"]  # the caption
    assert any(
        str(a["chat_id"]) == "62" and a["action"] == "typing" for a in emulator.chat_actions
    )
    await emulator.wait_for_edit(progress["message_id"], lambda r: r["deleted"])
    job = await app.db.get_job(1)
    assert job is not None and job.status is JobStatus.DONE
    assert job.progress_message_id == progress["message_id"]
