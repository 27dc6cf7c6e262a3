"""Bot start-up never waits for models: nothing loads at import or construction, the bot
answers while the worker is still preloading, and without preload a model loads at its
first job only."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from services.config import ServiceConfig
from services.jobs import JobRequest
from services.models.clip import ClipTagger, TagResult
from services.scheduler import ModelServices
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator


def test_importing_the_bot_loads_no_model_library() -> None:
    code = (
        "import sys, bot.app, services.scheduler, services.models.residency\n"
        "heavy = {'torch', 'transformers', 'diffusers', 'onnxruntime', 'segment_anything'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_no_model_loads_before_its_first_job(tiny_weights: Path, photo_path: Path) -> None:
    config = ServiceConfig(
        weights_dir=tiny_weights,
        device="cpu",
        translation_runtime="transformers",
        worker="thread",
    )
    services = ModelServices(config)
    models = services.residency.models
    every_model = ["blip", "clip", "inpaint", "isnet", "ocr", "opus-mt-en-ru", "opus-mt-ru-en"]
    every_model += ["pix2pix", "sam"]
    assert sorted(m.name for m in models) == every_model  # one instance each, shared by ops
    assert not any(m.loaded for m in models)
    async with services:
        assert not any(m.loaded for m in models)  # started, no preload: still nothing
        handle = services.submit(JobRequest("tag", 1, photo_path, {"domain": "product"}))
        assert isinstance(await handle.result(), TagResult)
    assert [m.name for m in models if m.loaded] == ["clip"]


@pytest.fixture
def photo_path(tmp_path: Path, photos: dict[str, bytes]) -> Path:
    path = tmp_path / "coffee.jpg"
    path.write_bytes(photos["coffee"])
    return path


@pytest.mark.e2e
async def test_the_bot_answers_while_models_are_still_loading(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The application preloads every model in the worker; CLIP's load is held back here
    until the bot has started polling and answered /start."""
    gate, entered = threading.Event(), threading.Event()
    real_load = ClipTagger._load_locked

    def held_load(self: ClipTagger) -> None:
        entered.set()
        gate.wait(30)
        real_load(self)

    monkeypatch.setattr(ClipTagger, "_load_locked", held_load)
    try:
        app = await start_bot(ADMIN_IDS="1")  # returns once polling has begun
        models = app.services.residency.models
        assert entered.wait(10)  # the worker is inside CLIP's load now
        emulator.user(1, "en").send_text("/start")
        assert await emulator.wait_for_message(lambda r: r["chat_id"] == 1)
        assert not any(m.loaded for m in models)  # CLIP (the first to preload) still loading
    finally:
        gate.set()
    user = emulator.user(2, "en")
    sent = user.send_photo(photos["coffee"], caption="/tag")
    reply = await emulator.wait_for_message(
        lambda r: r["reply_to_message_id"] == sent["message_id"] and "•" in (r["text"] or "")
    )
    assert reply["text"].count("•") == 5
    assert any(m.name == "clip" and m.loaded for m in models)
    admin = emulator.user(1, "en")
    before = len(emulator.bot_messages)
    admin.send_text("/stats")
    stats = (await admin.wait_for_message(after=before))["text"]
    assert "Models in memory: clip " in stats and " MB cpu" in stats and "(unloads: 0)" in stats
