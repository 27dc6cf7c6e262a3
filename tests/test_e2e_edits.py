"""Edits end to end: the real bot over HTTP against the emulator, tiny pix2pix weights."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from PIL import Image

from bot.storage import JobStatus
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e
Json = dict[str, Any]
FAST = {"EDIT_STEPS": "3", "EDIT_MAX_SIDE": "64"}


def contains(*parts: str):
    return lambda record: all(part in (record["text"] or "") for part in parts)


def _action(keyboard: Json, action: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(keyboard) if d.endswith(f":{action}"))


async def keyboard_for(emulator: BotAPIEmulator, user_message: Json) -> Json:
    return await emulator.wait_for_message(
        lambda r: r["reply_to_message_id"] == user_message["message_id"] and r["reply_markup"]
    )


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def test_night_button_full_size_and_again(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(**FAST)
    user = emulator.user(40)
    sent = user.send_photo(photos["coffee"])
    keyboard = await keyboard_for(emulator, sent)
    before = len(emulator.bot_messages)
    night = user.press_button(keyboard, _action(keyboard, "night"))
    await emulator.wait_for_callback_answer(night)
    result = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert result["reply_to_message_id"] == sent["message_id"]
    assert _size(result["photo_bytes"]) == _size(photos["coffee"])  # the original's size
    assert "Ночь: готово. Изменено" in result["text"] and "% кадра" in result["text"]
    labels = [text for text, _ in emulator.buttons(result)]
    assert labels[:2] == ["🔁 Ещё вариант", "📎 Полный размер"] and "Правка" in labels
    # the progress message showed the steps, and was removed once the photo arrived
    progress = next(r for r in emulator.bot_messages[before:] if r["method"] == "sendMessage")
    assert any("шаг" in text for text in [*progress["edits"], progress["text"] or ""])
    await emulator.wait_for_edit(progress["message_id"], lambda r: r["deleted"])
    job = await app.db.get_job(1)
    stored = await app.db.get_result(job.id)
    assert job.status is JobStatus.DONE and stored.kind == "image"
    assert stored.payload["preset"] == "night" and stored.payload["steps"] == 3
    assert stored.payload["working_size"] == [64, 64] or max(stored.payload["working_size"]) == 64

    before = len(emulator.bot_messages)
    user.press_button(result, _action(result, "full"))
    document = await user.wait_for_message(lambda r: r["method"] == "sendDocument", after=before)
    assert document["document_bytes"][:8] == b"\x89PNG\r\n\x1a\n"
    assert document["document_name"].endswith(".png")
    assert _size(document["document_bytes"]) == _size(photos["coffee"])

    before = len(emulator.bot_messages)
    user.press_button(result, _action(result, "again"))
    again = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert again["reply_to_message_id"] == sent["message_id"]
    second = await app.db.get_result(2)
    assert second.payload["preset"] == "night" and second.payload["seed"] != stored.payload["seed"]


async def test_edit_button_takes_the_next_message_as_the_instruction(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(**FAST)
    user = emulator.user(41)
    sent = user.send_photo(photos["chelsea"])
    keyboard = await keyboard_for(emulator, sent)
    before = len(emulator.bot_messages)
    user.press_button(keyboard, _action(keyboard, "edit"))
    ask = await user.wait_for_message(contains("следующим сообщением"), after=before)
    assert ask["reply_to_message_id"] == sent["message_id"]
    assert app.services.queued == 0  # nothing runs until the instruction comes

    before = len(emulator.bot_messages)
    user.send_text("добавь вазу с тюльпанами на стол")
    result = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert result["reply_to_message_id"] == sent["message_id"]
    assert _size(result["photo_bytes"]) == _size(photos["chelsea"])
    assert "«добавь вазу с тюльпанами на стол»" in result["text"]
    job = await app.db.get_job(1)
    assert job.op == "edit" and job.params == {"prompt": "добавь вазу с тюльпанами на стол"}

    before = len(emulator.bot_messages)
    user.send_text("просто текст")  # the state is gone: an ordinary message again
    assert "Я работаю с фотографиями" in (await user.wait_for_message(after=before))["text"]


async def test_stale_edit_prompt_is_ignored(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
):
    await start_bot(**FAST)
    user = emulator.user(42, "en")
    keyboard = await keyboard_for(emulator, user.send_photo(photos["coffee"]))
    before = len(emulator.bot_messages)
    user.press_button(keyboard, _action(keyboard, "edit"))
    await user.wait_for_message(contains("next message"), after=before)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    before = len(emulator.bot_messages)
    user.send_text("make it sunset")
    assert "I work with photos" in (await user.wait_for_message(after=before))["text"]


async def test_edit_without_text_gets_guidance_not_a_job(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(**FAST)
    user = emulator.user(43)
    await keyboard_for(emulator, user.send_photo(photos["coffee"]))
    before = len(emulator.bot_messages)
    user.send_text("/edit")
    assert "Напишите, что изменить" in (await user.wait_for_message(after=before))["text"]
    before = len(emulator.bot_messages)
    user.send_text("/edit preset:nothing")
    assert "preset:starry" in (await user.wait_for_message(after=before))["text"]
    assert await app.db.get_job(1) is None

    before = len(emulator.bot_messages)
    user.send_text("/edit preset:starry")
    result = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert "Правка (звёздное небо)" in result["text"]


async def test_cancel_during_the_run_stops_the_loop(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot(EDIT_STEPS="60", EDIT_MAX_SIDE="64")
    editor = app.services.operations["night"].editor
    editor.load()
    calls = []

    def slow_step(module: Any, args: Any) -> None:
        calls.append(1)
        time.sleep(0.05)  # simulated work: a denoising step slow enough to cancel mid-loop

    hook = editor.pipeline.unet.register_forward_pre_hook(slow_step)
    try:
        user = emulator.user(44)
        sent = user.send_photo(photos["coffee"], caption="/night")
        running = await user.wait_for_message(contains("⚙️", "шаг"))
        cancel = next(d for _, d in emulator.buttons(running) if d.startswith("cj:"))
        user.press_button(running, cancel)
        await emulator.wait_for_edit(running["message_id"], contains("Ночь: отменено"))
    finally:
        hook.remove()
    assert 0 < len(calls) < 60  # the denoising loop stopped early
    job = await app.db.get_job(1)
    assert job.status is JobStatus.CANCELLED
    assert not [
        r
        for r in user.bot_messages
        if r["method"] == "sendPhoto" and r["reply_to_message_id"] == sent["message_id"]
    ]
