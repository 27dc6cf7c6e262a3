"""/gallery end to end: the real bot over HTTP against the emulator, the real gallery
operation on tiny weights (its own check with Tesseract when installed). A captioned photo ->
an album of five 1200×1600 JPEG slides and their checks; a banned word refused by name; no
text anywhere -> the dialogue, then the answer -> the album (Edit text: again); Another
style -> a new album;
a set of 6 products -> one style and one product scale for each, the ZIP's layout."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from PIL import Image

from services.operations import Op
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.marketplace_photos import DRAW
from tests.set_photos import action, catalogue, is_set_message, is_zip, zip_of

pytestmark = pytest.mark.e2e
Json = dict[str, Any]
CAPTION = "Кружка керамическая\nОбъём 350 мл\nМожно в посудомойку\nНе нагревается ручка"
SLIDES = ["01-main.jpg", "02-hero.jpg", "03-benefits.jpg", "04-detail.jpg", "05-scene.jpg"]


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def product() -> bytes:
    return jpeg(DRAW["clean_good_background"](3).image)


def button(record: Json, suffix: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(record) if d.endswith(suffix))


def album(emulator: BotAPIEmulator, after: int) -> list[Json]:
    return [r for r in emulator.bot_messages[after:] if r["method"] == "sendMediaGroup"]


def is_gallery_message(record: Json) -> bool:
    """The message under the album: its checks and the Edit text / style / ZIP buttons."""
    return bool(record["reply_markup"]) and any(
        d.endswith(":zip") for _, d in BotAPIEmulator.buttons(record)
    )


def assert_slides(records: list[Json], names: list[str]) -> None:
    assert [r["document_name"] for r in records] == names
    for record in records:
        with Image.open(io.BytesIO(record["document_bytes"])) as slide:
            assert slide.format == "JPEG" and slide.size == (1200, 1600)


async def test_a_captioned_photo_gets_five_slides_then_another_style_and_the_zip(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot()
    user = emulator.user(281)
    sent = user.send_photo(product(), caption=CAPTION)
    keyboard = await user.wait_for_message(
        lambda r: r["reply_to_message_id"] == sent["message_id"] and bool(r["reply_markup"])
    )
    before = len(emulator.bot_messages)
    user.press_button(keyboard, button(keyboard, f":{Op.GALLERY.value}"))
    checks = await user.wait_for_message(is_gallery_message, after=before, timeout=240)
    slides = album(emulator, before)
    assert_slides(slides, SLIDES)
    assert all(r["reply_to_message_id"] == sent["message_id"] for r in slides)
    assert "Галерея для Wildberries: 5 слайдов" in checks["text"]
    assert "Кружка керамическая" in checks["text"]
    assert checks["text"].count("OCR") >= 4  # every slide with text: its read-back
    assert any(g in checks["text"] for g in ("инфографика", "Чистое фото"))
    labels = [text for text, _ in BotAPIEmulator.buttons(checks)]
    assert labels == ["✏️ Изменить текст", "🎨 Другой стиль", "📦 ZIP", "⬆️ На Wildberries"]
    job = await app.db.get_job(int(button(checks, ":zip").split(":")[1]))
    assert job is not None and job.params["profile"] == "wb"
    assert job.params["title"] == "Кружка керамическая" and len(job.params["benefits"]) == 3

    before = len(emulator.bot_messages)
    user.press_button(checks, button(checks, ":style"))
    restyled = await user.wait_for_message(is_gallery_message, after=before, timeout=240)
    assert_slides(album(emulator, before), SLIDES)
    assert "стиль 2" in restyled["text"]
    again = await app.db.get_job(int(button(restyled, ":zip").split(":")[1]))
    assert again is not None and again.params["style"] == 1

    before = len(emulator.bot_messages)
    user.press_button(restyled, button(restyled, ":zip"))
    archive = zip_of(await user.wait_for_message(is_zip, after=before, timeout=30))
    folder = f"photo-{again.photo_id}"
    assert sorted(archive.namelist()) == sorted(
        [*(f"{folder}/{n}" for n in SLIDES), "results.csv"]
    )
    rows = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
    assert [row["slide"] for row in rows] == ["main", "hero", "benefits", "detail", "scene"]
    assert all(row["grade"] for row in rows) and rows[1]["ocr_accuracy"]

    before = len(emulator.bot_messages)  # the same request again: answered from storage
    user.press_button(keyboard, button(keyboard, f":{Op.GALLERY.value}"))
    repeat = await user.wait_for_message(is_gallery_message, after=before, timeout=30)
    assert_slides(album(emulator, before), SLIDES)
    hit = await app.db.get_job(int(button(repeat, ":zip").split(":")[1]))
    result = await app.db.get_result(hit.id) if hit is not None else None
    assert result is not None and result.files == [f"{hit.id}-{n}.jpg" for n in range(1, 6)]


async def test_a_banned_word_is_refused_by_name_and_the_next_text_draws(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    user = emulator.user(282)
    user.send_photo(product(), caption="/gallery wb\nЛучшая кружка\nОбъём 350 мл\nКерамика")
    refused = await user.wait_for_message(
        lambda r: "нельзя писать" in (r["text"] or ""), timeout=120
    )
    assert "«Лучшая»" in refused["text"] and "другим словом" in refused["text"]
    before = len(emulator.bot_messages)
    user.send_text("Кружка керамическая\nОбъём 350 мл\nКерамика")  # the dialogue's answer
    checks = await user.wait_for_message(is_gallery_message, after=before, timeout=240)
    assert len(album(emulator, before)) == 5 and "Кружка керамическая" in checks["text"]


async def test_a_line_too_long_is_refused_with_its_limit(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    user = emulator.user(285, "en")
    long_line = " ".join(["Керамика ручной работы с глазурью"] * 12)
    user.send_photo(product(), caption=f"/gallery wb\nКружка\n{long_line}\nОбъём 350 мл")
    refused = await user.wait_for_message(
        lambda r: "does not fit" in (r["text"] or ""), timeout=120
    )
    assert "«Керамика ручной работы" in refused["text"] and "at most" in refused["text"]


async def test_no_text_anywhere_asks_for_it_and_the_answer_draws_the_album(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    user = emulator.user(283, "en")
    sent = user.send_photo(product(), caption="/gallery")
    asked = await user.wait_for_message(
        lambda r: "Send the title and 2–5 features" in (r["text"] or ""), timeout=30
    )
    assert asked["reply_to_message_id"] == sent["message_id"]
    before = len(emulator.bot_messages)
    user.send_text("Ceramic mug")  # a title only: hero and scene, and said so
    checks = await user.wait_for_message(is_gallery_message, after=before, timeout=240)
    names = [r["document_name"] for r in album(emulator, before)]
    assert names == ["01-hero.jpg", "02-scene.jpg"]
    assert "Only a title" in checks["text"]

    before = len(emulator.bot_messages)  # Edit text: asked again, the answer redraws
    user.press_button(checks, button(checks, ":text"))
    await user.wait_for_message(
        lambda r: "Send the title and 2–5 features" in (r["text"] or ""), after=before
    )
    before = len(emulator.bot_messages)
    user.send_text("Ceramic mug\n350 ml\nDishwasher safe")
    redrawn = await user.wait_for_message(is_gallery_message, after=before, timeout=240)
    assert_slides(album(emulator, before), SLIDES)
    assert "Only a title" not in redrawn["text"] and "Dishwasher safe" in redrawn["text"]


async def test_a_set_of_six_gets_one_style_and_one_scale_and_the_zip_layout(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot()
    user = emulator.user(284, "en")
    photos = catalogue(6, first=700)
    for number, (name, data) in enumerate(photos):
        user.send_document(data, name, "image/png", caption=f"Product {number}\nSteel\nLight")
    message = await user.wait_for_message(is_set_message(6), timeout=30)
    before = len(emulator.bot_messages)
    user.press_button(message, action(message, Op.GALLERY.value))
    archive = zip_of(await user.wait_for_message(is_zip, after=before, timeout=540))
    folders = sorted({name.split("/")[0] for name in archive.namelist() if "/" in name})
    assert folders == [name.removesuffix(".png") for name, _ in photos]
    assert all(f"{folder}/01-main.jpg" in archive.namelist() for folder in folders)
    rows = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
    assert {row["photo"] for row in rows} == {name for name, _ in photos}
    assert {"photo", "slide", "grade", "ocr_accuracy"} <= set(rows[0])
    albums = album(emulator, before)
    assert len({r["media_group_id"] for r in albums}) == 6  # an album per product
    jobs = [j for j in await app.db._jobs("user_id = ? AND op = ?", (284, Op.GALLERY.value))]
    assert len(jobs) == 6
    styles = {j.params.get("style", 0) for j in jobs}
    shares = {j.params["share"] for j in jobs}
    assert styles == {0} and len(shares) == 1 and 0 < next(iter(shares)) < 1
    facts = [(await app.db.get_result(j.id)).payload["facts"] for j in jobs]
    assert {f.get("share") for f in facts} == shares  # the stored facts say it too
    assert len({j.params.get("brand") for j in jobs}) == 1  # one brand colour for the set
    assert len({f.get("brand") for f in facts}) == 1

    before = len(emulator.bot_messages)  # /all gallery: the same run again, from storage
    user.send_text(f"/all {Op.GALLERY.value}")
    again = zip_of(await user.wait_for_message(is_zip, after=before, timeout=120))
    assert sorted(again.namelist()) == sorted(archive.namelist())
