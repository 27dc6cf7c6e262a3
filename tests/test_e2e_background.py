"""Background end to end: the real bot over HTTP, the real ObjectCutter on tiny ISNet + SAM
weights (their cuts are noise, so the checks are about plumbing, sizes, modes and which
pixels come from where), and the tiny inpainting model where a prompt is needed."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator

pytestmark = pytest.mark.e2e
Json = dict[str, Any]


def two_objects() -> bytes:
    """A light table with a red box and a blue box: two candidate objects."""
    pixels = np.full((120, 160, 3), 235, np.uint8)
    pixels[30:90, 15:70] = (200, 30, 30)
    pixels[40:80, 100:145] = (30, 60, 200)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def png(colour: tuple[int, int, int], size: tuple[int, int] = (200, 150)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def image_of(record: Json) -> Image.Image:
    data = record["photo_bytes"] or record["document_bytes"]
    return Image.open(io.BytesIO(data))


def closer(result: np.ndarray, source: np.ndarray, colour: tuple[int, int, int]) -> float:
    """How much nearer (mean RGB distance) `result` is to `colour` than `source` is."""
    target = np.asarray(colour)
    return float(np.abs(source - target).mean() - np.abs(result - target).mean())


def is_result(sent: Json, method: str = "sendPhoto"):
    return lambda r: r["method"] == method and r["reply_to_message_id"] == sent["message_id"]


def button(record: Json, suffix: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(record) if d.endswith(suffix))


async def keyboard_for(emulator: BotAPIEmulator, user_message: Json) -> Json:
    return await emulator.wait_for_message(
        lambda r: r["reply_to_message_id"] == user_message["message_id"] and r["reply_markup"]
    )


async def test_pink_from_the_menu_then_wrong_object_then_card(
    start_bot: StartBot, emulator: BotAPIEmulator
):
    app = await start_bot()
    user = emulator.user(40)
    sent = user.send_photo(two_objects())
    keyboard = await keyboard_for(emulator, sent)
    user.press_button(keyboard, button(keyboard, ":background"))
    menu = await emulator.wait_for_edit(
        keyboard["message_id"], lambda r: any(t == "pink" for t, _ in emulator.buttons(r))
    )
    labels = [text for text, _ in emulator.buttons(menu)]
    assert {"Студия", "Мрамор", "Дерево", "Бетон", "Лён"} <= set(labels)
    before = len(emulator.bot_messages)
    user.press_button(menu, button(menu, ":pink"))
    first = await emulator.wait_for_message(is_result(sent), after=before, timeout=60)
    assert image_of(first).size == (160, 120)
    assert "Фон: pink (#ffc0cb)" in first["text"] and "объект 1 из" in first["text"]
    extras = [text for text, _ in emulator.buttons(first)][:4]
    assert extras == ["🔁 Ещё вариант", "📎 Полный размер", "🎯 Не тот объект?", "🛍 Карточка 3:4"]
    job = await app.db.get_job(1)
    stored = await app.db.get_result(job.id)
    assert stored.kind == "image" and (app.db.results_dir / stored.payload["file"]).is_file()
    assert stored.payload["width"] == 160 and stored.payload["kind"] == "colour"

    before = len(emulator.bot_messages)
    user.press_button(first, button(first, ":wrong"))
    second = await emulator.wait_for_message(is_result(sent), after=before, timeout=60)
    assert second["message_id"] != first["message_id"] and "объект 2 из" in second["text"]
    assert image_of(second).size == (160, 120)
    assert not np.array_equal(np.asarray(image_of(first)), np.asarray(image_of(second)))

    before = len(emulator.bot_messages)
    user.press_button(second, button(second, ":card"))
    card = await emulator.wait_for_message(
        is_result(sent, "sendDocument"), after=before, timeout=60
    )
    assert image_of(card).size == (900, 1200) and image_of(card).format == "PNG"
    assert "900×1200" in card["text"] and "объект 2 из" in card["text"]
    corner = np.asarray(image_of(card).convert("RGB"))[:20, :20]
    assert (corner == (255, 192, 203)).all()  # the margin is the chosen pink


async def test_transparent_caption_gives_an_rgba_png_document(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    await start_bot()
    user = emulator.user(41, "en")
    sent = user.send_photo(photos["coffee"], caption="/background transparent")
    result = await user.wait_for_message(is_result(sent, "sendDocument"), timeout=60)
    image = image_of(result)
    original = Image.open(io.BytesIO(photos["coffee"]))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == original.size
    alpha = np.asarray(image.getchannel("A"))
    assert alpha.min() < 255  # something became transparent
    assert result["document_name"].endswith(".png") and "transparent (PNG)" in result["text"]


async def test_the_users_second_photo_becomes_the_background(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
):
    await start_bot(SET_WINDOW_S="0")  # photos one by one, each on its own (not a set)
    user = emulator.user(42)
    product = user.send_photo(two_objects())
    await keyboard_for(emulator, product)
    before = len(emulator.bot_messages)
    user.send_photo(png((0, 0, 255)), caption="/background")  # the caption rule
    result = await user.wait_for_message(is_result(product), after=before, timeout=60)
    assert "ваше фото" in result["text"]
    pixels = np.asarray(image_of(result).convert("RGB")).astype(int)
    source = np.asarray(Image.open(io.BytesIO(two_objects())).convert("RGB")).astype(int)
    assert pixels.shape == source.shape
    assert closer(pixels, source, (0, 0, 255)) > 30  # the blue photo shows through

    # the reply rule: a product, a background photo sent plainly, then `/background` as a
    # reply to the background photo; the product is the photo sent just before it
    product = user.send_photo(two_objects())
    await keyboard_for(emulator, product)
    scenery = user.send_photo(png((0, 200, 0), (90, 300)))
    await keyboard_for(emulator, scenery)
    before = len(emulator.bot_messages)
    user.send_text("/background", reply_to=scenery["message_id"])
    again = await user.wait_for_message(is_result(product), after=before, timeout=60)
    greens = np.asarray(image_of(again).convert("RGB")).astype(int)
    assert greens.shape == source.shape and closer(greens, source, (0, 200, 0)) > 30

    # an album of two captioned /background: product first, background second
    before = len(emulator.bot_messages)
    album = user.send_album([two_objects(), png((250, 200, 0))], caption="/background")
    paired = await user.wait_for_message(is_result(album[0]), after=before, timeout=60)
    yellow = np.asarray(image_of(paired).convert("RGB")).astype(int)
    assert closer(yellow, source, (250, 200, 0)) > 30

    # the first photo of a chat with a bare /background has no product: the menu, as before
    other = emulator.user(43)
    before = len(emulator.bot_messages)
    other.send_photo(png((10, 10, 10)), caption="/background")
    menu = await other.wait_for_message(
        lambda r: "Выберите фон" in (r["text"] or ""), after=before
    )
    assert any(text == "pink" for text, _ in emulator.buttons(menu))
    before = len(emulator.bot_messages)
    other.send_text("/background photo")
    assert "сначала пришлите фото товара" in (await other.wait_for_message(after=before))["text"]


async def test_unknown_colour_lists_choices_and_prompt_without_the_model(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    tiny_weights: Path,
    tmp_path: Path,
):
    weights = tmp_path / "weights"
    shutil.copytree(tiny_weights, weights, ignore=shutil.ignore_patterns("inpaint"))
    await start_bot(WEIGHTS_DIR=str(weights))
    user = emulator.user(44, "en")
    sent = user.send_photo(photos["chelsea"])
    await keyboard_for(emulator, sent)
    before = len(emulator.bot_messages)
    user.send_text("/background pnik")
    text = (await user.wait_for_message(after=before))["text"]
    assert "pnik" in text and "pink" in text and "marble" in text and "#ffc0cb" in text
    before = len(emulator.bot_messages)
    user.send_text("/background on a marble table")
    text = (await user.wait_for_message(after=before))["text"]
    assert "description are unavailable" in text and "/background pink" in text
    before = len(emulator.bot_messages)
    user.send_text("/background studio")
    result = await user.wait_for_message(is_result(sent), after=before, timeout=60)
    assert "Studio" in result["text"]


async def test_a_generated_background_with_the_tiny_inpainting_model(
    start_bot: StartBot, emulator: BotAPIEmulator
):
    await start_bot(BACKGROUND_STEPS="2")
    user = emulator.user(45, "en")
    sent = user.send_photo(png((120, 90, 60), (64, 48)), caption="/background on a wooden desk")
    result = await user.wait_for_message(is_result(sent), timeout=120)
    assert image_of(result).size == (64, 48) and "«on a wooden desk» · seed 0" in result["text"]
