"""The result cache and the per-photo features end to end: the real bot over HTTP against the
emulator, tiny weights. Model calls are counted with a wrapper around each real operation's
``run`` (the operation itself runs unchanged)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.app import Application
from services.errors import QueueFull
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
Json = dict[str, Any]


def count_runs(app: Application, op: str) -> list[int]:
    """Batch sizes of every call of `op`'s real run from now on."""
    operation = app.services.operations[op]
    calls: list[int] = []
    real = operation.run

    def run(requests: Any, context: Any) -> Any:
        calls.append(len(requests))
        return real(requests, context)

    operation.run = run  # type: ignore[method-assign]
    return calls


def product() -> bytes:
    pixels = np.full((120, 160, 3), 235, np.uint8)
    pixels[30:90, 40:120] = (200, 30, 30)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def has_tags(record: Json) -> bool:
    return "•" in (record["text"] or "") and "Tags" in (record["text"] or "")


def is_result(sent: Json, method: str = "sendPhoto"):
    return lambda r: r["method"] == method and r["reply_to_message_id"] == sent["message_id"]


def button(record: Json, suffix: str) -> str:
    return next(d for _, d in BotAPIEmulator.buttons(record) if d.endswith(suffix))


def is_description(record: Json) -> bool:
    return any(d.endswith(":variant") for _, d in BotAPIEmulator.buttons(record))


async def test_a_repeated_tag_is_answered_from_storage(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot()
    runs = count_runs(app, "tag")
    user = emulator.user(701, "en")
    sent = user.send_photo(photos["chelsea"], caption="/tag")
    first = await user.wait_for_message(has_tags, timeout=30)
    assert runs == [1]

    before = len(emulator.bot_messages)
    user.send_text("/tag", reply_to=sent["message_id"])
    second = await user.wait_for_message(has_tags, after=before, timeout=30)
    assert runs == [1]  # no model call
    assert second["text"] == first["text"] and second["reply_to_message_id"] == sent["message_id"]
    one, two = await app.db.get_job(1), await app.db.get_job(2)
    assert one is not None and two is not None and one.cache_key and one.cache_key == two.cache_key
    assert (await app.db.get_result(2)).payload == (await app.db.get_result(1)).payload
    assert two.status == "done"

    # a full queue does not stand in the way of a repeat: the queue is never asked
    def full(request: Any) -> Any:
        raise QueueFull(per_user=False)

    app.services.submit = full  # type: ignore[method-assign]
    before = len(emulator.bot_messages)
    user.send_text("/tag", reply_to=sent["message_id"])
    assert (await user.wait_for_message(has_tags, after=before, timeout=30))["text"] == first[
        "text"
    ]
    del app.services.submit

    # another option is another key: the hotel vocabulary runs the model again
    await app.db.set_domain(user.user_id, "hotel")
    before = len(emulator.bot_messages)
    user.send_text("/tag", reply_to=sent["message_id"])
    third = await user.wait_for_message(has_tags, after=before, timeout=30)
    assert runs == [1, 1] and third["text"] != first["text"]


async def test_a_repeated_colour_background_is_answered_from_storage_but_again_runs(
    start_bot: StartBot, emulator: BotAPIEmulator
) -> None:
    app = await start_bot()
    runs = count_runs(app, "background")
    user = emulator.user(702, "en")
    sent = user.send_photo(product(), caption="/background pink")
    first = await user.wait_for_message(is_result(sent), timeout=60)
    assert runs == [1]

    before = len(emulator.bot_messages)
    user.send_text("/background pink", reply_to=sent["message_id"])
    second = await user.wait_for_message(is_result(sent), after=before, timeout=30)
    assert runs == [1]  # no model call: the stored image, the usual caption and buttons
    assert second["photo_bytes"] == first["photo_bytes"] and second["text"] == first["text"]
    labels = [text for text, _ in emulator.buttons(second)]
    assert labels == [text for text, _ in emulator.buttons(first)]
    assert button(second, ":again") != button(first, ":again")  # the new job's own buttons
    sends = [params for method, params in emulator.calls if method == "sendPhoto"]
    assert str(sends[-1]["photo"]).startswith("EMU")  # by Telegram's file id: no upload

    # Full size of the cached job: its own file, the same PNG
    stored_first, stored_second = await app.db.get_result(1), await app.db.get_result(2)
    assert stored_second.payload["file"] == "2.png"
    before = len(emulator.bot_messages)
    user.press_button(second, button(second, ":full"))
    full = await user.wait_for_message(is_result(sent, "sendDocument"), after=before)
    original = (app.db.results_dir / stored_first.payload["file"]).read_bytes()
    assert full["document_bytes"] == original

    # "Again" asks with a new seed: never a cached repeat
    before = len(emulator.bot_messages)
    user.press_button(second, button(second, ":again"))
    await user.wait_for_message(is_result(sent), after=before, timeout=60)
    assert runs == [1, 1]


async def test_describe_reuses_the_tag_embedding_repeats_are_cached_variants_are_not(
    start_bot: StartBot, emulator: BotAPIEmulator, photos: dict[str, bytes]
) -> None:
    app = await start_bot()
    describes = count_runs(app, "describe")
    tagger = app.services.operations["tag"].tagger  # type: ignore[attr-defined]
    user = emulator.user(703, "en")
    sent = user.send_photo(photos["astronaut"], caption="/tag")
    await user.wait_for_message(has_tags, timeout=30)
    photo = await app.db.last_photo(user.user_id)
    assert photo is not None
    features = app.settings.features_dir / photo.sha256
    assert [p.name.split("-")[0] for p in features.iterdir()] == ["clip"]

    before = len(emulator.bot_messages)
    user.send_text("/describe", reply_to=sent["message_id"])
    first = await user.wait_for_message(is_description, after=before, timeout=60)
    assert tagger.images_embedded == 1  # tag then describe: the CLIP image tower ran once
    assert describes == [1]

    before = len(emulator.bot_messages)
    user.send_text("/describe", reply_to=sent["message_id"])
    second = await user.wait_for_message(is_description, after=before, timeout=30)
    assert describes == [1] and second["text"] == first["text"]

    before = len(emulator.bot_messages)
    user.press_button(second, button(second, ":variant"))
    third = await user.wait_for_message(is_description, after=before, timeout=60)
    assert describes == [1, 1] and third["text"] != first["text"]
    assert tagger.images_embedded == 1  # still from the store

    # /forget_me takes the photo's features with it
    user.send_text("/forget_me")
    ask = await user.wait_for_message(lambda r: "Delete all your photos" in (r["text"] or ""))
    yes = next(d for t, d in emulator.buttons(ask) if "Yes" in t)
    await emulator.wait_for_callback_answer(user.press_button(ask, yes))
    await user.wait_for_message(lambda r: "everything I kept about you" in (r["text"] or ""))
    await eventually(lambda: not features.exists())  # the files go in the background
