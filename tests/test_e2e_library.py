"""The library end to end: the real bot over HTTP against the Bot API emulator, tiny CLIP.

With tiny weights the pictures' similarities are noise: the ranking code is the real one,
and the words decide (a word match always ranks above a picture match)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.storage import Storage
from services.search.text import query_stems
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator, FakeUser
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
Json = dict[str, Any]

CAPTIONS = [
    "синяя кружка",
    "кроссовки белые",
    "чайники из стали",
    "платье красное",
    "настольная лампа",
    "кот на диване",
]


def _pictures(photos: dict[str, bytes], count: int) -> list[bytes]:
    """Distinct small JPEGs: the session's photos, then drawn ones."""
    found = list(photos.values())
    rng = np.random.default_rng(7)
    while len(found) < count:
        pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).resize((128, 96)).save(buffer, format="JPEG")
        found.append(buffer.getvalue())
    return found[:count]


async def _send_photos(
    emulator: BotAPIEmulator, user: FakeUser, pictures: list[bytes], captions: list[str | None]
) -> list[Json]:
    sent = []
    for picture, caption in zip(pictures, captions, strict=True):
        message = user.send_photo(picture, caption=caption)
        await user.wait_for_message(
            lambda r, m=message: r["reply_to_message_id"] == m["message_id"] and r["reply_markup"]
        )
        sent.append(message)
    return sent


def _text(record: Json) -> str:
    return record["text"] or ""


async def _ask(emulator: BotAPIEmulator, user: FakeUser, text: str, *marks: str) -> Json:
    before = len(emulator.bot_messages)
    user.send_text(text)
    return await user.wait_for_message(
        lambda r: all(mark in _text(r) for mark in marks), after=before
    )


async def test_find_by_caption_tags_and_none(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    db: Storage = app.db
    user = emulator.user(301)
    pictures = _pictures(photos, 6)
    sent = await _send_photos(emulator, user, pictures, CAPTIONS)

    # «кружки» finds «синяя кружка», first, and its original comes back by file id
    before = len(emulator.bot_messages)
    listing = await _ask(emulator, user, "/find кружки", "кружки")
    assert "«кружка» в подписи" in listing["text"] and listing["text"].startswith("По запросу")
    album = [r for r in emulator.bot_messages[before:] if r["method"] in ("sendPhoto",)]
    assert album and album[0]["photo_bytes"] == pictures[0]
    assert [text for text, _ in emulator.buttons(listing)] == ["1"]

    listing = await _ask(emulator, user, "/find чайник", "чайник")
    assert "«чайники» в подписи" in listing["text"]

    # a query that matches nothing says so (no photo has an embedding yet)
    nothing = await _ask(emulator, user, "/find жираф", "жираф")
    assert "ничего не нашлось" in nothing["text"] and not nothing["reply_markup"]
    usage = await _ask(emulator, user, "/find", "/find")
    assert "Напишите после команды" in usage["text"]

    # English by English tags: tag the sneakers, then search by one of its English tags
    before = len(emulator.bot_messages)
    user.send_text("/tag", reply_to=sent[1]["message_id"])
    await user.wait_for_message(lambda r: "•" in _text(r), after=before, timeout=30)
    photo = await db.photo_by_message(301, sent[1]["message_id"])
    assert photo is not None
    tags = await db.latest_tags([photo.id])
    english = [tag.en for tag in tags[photo.id].tags]
    word = next(tag for tag in english if query_stems(tag) and not set(query_stems(tag)) & {"mug"})
    before = len(emulator.bot_messages)
    listing = await _ask(emulator, user, f"/find {word}", "1.")
    assert "в тегах" in listing["text"].splitlines()[1]
    first = next(r for r in emulator.bot_messages[before:] if r["method"] != "sendMessage")
    assert first["photo_bytes"] == pictures[1]  # the word match first, whatever CLIP says

    # pressing a number opens the photo's card: its results and its buttons
    before = len(emulator.bot_messages)
    query = user.press_button(listing, emulator.buttons(listing)[0][1])
    await emulator.wait_for_callback_answer(query)
    card = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert card["photo_bytes"] == pictures[1] and "Теги:" in card["text"]
    labels = [text for text, _ in emulator.buttons(card)]
    assert labels[0] == "1. Теги" and "Фон" in labels and labels[-1] == "🗑 Удалить"


async def test_history_pages_and_opens_a_photo(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    user = emulator.user(302)
    pictures = _pictures(photos, 10)
    await _send_photos(emulator, user, pictures, [f"фото {i}" for i in range(10)])
    page = await _ask(emulator, user, "/history", "Ваши фото")
    assert "Ваши фото 1–8 из 10" in page["text"] and "«фото 9»" in page["text"].splitlines()[1]
    buttons = emulator.buttons(page)
    assert [text for text, _ in buttons] == [*map(str, range(1, 9)), "▶"]
    query = user.press_button(page, buttons[-1][1])
    await emulator.wait_for_callback_answer(query)
    turned = await user.wait_for_message(lambda r: "9–10 из 10" in _text(r))
    assert turned["message_id"] == page["message_id"]  # the same message, edited
    assert [text for text, _ in emulator.buttons(turned)] == ["1", "2", "◀"]
    assert "«фото 0»" in turned["text"] and "пока ничего не делали" in turned["text"]

    before = len(emulator.bot_messages)
    query = user.press_button(turned, emulator.buttons(turned)[1][1])
    await emulator.wait_for_callback_answer(query)
    card = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert card["photo_bytes"] == pictures[0] and "Результатов пока нет" in card["text"]


async def test_settings_change_the_language_at_once(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    user = emulator.user(303)  # Telegram says Russian
    menu = await _ask(emulator, user, "/settings", "Настройки")
    labels = [text for text, _ in emulator.buttons(menu)]
    assert labels[0] == "Язык: Русский" and "Теги: самые вероятные" in labels
    assert "Маркетплейс: Wildberries" in labels  # /check's profile (its default)

    query = user.press_button(menu, emulator.buttons(menu)[0][1])
    await emulator.wait_for_callback_answer(query)
    choices = await user.wait_for_message(lambda r: "Язык: выберите" in _text(r))
    english = next(data for text, data in emulator.buttons(choices) if text == "English")
    query = user.press_button(choices, english)
    answer = await emulator.wait_for_callback_answer(query)
    assert answer["text"] == "Saved: Language — English"
    menu = await user.wait_for_message(lambda r: "Settings" in _text(r))
    assert emulator.buttons(menu)[0][0] == "Language: English"
    # the next reply is in English, although Telegram still says Russian
    await _ask(emulator, user, "/history", "No photos yet")

    # tags mode: threshold, applied to the next /tag
    tags_row = next(data for text, data in emulator.buttons(menu) if text.startswith("Tags"))
    query = user.press_button(menu, tags_row)
    await emulator.wait_for_callback_answer(query)
    choices = await user.wait_for_message(lambda r: "Tags: choose" in _text(r))
    threshold = next(
        data for text, data in emulator.buttons(choices) if "threshold" in text.lower()
    )
    await emulator.wait_for_callback_answer(user.press_button(choices, threshold))
    before = len(emulator.bot_messages)
    user.send_photo(photos["coffee"], caption="/tag")
    await user.wait_for_message(lambda r: "Tags" in _text(r), after=before, timeout=30)
    db: Storage = app.db
    jobs = await db._jobs("user_id = ?", (303,))
    assert jobs[0].params["min_probability"] == pytest.approx(0.1)
    assert jobs[0].params["top_k"] == 0


async def test_delete_removes_the_photo_and_its_index_rows(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    db: Storage = app.db
    user = emulator.user(304)
    pictures = _pictures(photos, 2)
    sent = await _send_photos(emulator, user, pictures, ["синяя кружка", "красная кружка"])
    rows = await db.search_rows(304)
    assert rows == 4

    plain = await _ask(emulator, user, "/delete", "ответом на фото")
    assert not plain["reply_markup"]
    before = len(emulator.bot_messages)
    user.send_text("/delete", reply_to=sent[0]["message_id"])
    ask = await user.wait_for_message(lambda r: "Удалить это фото" in _text(r), after=before)
    no, yes = emulator.buttons(ask)[1][1], emulator.buttons(ask)[0][1]
    await emulator.wait_for_callback_answer(user.press_button(ask, no))
    await user.wait_for_message(lambda r: "Ничего не удалено" in _text(r))
    assert await db.search_rows(304) == rows

    user.send_text("/delete", reply_to=sent[0]["message_id"])
    ask = await user.wait_for_message(
        lambda r: "Удалить это фото" in _text(r) and r["message_id"] != ask["message_id"]
    )
    photo = await db.photo_by_message(304, sent[0]["message_id"])
    assert photo is not None
    await emulator.wait_for_callback_answer(user.press_button(ask, emulator.buttons(ask)[0][1]))
    await user.wait_for_message(lambda r: "Фото и его результаты удалены" in _text(r))
    assert await db.get_photo(photo.id) is None
    await eventually(lambda: not photo.path.exists())  # the files go in the background
    assert await db.search_rows(304) == 2
    listing = await _ask(emulator, user, "/find кружка", "кружка")
    assert "нашлось 1 фото" in listing["text"]
    assert yes  # the first confirmation's yes was never pressed


async def test_groups_sends_a_contact_sheet_per_group(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    user = emulator.user(305, "en")
    few = await _ask(emulator, user, "/groups", "at least two photos")
    assert few
    await _send_photos(emulator, user, _pictures(photos, 5), [None] * 5)
    before = len(emulator.bot_messages)
    user.send_text("/groups")
    summary = await user.wait_for_message(
        lambda r: "distinct top tags" in _text(r), after=before, timeout=60
    )
    assert summary["text"].startswith("5 photos →")
    sheets = [r for r in emulator.bot_messages[before:] if r["method"] == "sendPhoto"]
    assert sheets and all(_text(sheet).startswith("Group ") for sheet in sheets)
    assert sum(int(_text(s).rsplit("— ", 1)[1].split()[0]) for s in sheets) == 5
