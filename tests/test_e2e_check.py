"""The marketplace check end to end: the real bot over HTTP against the emulator, the real
operations on tiny weights (the tiny text detector is a local-contrast filter, so it finds
the drawn text; the tiny cut is noise), Tesseract when installed. Photo -> Check -> the
grade message with its buttons -> Clean text -> a before/after photo -> Fix for
Wildberries -> a compliant JPEG document with its own check under it."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.check_rendering import split_caption
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.marketplace_photos import DRAW

pytestmark = pytest.mark.e2e
Json = dict[str, Any]
GRADES_RU = (
    "Хорошая инфографика",
    "Плохая инфографика",
    "Другая инфографика",
    "Чистое фото, хороший фон",
    "Чистое фото, плохой фон",
)
GRADES_EN = (
    "Good infographic",
    "Bad infographic",
    "Other infographic",
    "Clean photo, good background",
    "Clean photo, bad background",
)


def jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def button(record: Json, suffix: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(record) if d.endswith(suffix))


def labels(record: Json) -> list[str]:
    return [text for text, _ in BotAPIEmulator.buttons(record)]


def replies_to(sent: Json, method: str):
    return lambda r: r["method"] == method and r["reply_to_message_id"] == sent["message_id"]


def graded(grades: tuple[str, ...]):
    return lambda r: bool(r["text"]) and any(g in r["text"] for g in grades)


async def test_photo_check_clean_and_fix_for_wildberries(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot()
    user = emulator.user(170)
    photo = DRAW["good_infographic"](1)
    sent = user.send_photo(jpeg(photo.image))
    keyboard = await user.wait_for_message(
        lambda r: r["reply_to_message_id"] == sent["message_id"] and r["reply_markup"]
    )
    assert labels(keyboard)[-2:] == ["Проверка", "Галерея"]  # the photo keyboard's own row
    user.press_button(keyboard, button(keyboard, ":check"))
    checked = await user.wait_for_message(graded(GRADES_RU), timeout=60)
    assert "проверка для Wildberries" in checked["text"]
    assert "Почему:" in checked["text"]
    # the photo came compressed at 600×800: both numbers, Wildberries' minimum named
    assert "Размер 600×800 — меньше 900×1200 для Wildberries (обязательно)" in checked["text"]
    assert "рекомендуется" in checked["text"]  # the unverified/optional ones say so
    assert labels(checked)[:3] == [
        "🧽 Убрать текст",
        "🛠 Исправить для Wildberries",
        "🎨 Новый фон",
    ]
    assert labels(checked)[3:] == ["✓ WB", "Ozon", "Я.Маркет", "Общий"]
    assert (await app.db.get_user(170)).profile == "wb"

    before = len(emulator.bot_messages)
    user.press_button(checked, button(checked, ":clean:"))
    cleaned = await user.wait_for_message(replies_to(sent, "sendPhoto"), after=before, timeout=90)
    assert "Убран" in cleaned["text"] or "не нашлось" in cleaned["text"]
    assert labels(cleaned)[:2] == ["🔁 Ещё вариант", "📎 Полный размер"]
    preview = Image.open(io.BytesIO(cleaned["photo_bytes"]))
    assert preview.width > preview.height  # a portrait photo: before | after, side by side
    before = len(emulator.bot_messages)
    user.press_button(cleaned, button(cleaned, ":full"))
    full = await user.wait_for_message(replies_to(sent, "sendDocument"), after=before)
    cleaned_png = Image.open(io.BytesIO(full["document_bytes"]))
    assert cleaned_png.format == "PNG" and cleaned_png.size == (600, 800)

    before = len(emulator.bot_messages)
    user.press_button(checked, button(checked, ":fix:wb"))
    fixed = await user.wait_for_message(
        replies_to(sent, "sendDocument"), after=before, timeout=120
    )
    card = Image.open(io.BytesIO(fixed["document_bytes"]))
    assert fixed["document_name"].endswith(".jpg")
    assert card.format == "JPEG" and card.mode == "RGB"
    assert card.size == (1200, 1600) and card.width * 4 == card.height * 3
    pixels = np.asarray(card).astype(int)
    for corner in (pixels[:40, :40], pixels[:40, -40:], pixels[-40:, :40], pixels[-40:, -40:]):
        assert corner.mean() > 245 and corner.min() > 200  # near white
    assert "Готово для Wildberries: 1200×1600, JPEG" in fixed["text"]
    assert any(g in fixed["text"] for g in GRADES_RU)  # the card's own check under it
    assert "Размер" not in fixed["text"]  # 1200×1600 passes both size rules


async def test_check_with_a_profile_caption_remembers_it_and_refuses_an_unknown_one(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot()
    user = emulator.user(171, "en")
    small = Image.fromarray(np.full((400, 600, 3), 255, np.uint8))
    sent = user.send_photo(jpeg(small), caption="/check озон")
    checked = await user.wait_for_message(graded(GRADES_EN), timeout=60)
    assert "checked for Ozon" in checked["text"]
    assert "Size 600×400 is below 900×1200 for Ozon (recommended)" in checked["text"]
    assert "Aspect 3:2: Ozon wants 3:4" in checked["text"]
    assert labels(checked)[1] == "🛠 Fix for Ozon" and "✓ Ozon" in labels(checked)
    assert (await app.db.get_user(171)).profile == "ozon"

    # a plain /check now means Ozon; a profile button checks for another and keeps it
    before = len(emulator.bot_messages)
    user.send_text("/check", reply_to=sent["message_id"])
    again = await user.wait_for_message(graded(GRADES_EN), after=before, timeout=60)
    assert "checked for Ozon" in again["text"]
    before = len(emulator.bot_messages)
    user.press_button(again, button(again, ":profile:ym"))
    ym = await user.wait_for_message(graded(GRADES_EN), after=before, timeout=60)
    assert "checked for Yandex Market" in ym["text"] and "✓ Ya.Market" in labels(ym)
    assert (await app.db.get_user(171)).profile == "ym"

    before = len(emulator.bot_messages)
    user.send_text("/check amazon", reply_to=sent["message_id"])
    refused = await user.wait_for_message(after=before)
    assert "I don't know the marketplace «amazon»" in refused["text"]
    assert "wb, ozon, ym, generic" in refused["text"]


async def test_new_background_from_a_check_opens_the_background_menu(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    user = emulator.user(172)
    sent = user.send_photo(jpeg(DRAW["clean_good_background"](0).image), caption="/check")
    checked = await user.wait_for_message(graded(GRADES_RU), timeout=60)
    before = len(emulator.bot_messages)
    user.press_button(checked, button(checked, ":bg:"))
    menu = await user.wait_for_message(
        lambda r: r["reply_to_message_id"] == sent["message_id"] and "pink" in labels(r),
        after=before,
    )
    assert "Студия" in labels(menu)


def test_a_long_caption_is_split_at_a_line_break() -> None:
    text = "\n".join(f"• line {i} " + "x" * 40 for i in range(60))
    caption, rest = split_caption(text)
    assert len(caption) <= 1024 and caption.endswith("x") and rest
    assert (caption + "\n" + rest).split() == text.split()
    assert split_caption("short") == ("short", None)
