"""Publishing to Wildberries end to end (issue 30): the bot over the Bot API emulator, WB's
Content API as the local double (tests/wb_double.py), over real HTTP both.

/connect wb (the token's message deleted, no clear token in the database files), a set of
six files named by article -> /publish wb -> the cards listed -> Add -> each photo after
the card's own, in order, a 429 on the way waited out; a stop while WB holds a photo it
already took -> the next start resumes without sending it twice; /forget_me -> no token."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.storage import Storage
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator, FakeUser
from tests.set_photos import action, is_set_message, is_zip
from tests.waiting import eventually
from tests.wb_double import WbDouble, running_wb

pytestmark = pytest.mark.e2e

TOKEN = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjUwMTAxdjEi.E2E-wb-TOKEN-0123456789-zQ9x"
SECRET_KEY = "an operator's long random secret for the e2e test"


def card_photo(index: int) -> bytes:
    """A 720x960 JPEG (WB's minimum is 700x900), each one different."""
    image = Image.new("RGB", (720, 960), (40 * index % 255, 90, 200 - 20 * index))
    image.paste((255, 255, 255), (50 + 10 * index, 80, 400, 600))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


#: the Content bucket's speed in these tests: 5 % of WB's (30 ms a request). At 2 % (12 ms)
#: the double's half-token slack was 6 ms, less than a loaded CI machine's jitter between
#: the bot letting a request go and the double reading it: a stray 429 (issue 31's CI)
RATE_SCALE = 0.05


def six_cards() -> WbDouble:
    """Cards 1001..1006 (nmID 2001..2006), two photos each; the Content bucket at 5 %."""
    double = WbDouble(TOKEN, interval_s=0.6 * RATE_SCALE)
    for i in range(1, 7):
        double.add_card(2000 + i, f"100{i}", f"Кружка {i}", photos=2)
    return double


@pytest.fixture
async def wb() -> AsyncIterator[WbDouble]:
    async with running_wb(six_cards()) as double:
        yield double


def settings_for(wb: WbDouble, **more: str) -> dict[str, str]:
    return {
        "SECRET_KEY": SECRET_KEY,
        "WB_CONTENT_API_URL": wb.base_url,
        "WB_RATE_SCALE": str(RATE_SCALE),
        "SET_WINDOW_S": "2",
    } | more


def files_holding(database: Path, secret: str) -> list[str]:
    return [
        path.name
        for path in database.parent.glob(database.name + "*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


async def erasures_finished(db: Storage) -> None:
    async def finished() -> bool:
        return await db.pending_erasures() == [] and await db.inbox_backlog() == 0

    await eventually(finished, timeout=20, message="erasures pending")


async def connect(user: FakeUser, emulator: BotAPIEmulator) -> None:
    before = len(emulator.bot_messages)
    user.send_text("/connect wb")
    await user.wait_for_message(lambda r: "token" in (r["text"] or ""), after=before)
    before = len(emulator.bot_messages)
    sent = user.send_text(TOKEN)
    await user.wait_for_message(lambda r: "connected (token …zQ9x)" in r["text"], after=before)
    deleted = [p for m, p in emulator.calls if m == "deleteMessage"]
    assert any(str(p.get("message_id")) == str(sent["message_id"]) for p in deleted)


async def send_set(user: FakeUser, count: int = 6) -> list[bytes]:
    photos = [card_photo(i) for i in range(1, count + 1)]
    for i, data in enumerate(photos, 1):
        user.send_document(data, f"100{i}-1.jpg", "image/jpeg")
    await user.wait_for_message(is_set_message(count), timeout=30)
    return photos


async def publish_menu(user: FakeUser, emulator: BotAPIEmulator) -> dict:
    before = len(emulator.bot_messages)
    user.send_text("/publish wb")
    first = await user.wait_for_message(lambda r: "Looking up" in r["text"], after=before)
    return await emulator.wait_for_edit(
        first["message_id"], lambda r: "Cards found" in (r["text"] or ""), timeout=30
    )


def press_mode(user: FakeUser, emulator: BotAPIEmulator, menu: dict, mode: str) -> None:
    data = next(d for _, d in emulator.buttons(menu) if d.endswith(f":{mode}"))
    user.press_button(menu, data)


async def test_connect_publish_six_cards_with_a_429_then_forget_me(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    wb: WbDouble,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await start_bot(**settings_for(wb))
    db: Storage = app.db
    database = Path(app.settings.database_path)
    user = emulator.user(7301, "en")
    await connect(user, emulator)
    await erasures_finished(db)
    assert files_holding(database, TOKEN) == []  # the file, its WAL: no clear token
    assert files_holding(database, TOKEN[-30:]) == []

    photos = await send_set(user)
    menu = await publish_menu(user, emulator)
    for i in range(1, 7):
        assert f"100{i} → {2000 + i}, “Кружка {i}”, photos now: 2" in menu["text"]
    assert wb.uploads == []  # nothing changed before the choice

    wb.limit_at_upload, wb.retry_after_s = 3, 1
    before = len(emulator.bot_messages)
    press_mode(user, emulator, menu, "add")
    summary = await user.wait_for_message(
        lambda r: "Photos uploaded" in (r["text"] or ""), after=before, timeout=60
    )
    assert summary["text"] == "Photos uploaded: 6, to 6 cards."
    for i, data in enumerate(photos, 1):
        card = wb.cards[2000 + i]
        digest = hashlib.sha256(data).hexdigest()
        assert card.photos == [f"old-{2000 + i}-0", f"old-{2000 + i}-1", digest]
    assert sorted(number for _, number, _ in wb.uploads) == [3] * 6
    assert wb.limited == ["/content/v3/media/file"]  # the 429 was waited out
    progress = [r for r in emulator.bot_messages[before:] if "Uploading" in (r["text"] or "")]
    assert len(progress) == 1 and "6 of 6" in progress[0]["text"]

    before = len(emulator.bot_messages)
    user.send_text("/settings")
    shown = await user.wait_for_message(lambda r: "Wildberries" in r["text"], after=before)
    assert "Wildberries: connected (token …zQ9x)" in shown["text"]

    user.send_text("/forget_me")
    ask = await user.wait_for_message(lambda r: bool(r["reply_markup"]), after=before + 1)
    await emulator.wait_for_callback_answer(user.press_button(ask, emulator.buttons(ask)[0][1]))
    await user.wait_for_message(lambda r: "everything I kept" in (r["text"] or ""))
    await erasures_finished(db)
    assert await db.token_of(user.user_id, "wb") is None
    # no log line of ours or aiogram's holds it (aiosqlite's statement log is off in
    # production: bot/logs.py, tests/test_erasure.py; caplog turns it on here)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiosqlite")
    assert TOKEN not in logged and TOKEN[-30:] not in logged


async def test_a_stop_while_wb_holds_a_photo_resumes_without_sending_it_twice(
    start_bot: StartBot, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    """WB keeps the 4th photo and the bot never hears back: the step stays 'sending'. The
    next start reads that card back, sees the photo there and goes on from the 5th."""
    app = await start_bot(**settings_for(wb))
    user = emulator.user(7302, "en")
    await connect(user, emulator)
    photos = await send_set(user)
    menu = await publish_menu(user, emulator)
    wb.hold_at_upload = 4
    before = len(emulator.bot_messages)
    press_mode(user, emulator, menu, "add")
    await asyncio.wait_for(wb.held.wait(), 30)
    await app.stop()  # the answer to the 4th upload never reached this process
    assert len(wb.uploads) == 4
    wb.hold_at_upload = None

    await start_bot(**settings_for(wb))
    summary = await user.wait_for_message(
        lambda r: "Photos uploaded" in (r["text"] or ""), after=before, timeout=60
    )
    assert summary["text"] == "Photos uploaded: 6, to 6 cards."
    assert len(wb.uploads) == 6  # the 4th was not sent again
    for i, data in enumerate(photos, 1):
        assert wb.cards[2000 + i].photos[2:] == [hashlib.sha256(data).hexdigest()]
    progress = [r for r in emulator.bot_messages[before:] if "Uploading" in (r["text"] or "")]
    assert len(progress) == 1 and "6 of 6" in progress[0]["text"]  # one message, resumed


async def test_without_secret_key_connect_stores_nothing(
    start_bot: StartBot, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    app = await start_bot(WB_CONTENT_API_URL=wb.base_url)
    user = emulator.user(7303, "ru")
    user.send_text("/connect wb")
    said = await user.wait_for_message(lambda r: "SECRET_KEY" in (r["text"] or ""))
    assert "администратор" in said["text"]
    before = len(emulator.bot_messages)
    user.send_text(TOKEN)  # no dialogue was opened: not taken as a token
    await user.wait_for_message(after=before)
    assert await app.db.token_of(user.user_id, "wb") is None
    assert wb.requests == []


async def test_disconnect_erases_the_sealed_token(
    start_bot: StartBot, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    app = await start_bot(**settings_for(wb))
    db: Storage = app.db
    database = Path(app.settings.database_path)
    user = emulator.user(7304, "en")
    await connect(user, emulator)
    stored = await db.token_of(user.user_id, "wb")
    assert stored is not None and stored[1] == "zQ9x" and TOKEN.encode() not in stored[0]
    await erasures_finished(db)
    assert files_holding(database, stored[0].decode()) != []  # the sealed token is kept
    before = len(emulator.bot_messages)
    user.send_text("/disconnect")
    await user.wait_for_message(lambda r: "disconnected" in r["text"], after=before)
    assert await db.token_of(user.user_id, "wb") is None
    await erasures_finished(db)
    assert files_holding(database, stored[0].decode()) == []  # not even sealed, WAL included


async def test_bad_input_is_named_before_anything_changes(
    start_bot: StartBot, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    """A photo under 700x900 refused by name, one without an article, one whose card does
    not exist; then WB's "200, nothing saved" is caught by the card read back; then a token
    WB revoked."""
    await start_bot(**settings_for(wb))
    user = emulator.user(7305, "en")
    await connect(user, emulator)
    small = io.BytesIO()
    Image.new("RGB", (600, 800), (10, 20, 30)).save(small, "JPEG")
    user.send_document(card_photo(1), "1001-1.jpg", "image/jpeg")
    user.send_document(small.getvalue(), "1002-1.jpg", "image/jpeg")
    user.send_document(card_photo(3), "IMG_0001.jpg", "image/jpeg")
    user.send_document(card_photo(4), "7777-1.jpg", "image/jpeg")
    await user.wait_for_message(is_set_message(4), timeout=30)
    menu = await publish_menu(user, emulator)
    text = menu["text"]
    assert "1001 → 2001" in text and "2002" not in text
    assert "1002-1.jpg: smaller than 700×900 (600×800)" in text
    assert "IMG_0001.jpg: no article in the file name" in text
    assert "7777-1.jpg: no card with the article 7777" in text
    assert "/fix wb" in text

    wb.save_nothing = True
    before = len(emulator.bot_messages)
    press_mode(user, emulator, menu, "add")
    summary = await user.wait_for_message(
        lambda r: "Photos uploaded" in (r["text"] or ""), after=before, timeout=30
    )
    assert summary["text"].splitlines() == [
        "Photos uploaded: 0, to 0 cards.",
        "1 card: error —",
        "• 1001 → 2001: Wildberries said OK, but the card holds 2 photos instead of 3",
    ]

    wb.revoked = True
    before = len(emulator.bot_messages)
    user.send_text("/publish wb")
    said = await user.wait_for_message(
        lambda r: "no longer works" in (r["text"] or ""), after=before, timeout=30
    )
    assert said["text"] == "The token no longer works: /connect wb"


async def test_six_fixed_cards_go_on_from_the_sets_button(
    start_bot: StartBot, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    """The issue's case: a set fixed for WB (1200x1600 cards), then the set's "To
    Wildberries": the Fix results go onto the cards, not the photos."""
    app = await start_bot(**settings_for(wb))
    db: Storage = app.db
    user = emulator.user(7306, "en")
    await connect(user, emulator)
    await send_set(user)
    message = await user.wait_for_message(is_set_message(6))
    before = len(emulator.bot_messages)
    user.press_button(message, action(message, "fix"))
    await user.wait_for_message(is_zip, after=before, timeout=180)

    before = len(emulator.bot_messages)
    publish = next(d for _, d in emulator.buttons(message) if d.startswith("pws:"))
    user.press_button(message, publish)
    first = await user.wait_for_message(lambda r: "Looking up" in r["text"], after=before)
    menu = await emulator.wait_for_edit(
        first["message_id"], lambda r: "Cards found" in (r["text"] or ""), timeout=30
    )
    before = len(emulator.bot_messages)
    press_mode(user, emulator, menu, "replace_main")
    summary = await user.wait_for_message(
        lambda r: "Photos uploaded" in (r["text"] or ""), after=before, timeout=60
    )
    assert summary["text"] == "Photos uploaded: 6, to 6 cards."
    assert sorted(nm_id for nm_id, _, _ in wb.uploads) == list(range(2001, 2007))
    for nm_id, number, digest in wb.uploads:  # the main photo replaced by the Fix card
        card = wb.cards[nm_id]
        assert number == 1 and card.photos == [digest, f"old-{nm_id}-1"]
        assert wb.sizes[digest] == (1200, 1600)  # the Fix card, not the 720x960 photo
    runs = await db.running_publish_runs()
    assert runs == []


async def test_replace_all_leaves_only_the_new_photos_and_a_503_is_gone_through(
    start_bot: StartBot, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    """Replace all on a card of five: the two photos take places 1 and 2, the other three
    go (media/save with the card's own links); WB down for one upload: the run reads the
    card back and sends that photo again (it was not taken), once."""
    wb.add_card(3001, "ABC", "Платье", photos=5)
    await start_bot(**settings_for(wb))
    user = emulator.user(7307, "en")
    await connect(user, emulator)
    photos = [card_photo(7), card_photo(8)]
    user.send_document(photos[0], "ABC_main.jpg", "image/jpeg")
    user.send_document(photos[1], "ABC_back.png", "image/jpeg")  # the name, not the bytes
    await user.wait_for_message(is_set_message(2), timeout=30)
    menu = await publish_menu(user, emulator)
    assert "ABC → 3001, “Платье”, photos now: 5" in menu["text"]
    wb.unavailable_at_upload = 2
    before = len(emulator.bot_messages)
    press_mode(user, emulator, menu, "replace_all")
    summary = await user.wait_for_message(
        lambda r: "Photos uploaded" in (r["text"] or ""), after=before, timeout=60
    )
    assert summary["text"] == "Photos uploaded: 2, to 1 card."
    digests = [hashlib.sha256(data).hexdigest() for data in photos]
    assert wb.cards[3001].photos == digests
    assert [number for _, number, _ in wb.uploads] == [1, 2]
    assert wb.requests.count("/content/v3/media/save") == 1


async def test_a_fix_cards_button_puts_it_on_the_card_its_caption_names(
    start_bot: StartBot, emulator: BotAPIEmulator, wb: WbDouble
) -> None:
    """One photo (not a set): its caption «арт. 1003» names the card; the Fix card's own
    "To Wildberries" button offers it, Add puts it after the card's photos."""
    await start_bot(**settings_for(wb, SET_WINDOW_S="0"))
    user = emulator.user(7308, "en")
    await connect(user, emulator)
    sent = user.send_document(card_photo(3), "IMG_2041.jpg", "image/jpeg", caption="арт. 1003")
    await user.wait_for_message(lambda r: r["reply_to_message_id"] == sent["message_id"])
    before = len(emulator.bot_messages)
    user.send_text("/fix wb", reply_to=sent["message_id"])
    fixed = await user.wait_for_message(
        lambda r: any(d.endswith(":publish") for _, d in emulator.buttons(r)),
        after=before,
        timeout=120,
    )
    before = len(emulator.bot_messages)
    user.press_button(fixed, next(d for _, d in emulator.buttons(fixed) if d.endswith(":publish")))
    first = await user.wait_for_message(lambda r: "Looking up" in r["text"], after=before)
    menu = await emulator.wait_for_edit(
        first["message_id"], lambda r: "Cards found" in (r["text"] or ""), timeout=30
    )
    # a lone photo's file name is not kept (only a set's are): it is named by its id
    assert "1003 → 2003" in menu["text"] and "to upload: photo-" in menu["text"]
    before = len(emulator.bot_messages)
    press_mode(user, emulator, menu, "add")
    summary = await user.wait_for_message(
        lambda r: "Photos uploaded" in (r["text"] or ""), after=before, timeout=60
    )
    assert summary["text"] == "Photos uploaded: 1, to 1 card."
    ((nm_id, number, digest),) = wb.uploads
    assert (nm_id, number) == (2003, 3) and wb.sizes[digest] == (1200, 1600)
