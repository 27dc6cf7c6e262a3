"""Drives the Bot API emulator with a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from io import BytesIO

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    ReplyParameters,
)
from PIL import Image
from skimage import data as skdata

from tests.emulator import BotAPIEmulator, EmulatorTimeout

USER = 42


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    return Image.fromarray(skdata.coffee())  # 600x400 RGB


@pytest.fixture(scope="module")
def png_bytes(coffee: Image.Image) -> bytes:
    return _encode(coffee, "PNG")


@pytest.fixture(scope="module")
def jpeg_bytes(coffee: Image.Image) -> bytes:
    return _encode(coffee.resize((300, 200)), "JPEG")


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emulator:
        emulator.user(USER)  # the chat exists once the user has talked to the bot
        yield emulator


def make_bot(emu: BotAPIEmulator, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    return Bot(token or emu.token, session=session)


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(emu)
    yield bot
    await bot.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def test_get_me_and_commands(emu: BotAPIEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (1000, True, "vitrina_test_bot")
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    assert emu.commands == [{"command": "start", "description": "Start"}]
    assert await bot.delete_webhook(drop_pending_updates=True) is True


async def test_send_message_with_keyboard_and_edit(emu: BotAPIEmulator, bot: Bot) -> None:
    sent = await bot.send_message(
        USER,
        "<b>Hello</b> &amp; welcome",
        parse_mode="HTML",
        reply_markup=keyboard(("Yes", "ans:yes"), ("No", "ans:no")),
    )
    record = emu.bot_messages[-1]
    assert record["message_id"] == sent.message_id and record["chat_id"] == USER
    assert record["text"] == sent.text == "Hello & welcome"
    assert record["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "ans:yes"}],
            [{"text": "No", "callback_data": "ans:no"}],
        ]
    }
    assert emu.buttons(record) == [("Yes", "ans:yes"), ("No", "ans:no")]
    assert sent.reply_markup is not None

    edited = await bot.edit_message_text(
        text="Done", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("Ok", "ok"))
    )
    assert not isinstance(edited, bool) and edited.text == "Done"
    assert record["text"] == "Done" and record["edits"] == ["Hello & welcome"]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="Done",
            chat_id=USER,
            message_id=sent.message_id,
            reply_markup=keyboard(("Ok", "ok")),
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=USER, message_id=999)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "<foo>broken", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=keyboard(("long", "x" * 65)))

    assert await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    assert record["reply_markup"] is None
    assert await bot.delete_message(USER, sent.message_id) is True
    assert record["deleted"] is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_send_photo_document_and_album(
    emu: BotAPIEmulator, bot: Bot, png_bytes: bytes, jpeg_bytes: bytes
) -> None:
    user_msg = emu.send_text(USER, "hi")
    sent = await bot.send_photo(
        USER,
        BufferedInputFile(png_bytes, "x.png"),
        caption="Result",
        reply_parameters=ReplyParameters(message_id=user_msg["message_id"]),
    )
    record = emu.bot_messages[-1]
    assert record["photo_bytes"] == png_bytes and record["text"] == "Result"
    assert record["reply_to_message_id"] == user_msg["message_id"]
    assert sent.photo is not None and (sent.photo[-1].width, sent.photo[-1].height) == (600, 400)
    assert max(sent.photo[0].width, sent.photo[0].height) <= 90
    assert await bot.download(sent.photo[-1].file_id) is not None

    again = await bot.send_photo(USER, sent.photo[-1].file_id)  # re-send by file_id
    assert again.photo is not None
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id
    assert emu.bot_messages[-1]["photo_bytes"] == png_bytes

    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")

    doc = await bot.send_document(USER, BufferedInputFile(b"a,b\n1,2\n", "table.csv"))
    assert doc.document is not None and doc.document.file_name == "table.csv"
    assert emu.bot_messages[-1]["document_bytes"] == b"a,b\n1,2\n"

    album = await bot.send_media_group(
        USER,
        [
            InputMediaPhoto(media=BufferedInputFile(png_bytes, "a.png"), caption="Two"),
            InputMediaPhoto(media=BufferedInputFile(jpeg_bytes, "b.jpg")),
        ],
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert album[0].caption == "Two" and album[1].caption is None
    records = emu.bot_messages[-2:]
    assert [r["photo_bytes"] for r in records] == [png_bytes, jpeg_bytes]
    assert all(r["method"] == "sendMediaGroup" for r in records)
    sent_before = len(emu.bot_messages)
    with pytest.raises(TelegramBadRequest, match="can't be mixed"):  # as Telegram refuses
        await bot.send_media_group(
            USER,
            [
                InputMediaPhoto(media=BufferedInputFile(png_bytes, "a.png")),
                InputMediaDocument(media=BufferedInputFile(b"a,b\n", "t.csv")),
            ],
        )
    assert len(emu.bot_messages) == sent_before  # nothing of the album was sent


async def test_user_updates_download_and_callbacks(
    emu: BotAPIEmulator, bot: Bot, jpeg_bytes: bytes
) -> None:
    user = emu.user(USER, language_code="en", first_name="Ann")
    text_msg = user.send_text("/start promo")
    photo_msg = user.send_photo(jpeg_bytes, caption="my cup", reply_to=text_msg["message_id"])
    doc_msg = user.send_document(b"%PDF-1.4 fake", "spec.pdf", "application/pdf")
    album = user.send_album([jpeg_bytes, jpeg_bytes], caption="both")
    assert photo_msg["message_id"] == text_msg["message_id"] + 1

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [1, 2, 3, 4, 5]
    start = updates[0].message
    assert start is not None and start.text == "/start promo"
    assert start.from_user is not None and start.from_user.language_code == "en"
    assert start.entities is not None and start.entities[0].type == "bot_command"
    assert start.entities[0].length == len("/start")
    photo = updates[1].message
    assert photo is not None and photo.photo is not None and photo.caption == "my cup"
    assert photo.reply_to_message is not None
    assert photo.reply_to_message.message_id == text_msg["message_id"]
    downloaded = await bot.download(photo.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == jpeg_bytes
    assert (await bot.get_file(doc_msg["document"]["file_id"])).file_path.startswith("documents/")
    assert updates[3].message.media_group_id == updates[4].message.media_group_id is not None
    assert updates[3].message.caption == "both" and updates[4].message.caption is None
    assert album[0]["photo"][-1]["file_unique_id"] == photo.photo[-1].file_unique_id

    # offset confirms: the same updates are not delivered again
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []

    sent = await bot.send_message(USER, "Pick", reply_markup=keyboard(("A", "pick:a")))
    query_id = user.press_button(emu.bot_messages[-1], "pick:a")
    with pytest.raises(ValueError, match="no button"):
        user.press_button(emu.bot_messages[-1], "pick:zzz")
    (update,) = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "pick:a"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Picked")
    answer = await emu.wait_for_callback_answer(query_id, timeout=1)
    assert answer["text"] == "Picked"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    assert await bot.send_chat_action(USER, "upload_photo")
    assert emu.chat_actions[-1]["action"] == "upload_photo"


async def test_long_poll_timeout_and_wakeup(emu: BotAPIEmulator, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 2.0

    async def later() -> None:  # a user who writes while the long poll waits
        await asyncio.sleep(0.2)  # the scenario's delay (what is tested), not a wait
        emu.send_text(USER, "wake up")

    task = asyncio.create_task(later())
    started = time.monotonic()
    (update,) = await bot.get_updates(timeout=5)
    await task
    assert update.message is not None and update.message.text == "wake up"
    assert time.monotonic() - started < 1.0


async def test_wait_helpers(emu: BotAPIEmulator, bot: Bot) -> None:
    async def reply_later() -> None:  # a bot that takes its time: the waits must wait
        await asyncio.sleep(0.1)  # the scenario's delays (what is tested), not waits
        sent = await bot.send_message(USER, "working…")
        await asyncio.sleep(0.1)
        await bot.edit_message_text(text="finished", chat_id=USER, message_id=sent.message_id)

    task = asyncio.create_task(reply_later())
    first = await emu.wait_for_message(lambda m: "working" in m["text"], timeout=2)
    done = await emu.wait_for_edit(first["message_id"], lambda m: m["text"] == "finished", 2)
    await task
    assert done is first and done["edits"] == ["working…"]
    with pytest.raises(EmulatorTimeout, match="finished") as caught:
        await emu.wait_for_message(after=len(emu.bot_messages), timeout=0.2)
    assert isinstance(caught.value, AssertionError)
    assert isinstance(caught.value, asyncio.TimeoutError)


async def test_waits_for_counts_of_messages_and_calls(emu: BotAPIEmulator, bot: Bot) -> None:
    user, before = emu.user(USER), len(emu.calls)
    polled = asyncio.ensure_future(emu.wait_for_calls("getUpdates", after=before, timeout=2))
    three = asyncio.ensure_future(
        user.wait_for_messages(lambda m: m["text"].startswith("n"), 3, timeout=2)
    )
    await bot.get_updates(timeout=0)
    assert (await polled)[0]["timeout"] == 0
    for text in ["n1", "other", "n2", "n3", "n4"]:
        await bot.send_message(USER, text)
    assert [m["text"] for m in await three] == ["n1", "n2", "n3"]
    sent = await emu.wait_for_calls("sendmessage", 2, predicate=lambda p: p["text"] != "other")
    assert [p["text"] for p in sent] == ["n1", "n2"]
    with pytest.raises(EmulatorTimeout, match="2 getUpdates calls"):
        await emu.wait_for_calls("getUpdates", 2, after=before, timeout=0.1)


async def test_errors_for_tokens_and_methods(emu: BotAPIEmulator) -> None:
    bad = make_bot(emu, "999:wrong-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bad.get_me()
    finally:
        await bad.session.close()
    session = AiohttpSession()
    http = await session.create_session()
    async with http.post(f"{emu.base_url}/bot{emu.token}/noSuchMethod") as response:
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }
    async with http.get(f"{emu.base_url}/file/bot{emu.token}/photos/nothing.jpg") as response:
        assert response.status == 404
    async with http.post(f"{emu.base_url}/botgarbage/getMe") as response:
        assert response.status == 404  # malformed token: Not Found, like Telegram
    await session.close()
    bot = make_bot(emu)
    try:
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(777, "nobody here")
        with pytest.raises(TelegramBadRequest, match="invalid file_id"):
            await bot.get_file("nope")
    finally:
        await bot.session.close()
