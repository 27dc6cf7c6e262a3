"""`vitrina doctor` (issue 27): one line per check and an exit code that says whether the bot
can start. Tiny weights are listed as tiny, a deleted folder with the command that fills it,
an unreachable Redis and bad settings by name, the token checked with (the emulated)
Telegram."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from tests.emulator import BotAPIEmulator
from tests.redis_server import free_port

SETTINGS = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "WEIGHTS_DIR",
    "DATABASE_PATH",
    "DEVICE",
    "SERVICE_BACKEND",
    "ALLOWED_USERS",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


@pytest.fixture
def machine(
    tiny_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    """A machine with tiny weights (pix2pix deleted) and no env/.env of its own."""
    weights = tmp_path / "weights"
    shutil.copytree(tiny_weights, weights)
    shutil.rmtree(weights / "pix2pix")
    monkeypatch.chdir(tmp_path)
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_TOKEN", "123456:TEST-token-for-the-doctor")
    monkeypatch.setenv("WEIGHTS_DIR", str(weights))
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "data" / "vitrina.sqlite3"))
    monkeypatch.setenv("DEVICE", "cpu")
    return monkeypatch


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def test_tiny_weights_are_tiny_and_a_deleted_folder_names_its_command(
    machine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = doctor(capsys, "--offline")
    assert code == 0, lines
    assert "– feature tag: clip; tiny random weights in clip (outputs are noise)" in lines
    night = next(line for line in lines if line.startswith("✗ feature night:"))
    assert "pix2pix (folder missing)" in night
    assert night.endswith("run: vitrina weights download pix2pix")
    assert any(line.startswith("– BOT_TOKEN: set; not checked") for line in lines)
    assert "– Redis: not used (SERVICE_BACKEND=local)" in lines
    assert any(line.startswith("✓ write DATABASE_PATH") for line in lines)
    assert any(line.startswith(("✓ torch", "✓ Python")) for line in lines)
    # /gallery's fonts: ready, or named with the packages that fill them (never a stop)
    fonts = next(line for line in lines if "gallery fonts" in line)
    assert fonts.startswith("✓") or "apt-get install" in fonts
    assert lines[-1].startswith("vitrina doctor: the bot can start (3 feature(s) unavailable")


def test_an_unreachable_redis_is_named_and_stops_the_start(
    machine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    machine.setenv("SERVICE_BACKEND", url)
    code, lines = doctor(capsys, "--offline", "--timeout", "1")
    assert code == 1
    redis = next(line for line in lines if line.startswith("✗ Redis:"))
    assert url in redis and "unreachable" in redis and "fix SERVICE_BACKEND" in redis
    assert lines[-1] == "vitrina doctor: the bot cannot start: fix Redis"


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("DEVICE", "gpu", "DEVICE must be auto, cpu or cuda, got 'gpu'"),
        ("ALLOWED_USERS", "12,abc", "ALLOWED_USERS must be comma-separated Telegram ids"),
    ],
)
def test_bad_settings_are_named_with_the_fix(
    machine: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    said: str,
) -> None:
    machine.setenv(name, value)
    code, lines = doctor(capsys, "--offline")
    assert code == 1
    settings = next(line for line in lines if line.startswith("✗ settings:"))
    assert said in settings and "fix it in env/.env" in settings


async def test_the_token_is_checked_with_telegram(
    machine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], emulator: BotAPIEmulator
) -> None:
    machine.setenv("TELEGRAM_API_URL", emulator.base_url)
    machine.setenv("BOT_TOKEN", emulator.token)
    code = await asyncio.to_thread(main, ["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and any(line.startswith("✓ BOT_TOKEN: valid: @") for line in lines)

    machine.setenv("BOT_TOKEN", "999999:WRONG-token-rejected-by-telegram")
    code = await asyncio.to_thread(main, ["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert any(line.startswith("✗ BOT_TOKEN: rejected by Telegram (401)") for line in lines)

    machine.setenv("TELEGRAM_API_URL", f"http://127.0.0.1:{free_port()}")
    code = await asyncio.to_thread(main, ["doctor", "--timeout", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0  # offline is not a reason to stop: the bot retries its polling
    assert any("not checked: Telegram unreachable" in line for line in lines)


async def test_openai_is_asked_when_set(
    machine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.openai_server import OpenAIServer

    async with OpenAIServer() as server:
        machine.setenv("OPENAI_API_KEY", "sk-test-doctor")
        machine.setenv("OPENAI_BASE_URL", server.url)
        code = await asyncio.to_thread(main, ["doctor", "--timeout", "2"])
        lines = capsys.readouterr().out.splitlines()
        assert code == 0
        assert f"✓ OpenAI: {server.url} answers (model gpt-4o)" in lines
        assert server.headers[-1]["Authorization"] == "Bearer sk-test-doctor"

    code = await asyncio.to_thread(main, ["doctor", "--timeout", "1"])  # the server is gone
    lines = capsys.readouterr().out.splitlines()
    gone = f"✗ OpenAI: {server.url} unreachable"
    assert code == 0 and any(line.startswith(gone) for line in lines)


def test_a_cut_with_isnet_alone_is_ready_and_names_sam_as_optional(
    machine: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cut needs ISNet or SAM (services/operations/cutout.py): SAM absent does not stop
    /background or /check; both absent do, and the line names both."""
    shutil.rmtree(tmp_path / "weights" / "sam")
    code, lines = doctor(capsys, "--offline")
    assert code == 0, lines
    for op in ("background", "check", "fix"):
        line = next(line for line in lines if line.startswith(f"– feature {op}:"))
        assert "(without sam: folder missing; optional)" in line, line
        assert "isnet" in line.split("(without")[0], line

    shutil.rmtree(tmp_path / "weights" / "isnet")
    code, lines = doctor(capsys, "--offline")
    background = next(line for line in lines if line.startswith("✗ feature background:"))
    assert "isnet (folder missing)" in background and "sam (folder missing)" in background
    assert background.endswith("run: vitrina weights download isnet sam")
