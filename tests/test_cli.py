"""The console entry points, run as real processes."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: int = 120):
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "WEIGHTS_DIR"}}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base | (env or {}),
        cwd=cwd,
    )


def test_bot_without_token_says_one_line_and_exits_2(tmp_path: Path) -> None:
    done = _run("-m", "bot", cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vitrina: BOT_TOKEN is not set: put BOT_TOKEN=<token from @BotFather> in env/.env "
        "or the environment"
    ]
    assert "Traceback" not in done.stderr + done.stdout


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    done = _run(
        "-m",
        "bot",
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "BOT_TOKEN": "1:x", "DEVICE": "tpu"},
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "DEVICE" in done.stderr


@pytest.mark.slow
def test_process_tags_files_and_folders(
    tmp_path: Path, tiny_weights: Path, photos: dict[str, bytes], broken_jpeg: bytes
) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "coffee.jpg").write_bytes(photos["coffee"])
    (folder / "sub" / "rocket.png").write_bytes(photos["rocket"])
    (folder / "broken.jpg").write_bytes(broken_jpeg)
    (folder / "notes.txt").write_text("not an image")
    single = tmp_path / "chelsea.jpg"
    single.write_bytes(photos["chelsea"])
    out = tmp_path / "out"
    done = _run(
        "-m",
        "bot.cli",
        "process",
        str(folder),
        str(single),
        "--tag",
        "--domain",
        "hotel",
        "--describe",
        "-o",
        str(out),
        env={"WEIGHTS_DIR": str(tiny_weights), "DEVICE": "cpu", "QUEUE_MAX_PER_USER": "2"},
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads((out / "results.json").read_text())
    described = [row for row in rows if row["op"] == "describe" and row["status"] == "done"]
    assert len(described) == 3 and all(row["result"]["title"] for row in described)
    rows = [row for row in rows if row["op"] == "tag"]
    by_file = {Path(row["file"]).name: row for row in rows}
    assert set(by_file) == {"coffee.jpg", "rocket.png", "broken.jpg", "chelsea.jpg"}
    assert by_file["broken.jpg"]["status"] == "failed"
    tags = by_file["coffee.jpg"]["result"]["tags"]
    assert by_file["coffee.jpg"]["result"]["domain"] == "hotel" and len(tags) == 5
    assert all(tag["ru"] and tag["en"] for tag in tags)
    with (out / "results.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 8  # 4 files x (tag, describe)


def test_process_without_weights_names_the_command(tmp_path: Path, photos: dict[str, bytes]):
    image = tmp_path / "coffee.jpg"
    image.write_bytes(photos["coffee"])
    done = _run(
        "-m",
        "bot.cli",
        "process",
        str(image),
        "--tag",
        "-o",
        str(tmp_path / "out"),
        env={"WEIGHTS_DIR": str(tmp_path / "none"), "DEVICE": "cpu"},
    )
    assert "vitrina weights download" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
async def test_python_m_bot_serves_and_stops_on_sigterm(
    tmp_path: Path, tiny_weights: Path, emulator
) -> None:
    """The real entry point as a process: answers /start, exits 0 on SIGTERM, logs no token."""
    env = {k: v for k, v in os.environ.items() if k != "WEIGHTS_DIR"} | {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "WEIGHTS_DIR": str(tiny_weights),
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "DEVICE": "cpu",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "DEBUG",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        emulator.user(30, "en").send_text("/start")
        reply = await emulator.wait_for_message(lambda r: r["chat_id"] == 30, timeout=60)
        assert "Vitrina" in reply["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    log = output.decode()
    assert process.returncode == 0, log
    assert "bot @vitrina_test_bot started" in log
    assert emulator.token not in log and emulator.token.split(":")[1] not in log


def test_process_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    image = tmp_path / "x.jpg"
    image.write_bytes(b"")
    out = str(tmp_path / "o")
    assert main(["process", str(image), "--tag", "--min-probability", "2", "-o", out]) == 2
    assert "--min-probability must be between 0 and 1" in capsys.readouterr().err
    assert main(["process", str(image), "-o", out]) == 2
    assert "say what to do" in capsys.readouterr().err
    assert main(["process", str(tmp_path / "nope.jpg"), "--tag", "-o", out]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def _imported(stderr: str) -> set[str]:
    """Module names from `python -X importtime` output ("import time: self | total | name")."""
    return {
        line.split("|")[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def _bot_side(names: set[str]) -> set[str]:
    """What a GPU worker must not load: aiogram (and its aiohttp), handlers, the bot's app."""
    return {
        name
        for name in names
        if name.split(".")[0] in {"aiogram", "handlers"}
        or name in {"bot.app", "bot.__main__", "bot.jobs", "bot.middlewares", "bot.keyboards"}
    }


def test_vitrina_worker_loads_no_aiogram_and_no_handler(tmp_path: Path) -> None:
    """`vitrina worker` runs on GPU machines: neither its --help nor a start that gets as far
    as connecting to Redis (everything the worker imports) loads the bot's Telegram side."""
    from tests.redis_server import free_port

    env = {"PYTHONPATH": str(ROOT), "DEVICE": "cpu", "WEIGHTS_DIR": str(tmp_path)}
    done = _run("-X", "importtime", "-m", "bot.cli", "worker", "--help", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    names = _imported(done.stderr)
    assert "bot.cli.worker" in names
    assert _bot_side(names) == set()
    backend = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: exits after the imports
    env |= {"SERVICE_BACKEND": backend}
    done = _run("-X", "importtime", "-m", "bot.cli", "worker", "--id", "w", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "cannot reach Redis" in done.stderr, done.stderr[-2000:]
    names = _imported(done.stderr)
    assert "services.worker.redis_worker" in names
    assert _bot_side(names) == set()
