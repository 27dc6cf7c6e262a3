"""A stranger's corpus, sent through the emulator to the real bot: each case gets one clear
answer in the user's language, the bot stays alive, valid-but-odd images are processed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.storage import Storage
from tests import bad_inputs as bad
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator, FakeUser

pytestmark = pytest.mark.e2e
Json = dict[str, Any]
TRACEBACK_MARKERS = ("Traceback", "Exception", "Error:", 'File "')


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[FakeUser], Json]
    expect: str  # a fragment of the (English) answer


def doc(data: bytes, name: str, mime: str, caption: str | None = None):
    return lambda user: user.send_document(data, name, mime, caption=caption)


def text(value: str):
    return lambda user: user.send_text(value)


REFUSALS = [
    Case(
        "truncated JPEG",
        doc(bad.save(bad.gradient(), "JPEG")[:300], "a.jpg", "image/jpeg"),
        "could not open",
    ),
    Case(
        "1-byte file (Telegram refuses empty ones)",
        doc(b"\xff", "one.jpg", "image/jpeg"),
        "could not open",
    ),
    Case(
        "PNG bomb header", doc(bad.png_bomb_header(), "bomb.png", "image/png"), "too many pixels"
    ),
    Case("20 000 × 20 000 image", doc(bad.huge_png(), "huge.png", "image/png"), "too many pixels"),
    Case("1×1 image", doc(bad.solid(1), "dot.png", "image/png"), "too small"),
    Case("31×31 image", doc(bad.solid(31), "small.png", "image/png"), "too small"),
    Case(
        "ICO icon",
        doc(bad.save(bad.gradient(), "ICO"), "icon.ico", "image/x-icon"),
        "cannot open this format",
    ),
    Case("PDF", doc(bad.PDF, "doc.pdf", "application/pdf"), "not an image"),
    Case(".txt", doc(b"hello", "notes.txt", "text/plain"), "not an image"),
    Case(".mp4 as a document", doc(bad.MP4, "clip.mp4", "video/mp4"), "not an image"),
    Case("ZIP named .jpg", doc(bad.zip_named_jpg(), "photo.jpg", "image/jpeg"), "could not open"),
    Case(
        "21 MB file", doc(b"\xff\xd8" + b"\x00" * (21 * 2**20), "big.jpg", "image/jpeg"), "too big"
    ),
    Case("text without a photo", text("hello there"), "photo"),
    Case("random unicode", text("ꙮ𓂀 \u202e\u0000 ✨"), "photo"),
    Case("unknown command", text("/frobnicate now"), "/frobnicate"),
    Case("command without a photo", text("/tag"), "Send a photo first"),
    Case("empty /edit", text("/edit"), "Send a photo first"),
    Case("5 000-character /background", text("/background " + "x" * 5000), "Send a photo first"),
]

ODD_BUT_VALID = [
    ("CMYK JPEG", bad.cmyk_jpeg(), "cmyk.jpg", "image/jpeg"),
    ("16-bit PNG", bad.png16(), "deep.png", "image/png"),
    ("palette PNG with transparency", bad.palette_png_transparent(), "pal.png", "image/png"),
    ("grey + alpha PNG", bad.la_png(), "la.png", "image/png"),
    ("animated GIF", bad.animated_gif(), "anim.gif", "image/gif"),
    ("EXIF-rotated JPEG", bad.exif_rotated_jpeg(), "rotated.jpg", "image/jpeg"),
    ("greyscale JPEG", bad.grey_jpeg(), "grey.jpg", "image/jpeg"),
    ("32×32 PNG", bad.solid(32), "tiny.png", "image/png"),
    ("WebP", bad.save(bad.gradient(), "WEBP"), "a.webp", "image/webp"),
    ("BMP", bad.save(bad.gradient(), "BMP"), "a.bmp", "image/bmp"),
    ("TIFF", bad.save(bad.gradient(), "TIFF"), "a.tiff", "image/tiff"),
    ("AVIF", bad.save(bad.gradient(), "AVIF"), "a.avif", "image/avif"),
]
HEIC = bad.heic()
if HEIC is not None:
    ODD_BUT_VALID.append(("HEIC", HEIC, "iphone.heic", "image/heic"))


def no_traceback(record: Json) -> bool:
    return not any(marker in (record["text"] or "") for marker in TRACEBACK_MARKERS)


async def test_refusals_are_clear_and_the_bot_lives(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    users = {case.name: emulator.user(5000 + i, "en") for i, case in enumerate(REFUSALS)}
    for case in REFUSALS:
        case.send(users[case.name])
    for case in REFUSALS:
        user = users[case.name]
        answer = await user.wait_for_message(timeout=20)
        assert case.expect in answer["text"], (case.name, answer["text"])
        assert no_traceback(answer), case.name
    await asyncio.sleep(0.3)  # nothing more arrives (bounded): one answer per input
    for case in REFUSALS:
        assert len(users[case.name].bot_messages) == 1, case.name
    assert emulator.server_errors == []
    users[REFUSALS[0].name].send_text("/start")
    await users[REFUSALS[0].name].wait_for_message(lambda r: "Vitrina" in r["text"])


async def test_odd_but_valid_images_are_accepted_and_processed(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot()
    users = {name: emulator.user(6000 + i, "en") for i, (name, *_) in enumerate(ODD_BUT_VALID)}
    for name, data, file_name, mime in ODD_BUT_VALID:
        users[name].send_document(data, file_name, mime, caption="/tag")
    for name, *_ in ODD_BUT_VALID:
        tags = await users[name].wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=30)
        assert no_traceback(tags), name
    db: Storage = app.db
    rotated = await db.last_photo(users["EXIF-rotated JPEG"].user_id)
    assert rotated is not None and (rotated.width, rotated.height) == (48, 96)  # upright


async def test_forged_and_stale_buttons(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot(RATE_LIMIT_BURST="40")  # mallory presses many buttons at once
    alice, mallory = emulator.user(7001, "en"), emulator.user(7002, "en")
    alice_photo = alice.send_photo(photos["coffee"], caption="/tag")
    await alice.wait_for_message(lambda r: "•" in (r["text"] or ""), timeout=20)
    db: Storage = app.db
    photo = await db.photo_by_message(alice.user_id, alice_photo["message_id"])
    assert photo is not None
    alice_job = 1  # her /tag

    mallory.send_photo(photos["chelsea"])
    keyboard = await mallory.wait_for_message(lambda r: bool(r["reply_markup"]))
    own = await db.last_photo(mallory.user_id)
    assert own is not None
    forged = {
        f"p:{photo.id}:tag": "someone else",  # another user's photo
        f"p:{photo.id + 1000}:tag": "no longer available",  # no such photo
        f"p:{own.id}:rm -rf": "no longer available",  # an action we never offer
        f"p:{2**70}:tag": "no longer available",  # beyond SQLite's integers
        f"bg:{own.id}:<script>": "no longer available",  # a background we never offer
        "zzz": "no longer available",  # garbage
        "": "no longer available",
        f"cj:{alice_job}": "already finished",  # cancel someone else's job
        f"r:{alice_job}:full": "someone else",  # someone else's result
        "r:99999:full": "no longer available",
        f"r:{alice_job + 1000}:english": "no longer available",  # a description's view
        f"lib:{photo.id}:yes": "someone else",  # delete another user's photo
        f"lib:{photo.id}:open": "someone else",
        f"lib:{photo.id + 1000}:delete": "no longer available",
        f"ck:{alice_job + 1000}:clean:": "no longer available",  # a check's button
        "s:99999:tag": "set is gone",
        "sb:99999:white:0": "set is gone",
    }
    jobs_before = len(await db._jobs("1 = 1", ()))
    for data, expected in forged.items():
        query = mallory.press_forged(keyboard, data)
        answer = await emulator.wait_for_callback_answer(query)
        assert expected in (answer.get("text") or ""), (data, answer)
    assert len(await db._jobs("1 = 1", ())) == jobs_before  # no job from forged data
    kept = await db.get_photo(photo.id)
    assert kept is not None and not kept.deleted  # her photo stays hers
    assert not any(
        "Теги" in (r["text"] or "") or "Tags" in (r["text"] or "") for r in mallory.bot_messages
    )
    assert emulator.server_errors == []


async def test_group_command_for_another_bot_is_ignored(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    await start_bot()
    emulator.user(7101, "en")
    emulator.send_group_text(7101, -500, "/tag@other_bot", language_code="en")
    emulator.send_group_text(7101, -500, "just chatting", language_code="en")
    emulator.send_group_text(7101, -500, "/help@vitrina_test_bot", language_code="en")
    answer = await emulator.wait_for_message(lambda r: r["chat_id"] == -500)
    assert "What I can do" in answer["text"]
    await asyncio.sleep(0.3)  # nothing more arrives (bounded): the other two stay unanswered
    assert len([r for r in emulator.bot_messages if r["chat_id"] == -500]) == 1


async def test_odd_arguments_get_clear_answers_and_bounded_jobs(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    """Empty, 5 000-character, emoji-only and foreign-script arguments: a clear answer, and a
    job only where the argument makes sense (its prompt bounded)."""
    app = await start_bot(EDIT_STEPS="2", EDIT_MAX_SIDE="64")
    user = emulator.user(7201, "en")
    user.send_photo(photos["coffee"])
    await user.wait_for_message(lambda r: bool(r["reply_markup"]))
    cases = {
        "/edit": "Write what to change",
        "/edit     ": "Write what to change",
        "/background pnik": "did not understand",
        "/background #12": "did not understand",
        "/background " + "x" * 5000: "did not understand",
        "/edit preset:volcano": "preset:night",
    }
    for command, expected in cases.items():
        before = len(emulator.bot_messages)
        user.send_text(command)
        answer = await user.wait_for_message(after=before, timeout=20)
        assert expected in answer["text"], (command[:40], answer["text"])
        assert no_traceback(answer)
    assert await app.db._jobs("1 = 1", ()) == []  # none of those made a job

    for command in ("/edit " + "сделай ночь " * 500, "/edit 🌷🌷🌷🌷", "/edit 夜にして"):
        before = len(emulator.bot_messages)
        user.send_text(command)
        result = await user.wait_for_message(
            lambda r: r["method"] == "sendPhoto", after=before, timeout=60
        )
        assert no_traceback(result)
    jobs = await app.db._jobs("1 = 1", ())
    assert len(jobs) == 3 and all(job.status == "done" for job in jobs)
    assert all(len(job.params["prompt"]) <= 300 for job in jobs)  # bounded before the model


def test_the_pixel_budget_is_the_settings_not_pillows() -> None:
    from services.errors import BadImage
    from services.imaging.decode import inspect_image

    data = bad.huge_png(8000)  # 64 MP
    with pytest.raises(BadImage) as refused:
        inspect_image(data, max_pixels=50_000_000)
    assert refused.value.reason == "too_many_pixels"
    assert inspect_image(data, max_pixels=70_000_000).width == 8000  # an operator's choice
