from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest

from services import weights
from services.conversion import write_tiny
from services.weights import (
    MANIFEST_PATH,
    ModelSpec,
    WeightsDownloadError,
    download,
    load_manifest,
    missing_models,
    model_dir,
    read_marker,
    tiny_models,
    verify,
)

HEX40 = re.compile(r"[0-9a-f]{40}")


@pytest.fixture
def tiny_copy(tiny_weights: Path, tmp_path: Path) -> Path:
    shutil.copytree(tiny_weights, tmp_path / "weights")
    return tmp_path / "weights"


def test_manifest_is_package_data_with_pinned_revisions() -> None:
    assert Path(weights.__file__).parent.parent / "weights_manifest.json" == MANIFEST_PATH
    manifest = load_manifest()
    clip = manifest["clip"]
    assert isinstance(clip, ModelSpec) and clip.name == "clip" and clip.kind == "transformers"
    assert clip.repo_id == "openai/clip-vit-large-patch14"
    assert clip.cpu_repo_id == "openai/clip-vit-base-patch32"
    for variant in clip.variants():
        assert HEX40.fullmatch(variant.revision), variant
        assert "config.json" in variant.files and "preprocessor_config.json" in variant.files
    assert any(f.endswith(".safetensors") for f in clip.variant(gpu=True).files)
    assert clip.variant(gpu=False).repo_id == clip.cpu_repo_id


def test_model_dir_rejects_paths(tmp_path: Path) -> None:
    assert model_dir(tmp_path, "clip") == tmp_path / "clip"
    with pytest.raises(ValueError):
        model_dir(tmp_path, "../clip")


def test_write_tiny_layout_and_marker(tiny_weights: Path) -> None:
    folder = tiny_weights / "clip"
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "vitrina.json"} <= names
    marker = json.loads((folder / "vitrina.json").read_text())
    spec = load_manifest()["clip"]
    assert marker["tiny"] is True
    assert (marker["repo_id"], marker["revision"]) in {
        (v.repo_id, v.revision) for v in spec.variants()
    }
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024


def test_write_tiny_is_quick_and_rewrites_tiny_only(tiny_copy: Path) -> None:
    start = time.perf_counter()
    write_tiny(tiny_copy, ["clip"], seed=3)  # libraries already imported by the fixture
    assert time.perf_counter() - start < 5
    assert read_marker(tiny_copy / "clip")["seed"] == 3
    (tiny_copy / "clip" / "vitrina.json").unlink()
    with pytest.raises(FileExistsError, match="refusing"):
        write_tiny(tiny_copy, ["clip"])
    with pytest.raises(ValueError, match="unknown model"):
        write_tiny(tiny_copy, ["sam9000"])


def test_missing_models_before_and_after(tmp_path: Path, tiny_weights: Path) -> None:
    assert missing_models(tmp_path) == list(load_manifest())  # every model
    assert missing_models(tmp_path, ["clip"]) == ["clip"]
    assert missing_models(tiny_weights) == []
    assert missing_models(tiny_weights, ["clip"]) == []


def test_verify_ok_on_tiny(tiny_weights: Path, tmp_path: Path) -> None:
    assert verify(tiny_weights) == []
    assert tiny_models(tiny_weights) == list(load_manifest()) and tiny_models(tmp_path) == []


def test_verify_reports_deleted_weights(tiny_copy: Path) -> None:
    (tiny_copy / "clip" / "model.safetensors").unlink()
    problems = verify(tiny_copy)
    assert len(problems) == 1 and "clip" in problems[0] and "weights" in problems[0]
    assert missing_models(tiny_copy) == ["clip"]
    (tiny_copy / "pix2pix" / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    assert "pix2pix: no unet weights" in verify(tiny_copy)[1]


def test_verify_reports_revision_marker_and_config(tiny_copy: Path) -> None:
    folder = tiny_copy / "clip"
    marker = read_marker(folder)
    marker["revision"] = "0" * 40
    (folder / "vitrina.json").write_text(json.dumps(marker))
    (problem,) = verify(tiny_copy)
    assert "0" * 40 in problem and "pins" in problem

    (folder / "vitrina.json").unlink()
    (problem,) = verify(tiny_copy)
    assert "vitrina.json" in problem

    shutil.rmtree(folder)
    write_tiny(tiny_copy, ["clip"])
    (folder / "config.json").write_text("{not json")
    (problem,) = verify(tiny_copy)
    assert "config.json unreadable" in problem

    write_tiny(tiny_copy, ["clip"])
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    (problem,) = verify(tiny_copy)
    assert "model.safetensors unreadable" in problem


def test_download_offline_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(WeightsDownloadError) as info:
        download(tmp_path)
    assert time.perf_counter() - start < 2
    message = str(info.value)
    assert "\n" not in message
    assert "'clip'" in message and "openai/clip-vit-base-patch32" in message
    assert "unreachable" in message
    assert info.value.model == "clip"
    assert not (tmp_path / "clip").exists()

    with pytest.raises(WeightsDownloadError, match="openai/clip-vit-large-patch14"):
        download(tmp_path, use_gpu_variants=True)


def test_download_missing_only_skips_complete_but_not_tiny(
    tiny_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsDownloadError):  # tiny weights are to be replaced
        download(tiny_copy, ["clip"], missing_only=True)
    marker = tiny_copy / "clip" / "vitrina.json"
    marker.write_text(json.dumps(json.loads(marker.read_text()) | {"tiny": False}))
    # complete real weights: nothing to do
    assert download(tiny_copy, ["clip"], missing_only=True) == []


def test_download_connection_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: object, repo_id: str, **kwargs: object) -> None:
        raise ConnectionError(f"cannot connect\nto {repo_id}")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", refuse)
    with pytest.raises(WeightsDownloadError) as info:
        download(tmp_path, offline=False, model_override={"clip": "someone/clip-test@abc"})
    message = str(info.value)
    assert "\n" not in message and "someone/clip-test@abc" in message
    assert "unreachable" in message


def test_download_writes_snapshot_and_marker(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub is faked: a snapshot that copies the tiny model into local_dir."""
    calls = []

    def fake_info(self: object, repo_id: str, revision: str, timeout: float) -> SimpleNamespace:
        return SimpleNamespace(sha=revision)

    def fake_snapshot(repo_id: str, **kwargs: object) -> str:
        calls.append((repo_id, kwargs))
        local = Path(str(kwargs["local_dir"]))
        for name in (
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json",
        ):
            shutil.copy(tiny_weights / "clip" / name, local / name)
        return str(local)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", fake_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    stale = tmp_path / "clip" / "stale.bin"
    stale.parent.mkdir()
    stale.write_bytes(b"old")

    spec = load_manifest()["clip"]
    assert download(tmp_path, ["clip"], offline=False) == [tmp_path / "clip"]
    ((repo_id, kwargs),) = calls
    assert repo_id == spec.cpu_repo_id and kwargs["revision"] == spec.cpu_revision
    assert kwargs["allow_patterns"] == list(spec.cpu_files or ())
    assert not stale.exists()
    marker = read_marker(tmp_path / "clip")
    assert marker["tiny"] is False and marker["revision"] == spec.cpu_revision
    assert verify(tmp_path, ["clip"]) == []
    assert download(tmp_path, ["clip"], offline=False, missing_only=True) == []


def test_interrupted_download_counts_as_missing_and_resumes(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_info(self: object, repo_id: str, revision: str, timeout: float) -> SimpleNamespace:
        return SimpleNamespace(sha=revision)

    def broken_snapshot(repo_id: str, **kwargs: object) -> str:
        local = Path(str(kwargs["local_dir"]))
        for name in ("config.json", "model.safetensors"):
            shutil.copy(tiny_weights / "clip" / name, local / name)
        raise ConnectionError("connection reset")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", fake_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", broken_snapshot)
    with pytest.raises(WeightsDownloadError, match="transfer broke"):
        download(tmp_path, ["clip"], offline=False)
    assert missing_models(tmp_path, ["clip"]) == ["clip"]
    assert "did not finish" in verify(tmp_path, ["clip"])[0]

    seen = []

    def resuming_snapshot(repo_id: str, **kwargs: object) -> str:
        local = Path(str(kwargs["local_dir"]))
        seen.append(sorted(p.name for p in local.iterdir()))
        return str(local)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", resuming_snapshot)
    download(tmp_path, ["clip"], offline=False)
    assert "model.safetensors" in seen[0]  # same repo and revision: files kept for resuming
    assert missing_models(tmp_path, ["clip"]) == []
    assert read_marker(tmp_path / "clip")["complete"] is True


def test_every_entry_is_pinned_and_says_where_it_was_checked() -> None:
    """Issue 27: no moving revision, a `checked` note each, pix2pix where the fp16 files are."""
    manifest = load_manifest()
    for spec in manifest.values():
        assert spec.checked, f"{spec.name}: no 'checked' note"
        if spec.kind in ("transformers", "diffusers"):
            for variant in spec.variants():
                assert HEX40.fullmatch(variant.revision), (spec.name, variant)
    pix2pix = manifest["pix2pix"]
    assert pix2pix.revision == "31519b5cb02a7fd89b906d88731cd4d6a7bbf88d"
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in pix2pix.variant(gpu=True).files
    ru_en = manifest["opus-mt-ru-en"]
    assert ru_en.revision == "fbd6dc73284f95536648512cc21d57f19191961a"
    assert not {"vocab.json", "merges.txt", "added_tokens.json"} & set(manifest["blip"].files)


def test_patterns_that_match_no_file_of_the_listing_are_named() -> None:
    from services.weights.download import unmatched_patterns

    listing = SimpleNamespace(
        siblings=[SimpleNamespace(rfilename=f) for f in ("unet/config.json", "tokenizer/a.txt")]
    )
    patterns = ["unet/config.json", "tokenizer/*", "unet/diffusion_pytorch_model.fp16.safetensors"]
    assert unmatched_patterns(patterns, listing) == [patterns[2]]
    assert unmatched_patterns(patterns, SimpleNamespace(sha="0" * 40)) == []  # no listing
