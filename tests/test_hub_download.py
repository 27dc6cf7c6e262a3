"""`vitrina weights download` with the real huggingface_hub client against the local hub
double (tests/hub_double.py): every hub entry of the manifest, both variants, under its real
repository name and pinned commit, with the real file list and tiny-model contents (issue 27).

HF_ENDPOINT is read when huggingface_hub is imported, so every download runs in a process of
its own, as an operator runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from services.weights import MANIFEST_PATH, incomplete_reason, load_manifest, read_marker, verify
from tests.conftest import StartBot
from tests.emulator import BotAPIEmulator
from tests.hub_double import HubDouble, running_hub
from tests.hub_files import TinyContents

ROOT = Path(__file__).resolve().parent.parent
HUB_MODELS = [s.name for s in load_manifest().values() if s.kind in ("transformers", "diffusers")]
RUNTIMES = {"TRANSLATION_RUNTIME": "transformers", "CLIP_RUNTIME": "torch"}
OLD_PIX2PIX = "93224554bd65f19b6f0c99cbcce3a4ac59bb6382"


@pytest.fixture(scope="module")
def hub(tiny_weights: Path) -> Iterator[HubDouble]:
    with running_hub(HubDouble(TinyContents(tiny_weights))) as running:
        yield running


def run_cli(hub: HubDouble, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env |= RUNTIMES | {
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(home / "hf"),  # no shared cache to copy from
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DEVICE": "cpu",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=home, env=env, capture_output=True, text=True, timeout=300
    )


def download(hub: HubDouble, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    cli = ("-m", "bot.cli", "weights", "download", *args, "--dir", str(folder / "weights"))
    return run_cli(hub, folder, *cli)


@pytest.fixture(scope="module")
def downloaded(hub: HubDouble, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every hub entry, CPU and GPU variants, fetched once for the tests below."""
    folders = {}
    for variant in ("cpu", "gpu"):
        home = tmp_path_factory.mktemp(f"download-{variant}")
        done = download(hub, home, *HUB_MODELS, "--variant", variant)
        assert done.returncode == 0, done.stdout + done.stderr
        folders[variant] = home / "weights"
    return folders


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_every_hub_entry_downloads_with_the_real_client(
    hub: HubDouble, downloaded: dict[str, Path], variant: str
) -> None:
    weights = downloaded[variant]
    for name in HUB_MODELS:
        spec = load_manifest()[name]
        pinned = spec.variant(variant == "gpu")
        folder = weights / name
        assert incomplete_reason(folder, spec) is None, name
        marker = read_marker(folder) or {}
        assert marker["complete"] is True and marker["tiny"] is False
        assert (marker["repo_id"], marker["commit"]) == (pinned.repo_id, pinned.revision)
    assert verify(weights, HUB_MODELS) == []
    # the real client's calls: repo info, the tree listing, HEAD per file, the CDN for LFS
    paths = [path for _, path in hub.requests]
    assert any("/api/models/timbrooks/instruct-pix2pix/revision/" in p for p in paths)
    assert any(p.startswith("/api/models/Helsinki-NLP/opus-mt-ru-en/tree/") for p in paths)
    assert (
        "HEAD",
        "/openai/clip-vit-base-patch32/resolve/" + pinned_clip_cpu() + "/vocab.json",
    ) in (hub.requests)
    assert any(p.startswith("/lfs/") for p in paths)
    assert hub.placeholders_served == []  # only files the manifest asks for
    if variant == "gpu":  # the CUDA variant: fp16 files only, and the editor reads them
        assert (weights / "pix2pix/unet/diffusion_pytorch_model.fp16.safetensors").is_file()
        assert not (weights / "pix2pix/unet/diffusion_pytorch_model.safetensors").exists()
        from services.models.pix2pix import Pix2PixEditor

        editor = Pix2PixEditor(weights / "pix2pix", "cpu")
        editor.load()
        assert editor.pipeline.unet.dtype == torch.float32  # read as fp16, run in fp32 here


def pinned_clip_cpu() -> str:
    return load_manifest()["clip"].variant(False).revision


def test_old_pix2pix_pin_fails_naming_the_files(hub: HubDouble, tmp_path: Path) -> None:
    """The fp16 files are not at 9322455: the CUDA variant fails at once, naming them."""
    data = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    data["models"]["pix2pix"]["revision"] = OLD_PIX2PIX
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(data), encoding="utf-8")
    script = (
        "import sys; from pathlib import Path; from services import weights\n"
        "try:\n"
        f"    weights.download(Path({str(tmp_path / 'w')!r}), ['pix2pix'], use_gpu_variants=True,"
        f" manifest_path=Path({str(manifest)!r}))\n"
        "except weights.WeightsDownloadError as exc:\n"
        "    print(exc); sys.exit(1)\n"
    )
    before = len(hub.requests)
    done = run_cli(hub, tmp_path, "-c", script)
    assert done.returncode == 1, done.stdout + done.stderr
    line = done.stdout.strip()
    assert "\n" not in line and f"timbrooks/instruct-pix2pix@{OLD_PIX2PIX}" in line
    fp16 = "diffusion_pytorch_model.fp16.safetensors"
    assert f"files missing at commit {OLD_PIX2PIX}: text_encoder/model.fp16.safetensors" in line
    assert f"unet/{fp16}, vae/{fp16}" in line
    assert not any("/resolve/" in p for _, p in hub.requests[before:])  # nothing fetched


def test_an_unknown_repository_fails_in_one_line(hub: HubDouble, tmp_path: Path) -> None:
    done = run_cli(
        hub,
        tmp_path,
        "-c",
        "import os, sys; os.environ['CLIP_MODEL'] = 'nobody/no-such-clip'\n"
        f"from bot.cli import main; sys.exit(main(['weights', 'download', 'clip', '--dir', "
        f"{str(tmp_path / 'w')!r}]))\n",
    )
    assert done.returncode == 1
    said = [line for line in done.stderr.splitlines() if line.startswith("vitrina: ")]
    assert len(said) == 1 and "cannot download model 'clip' from nobody/no-such-clip" in said[0]
    assert "repository or revision not found on the hub" in said[0]


def test_interrupted_transfer_resumes(hub: HubDouble, tmp_path: Path) -> None:
    """The connection breaks halfway through pytorch_model.bin; the client asks for the rest
    (Range) and the file is whole. The client writes in 10 MB chunks, more than a tiny file
    holds, so here they are 64 KiB: what arrived before the break is kept, as with real
    weights."""
    key = "Helsinki-NLP/opus-mt-en-ru/pytorch_model.bin"
    hub.cut_once.add(key)
    args = ["weights", "download", "opus-mt-en-ru", "--dir", str(tmp_path / "weights")]
    script = (
        "import sys; from huggingface_hub import constants\n"
        "constants.DOWNLOAD_CHUNK_SIZE = 1 << 16\n"
        f"from bot.cli import main; sys.exit(main({args!r}))\n"
    )
    done = run_cli(hub, tmp_path, "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert key not in hub.cut_once  # the transfer did break
    assert any(path == key and r.startswith("bytes=") for path, r in hub.ranges)
    data = (tmp_path / "weights/opus-mt-en-ru/pytorch_model.bin").read_bytes()
    assert data == hub.contents.get("Helsinki-NLP/opus-mt-en-ru", "pytorch_model.bin")


def _contains(*parts: str) -> Any:
    return lambda record: all(part in (record["text"] or "") for part in parts)


@pytest.mark.e2e
async def test_bot_answers_from_downloaded_folders(
    start_bot: StartBot,
    emulator: BotAPIEmulator,
    photos: dict[str, bytes],
    downloaded: dict[str, Path],
) -> None:
    """/tag, /night, /describe from the folders the real client wrote (CPU variants)."""
    await start_bot(
        WEIGHTS_DIR=str(downloaded["cpu"]),
        EDIT_STEPS="2",
        EDIT_MAX_SIDE="64",
        SET_WINDOW_S="0",
        **RUNTIMES,
    )
    user = emulator.user(27, "en")
    before = len(emulator.bot_messages)
    sent = user.send_photo(photos["coffee"], caption="/tag")
    tags = await emulator.wait_for_message(_contains("Tags", "•"), after=before, timeout=60)
    assert tags["reply_to_message_id"] == sent["message_id"]

    before = len(emulator.bot_messages)
    user.send_text("/night")
    night = await user.wait_for_message(lambda r: r["method"] == "sendPhoto", after=before)
    assert night["reply_to_message_id"] == sent["message_id"]

    before = len(emulator.bot_messages)
    user.send_text("/describe")
    described = await emulator.wait_for_message(
        lambda r: any(d.endswith(":variant") for _, d in BotAPIEmulator.buttons(r)),
        after=before,
        timeout=60,
    )
    assert described["reply_to_message_id"] == sent["message_id"]
