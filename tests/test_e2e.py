"""The real bot, end to end over HTTP against the Bot API emulator, with tiny CLIP weights."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bot.storage import JobStatus, Storage
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e
Json = dict[str, Any]


def contains(*parts: str):
    return lambda record: all(part in (record["text"] or "") for part in parts)


async def keyboard_for(emulator: BotAPIEmulator, user_message: Json) -> Json:
    return await emulator.wait_for_message(
        lambda r: r["reply_to_message_id"] == user_message["message_id"] and r["reply_markup"]
    )


async def test_start_speaks_the_users_language(start_bot: StartBot, emulator: BotAPIEmulator):
    await start_bot()
    emulator.user(1, "ru").send_text("/start")
    assert "Витрина" in (await emulator.wait_for_message(lambda r: r["chat_id"] == 1))["text"]
    emulator.user(2, "en").send_text("/help")
    assert (
        "What I can do" in (await emulator.wait_for_message(lambda r: r["chat_id"] == 2))["text"]
    )
    assert {c["command"] for c in emulator.commands} >= {"tag", "background", "help"}


async def test_photo_keyboard_tags_button(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes], tmp_path: Path
):
    app = await start_bot()
    user = emulator.user(10)
    sent = user.send_photo(photos["coffee"])
    keyboard = await keyboard_for(emulator, sent)
    assert "Фото получено" in keyboard["text"]
    labels = [text for text, _ in emulator.buttons(keyboard)]
    assert labels == [
        "Теги", "Ночь", "Тюльпаны", "Фон", "Описание", "Правка", "Проверка", "Галерея"
    ]  # fmt: skip

    before = len(emulator.bot_messages)
    query = user.press_button(keyboard, _action(keyboard, "tag"))
    await emulator.wait_for_callback_answer(query)
    tags = await emulator.wait_for_message(contains("Теги", "•"), after=before)
    assert tags["reply_to_message_id"] == sent["message_id"]
    assert tags["text"].count("•") == 5  # TAG_TOP_K default
    # the progress message (queued, then running) became the result
    assert any("⏳" in old for old in tags["edits"]) and any("⚙️" in o for o in tags["edits"])
    assert any(
        str(a["chat_id"]) == "10" and a["action"] == "typing" for a in emulator.chat_actions
    )

    db: Storage = app.db
    photo = await db.last_photo(10)
    assert photo is not None and photo.path.read_bytes() == photos["coffee"]
    job = await db.get_job(1)
    assert job is not None and job.status is JobStatus.DONE and job.op == "tag"
    result = await db.get_result(job.id)
    assert result is not None and len(result.payload["tags"]) == 5


def _action(keyboard: Json, action: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(keyboard) if d.endswith(f":{action}"))


async def test_tag_as_reply_and_as_caption(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    user = emulator.user(11, "en")
    first = user.send_photo(photos["chelsea"])
    await keyboard_for(emulator, first)
    second = user.send_photo(photos["astronaut"])
    await keyboard_for(emulator, second)

    before = len(emulator.bot_messages)
    user.send_text("/tag", reply_to=first["message_id"])
    reply = await emulator.wait_for_message(contains("Tags", "•"), after=before)
    assert (
        reply["reply_to_message_id"] == first["message_id"]
    )  # the replied-to photo, not the last

    before = len(emulator.bot_messages)
    captioned = user.send_photo(photos["rocket"], caption="/tag")
    result = await emulator.wait_for_message(contains("Tags", "•"), after=before)
    assert result["reply_to_message_id"] == captioned["message_id"]

    before = len(emulator.bot_messages)
    user.send_text("/tag")  # no reply: the last photo
    result = await emulator.wait_for_message(contains("Tags", "•"), after=before)
    assert result["reply_to_message_id"] == captioned["message_id"]


async def test_image_as_document_and_bad_files(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes], broken_jpeg: bytes
):
    await start_bot()
    user = emulator.user(12)
    doc = user.send_document(photos["rocket"], "rocket.png", "image/png")
    keyboard = await keyboard_for(emulator, doc)
    assert _action(keyboard, "tag")

    before = len(emulator.bot_messages)
    user.send_document(b"%PDF-1.4 not an image", "invoice.pdf", "application/pdf")
    assert "не изображение" in (await emulator.wait_for_message(after=before))["text"]

    before = len(emulator.bot_messages)
    user.send_document(broken_jpeg, "broken.jpg", "image/jpeg")
    assert "Не получилось открыть" in (await emulator.wait_for_message(after=before))["text"]


async def test_album_of_three_with_caption(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    """An album is a set: one message with the set's keyboard, no keyboard per photo; a
    command as its caption runs over all of its photos (one summary, one ZIP)."""
    app = await start_bot()
    user = emulator.user(13)
    album = user.send_album([photos["coffee"], photos["chelsea"], photos["astronaut"]])
    message = await user.wait_for_message(lambda r: "Получено 3 фото" in (r["text"] or ""))
    assert message["reply_to_message_id"] == album[0]["message_id"]
    # the set's actions and its "To Wildberries" (issue 30), no photo's own buttons
    assert all(data.startswith(("s:", "pws:")) for _, data in emulator.buttons(message))

    before = len(emulator.bot_messages)
    album = user.send_album(
        [photos["coffee"], photos["rocket"], photos["astronaut"]], caption="/tag"
    )
    summary = await user.wait_for_message(contains("Теги", "для набора из 3 фото"), after=before)
    assert all(f"photo-0{i}" in summary["text"] for i in (1, 2, 3))
    await user.wait_for_message(lambda r: r["method"] == "sendDocument", after=before)
    assert not any(
        data.startswith("p:") for r in user.bot_messages for _, data in emulator.buttons(r)
    )
    assert (await app.db.last_photo(13)).message_id == album[-1]["message_id"]


async def test_guidance_unknown_command_and_no_photo(
    start_bot: StartBot, emulator: BotAPIEmulator
):
    await start_bot()
    user = emulator.user(14)
    user.send_text("здравствуйте, сколько стоит?")
    assert "Я работаю с фотографиями" in (await user.wait_for_message())["text"]
    before = len(emulator.bot_messages)
    user.send_text("/frobnicate now")
    assert "Не знаю команду /frobnicate" in (await user.wait_for_message(after=before))["text"]
    before = len(emulator.bot_messages)
    user.send_text("/tag")
    assert "Сначала пришлите фото" in (await user.wait_for_message(after=before))["text"]


async def test_button_of_a_photo_that_no_longer_exists(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot()
    user = emulator.user(15)
    keyboard = await keyboard_for(emulator, user.send_photo(photos["coffee"]))
    photo = await app.db.last_photo(15)
    await app.db.mark_photo_deleted(photo.id)
    before = len(emulator.bot_messages)
    answer = await emulator.wait_for_callback_answer(
        user.press_button(keyboard, _action(keyboard, "tag"))
    )
    assert "больше недоступно" in answer["text"] and answer.get("show_alert")
    assert len(emulator.bot_messages) == before  # no job, no message


async def test_background_menu_and_a_bad_background(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    await start_bot()
    user = emulator.user(16)
    keyboard = await keyboard_for(emulator, user.send_photo(photos["coffee"]))
    user.press_button(keyboard, _action(keyboard, "background"))
    menu = await emulator.wait_for_edit(
        keyboard["message_id"], lambda r: any(t == "pink" for t, _ in emulator.buttons(r))
    )
    before = len(emulator.bot_messages)
    pink = next(d for t, d in emulator.buttons(menu) if t == "pink")
    user.press_button(menu, pink)  # a real job since the background issue: a photo arrives
    assert (
        await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before, timeout=60)
    )["photo_bytes"]
    back = next(d for _, d in emulator.buttons(menu) if d.endswith(":back"))
    user.press_button(menu, back)
    await emulator.wait_for_edit(
        keyboard["message_id"], lambda r: any(t == "Теги" for t, _ in emulator.buttons(r))
    )
    before = len(emulator.bot_messages)
    user.send_text("/background ###")
    assert "Не понял фон" in (await user.wait_for_message(after=before))["text"]


async def test_hotel_domain_is_remembered(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    await start_bot()
    user = emulator.user(17)
    user.send_text("/domain")
    menu = await user.wait_for_message(contains("Что вы снимаете"))
    hotel = next(d for _, d in emulator.buttons(menu) if d.endswith(":hotel"))
    await emulator.wait_for_callback_answer(user.press_button(menu, hotel))
    await emulator.wait_for_edit(menu["message_id"], contains("отель"))
    before = len(emulator.bot_messages)
    user.send_photo(photos["astronaut"], caption="/tag")
    assert "(отель)" in (await user.wait_for_message(contains("•"), after=before))["text"]


async def test_allow_list_and_missing_weights(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes], tmp_path: Path
):
    await start_bot(ALLOWED_USERS="18", WEIGHTS_DIR=str(tmp_path / "empty"))
    emulator.user(99).send_text("/start")
    assert (
        "приглашённым" in (await emulator.wait_for_message(lambda r: r["chat_id"] == 99))["text"]
    )
    user = emulator.user(18)
    user.send_photo(photos["coffee"], caption="/tag")
    text = (await user.wait_for_message(contains("недоступно")))["text"]
    assert "модель не установлена" in text


async def test_unfinished_jobs_resume_after_restart(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes], tmp_path: Path
):
    database = tmp_path / "data" / "vitrina.sqlite3"
    user = emulator.user(19)
    sent = user.send_photo(photos["chelsea"])  # the bot is down: the update waits
    async with Storage(database, database.parent / "photos") as db:
        await db.upsert_user(19, "ru", None)
        photo = await db.add_photo(
            user_id=19,
            chat_id=19,
            message_id=sent["message_id"],
            file_id="f",
            file_unique_id="u",
            data=photos["chelsea"],
            width=320,
            height=213,
        )
        job = await db.create_job(user_id=19, chat_id=19, photo_id=photo.id, op="tag", params={})
        await db.set_job_status(job.id, JobStatus.RUNNING)
    app = await start_bot()
    resumed = await user.wait_for_message(contains("Теги", "•"))
    assert resumed["reply_to_message_id"] == sent["message_id"]
    assert (await app.db.get_job(job.id)).status is JobStatus.DONE


async def test_an_unexpected_fault_gets_a_short_answer(
    start_bot: StartBot, emulator: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch
):
    app = await start_bot()

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(app.db, "last_photo", broken)
    user = emulator.user(20, "en")
    user.send_text("/tag")
    text = (await user.wait_for_message())["text"]
    assert text.startswith("Something went wrong") and "database" not in text


async def test_queue_position_and_cancel_button(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    app = await start_bot()
    operation = app.services.operations["tag"]
    gate = threading.Event()
    real_run = operation.run

    def held_run(requests, context):  # the real CLIP run, held until the test lets it go
        gate.wait(10)
        return real_run(requests, context)

    operation.run = held_run  # type: ignore[method-assign]
    try:
        first, second = emulator.user(21), emulator.user(22, "en")
        first.send_photo(photos["coffee"], caption="/tag")
        await first.wait_for_message(contains("⚙️"))  # running, held at the gate
        second.send_photo(photos["chelsea"], caption="/tag")
        waiting = await second.wait_for_message(contains("you are next"))
        cancel = next(d for _, d in emulator.buttons(waiting) if d.startswith("cj:"))
        answer = await emulator.wait_for_callback_answer(second.press_button(waiting, cancel))
        assert answer["text"] == "Cancelling."
        await emulator.wait_for_edit(waiting["message_id"], contains("Tags: cancelled"))
    finally:
        gate.set()
    await first.wait_for_message(contains("Теги", "•"))
    job = await app.db.get_job(2)
    assert job is not None and job.status is JobStatus.CANCELLED


async def test_admins_hear_about_missing_weights_and_get_stats(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes], tmp_path: Path
):
    await start_bot(ADMIN_IDS="500", WEIGHTS_DIR=str(tmp_path / "empty"))
    admin = emulator.user(500, "en")
    admin.send_text("/start")
    await admin.wait_for_message()
    user = emulator.user(23)
    for _ in range(2):  # the admin is told once, however many users ask
        before = len(emulator.bot_messages)
        user.send_photo(photos["coffee"], caption="/tag")
        await user.wait_for_message(contains("сообщили администратору"), after=before)
    alerts = [r for r in admin.bot_messages if "model is missing" in (r["text"] or "")]
    assert len(alerts) == 1 and "vitrina weights download" in alerts[0]["text"]

    before = len(emulator.bot_messages)
    admin.send_text("/stats")
    stats = (await admin.wait_for_message(after=before))["text"]
    assert "Users: 2, photos: 2" in stats and "tag ✗" in stats and "night ✗" in stats
    before = len(emulator.bot_messages)
    user.send_text("/stats")  # not an admin: an unknown command
    assert "Не знаю команду /stats" in (await user.wait_for_message(after=before))["text"]


async def test_flood_control_delays_but_does_not_lose_the_result(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    await start_bot()
    user = emulator.user(24)
    emulator.flood("editMessageText", times=2, retry_after=1)
    user.send_photo(photos["coffee"], caption="/tag")
    tags = await user.wait_for_message(contains("Теги", "•"))
    assert sum(method == "editMessageText" for method, _ in emulator.calls) >= 3
    # the 429s were waited out: the progress message itself became the result, no duplicate
    assert [r["message_id"] for r in user.bot_messages if "•" in (r["text"] or "")] == [
        tags["message_id"]
    ]
    assert any("⏳" in old for old in tags["edits"])


async def test_album_led_by_a_video_and_html_in_input(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    await start_bot()
    user = emulator.user(25)
    group = emulator.new_media_group_id()
    video = emulator.send_video(25, b"\x00\x00\x00\x18ftypmp42 not really", media_group_id=group)
    photo = emulator.send_photo(25, photos["chelsea"], media_group_id=group)
    refusal = await user.wait_for_message(
        lambda r: r["reply_to_message_id"] == video["message_id"]
    )
    assert "Это не изображение" in refusal["text"]
    keyboard = await keyboard_for(emulator, photo)  # the one image of the album: on its own
    assert "Фото получено" in keyboard["text"]

    before = len(emulator.bot_messages)
    user.send_text("/background <1>")  # user text echoed back must not break HTML parsing
    assert "Не понял фон «<1>»" in (await user.wait_for_message(after=before))["text"]
