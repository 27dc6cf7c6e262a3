"""ISNet's npm source: tarball over HTTP, chunk reassembly, sha256 pins, verify.

A real .tgz of the same structure as @imgly/background-removal-data (dist/resources.json +
chunks named by their sha256) with small chunks, served by a local HTTP server; the real
88 MB package is exercised by `make quality`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.weights import download, missing_models, read_marker, verify
from services.weights import npm as npm_mod
from services.weights.manifest import WeightsDownloadError, load_manifest

PACKAGE, VERSION = "@acme/bg-data", "1.0.0"
MODEL = bytes(range(256)) * 40 + b"tail"  # 10 244 bytes
CHUNK = 4096


def build_tarball(path: Path, model: bytes = MODEL, corrupt: bool = False) -> None:
    chunks, files = [], {}
    for start in range(0, len(model), CHUNK):
        part = model[start : start + CHUNK]
        digest = hashlib.sha256(part).hexdigest()
        chunks.append({"hash": digest, "offsets": [start, start + len(part)]})
        files[digest] = part if not corrupt or start == 0 else part[::-1]
    resources = {
        "/models/small": {"chunks": chunks[:1], "size": CHUNK, "mime": "application/octet-stream"},
        "/models/medium": {"chunks": chunks[::-1], "size": len(model)},  # order by offsets
    }
    files_in_tar = {"package/package.json": json.dumps({"name": PACKAGE}).encode()}
    files_in_tar |= {f"package/dist/{h}": b for h, b in files.items()}
    files_in_tar["package/dist/resources.json"] = json.dumps(resources).encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files_in_tar.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def write_manifest(path: Path, sha256: str = hashlib.sha256(MODEL).hexdigest()) -> Path:
    entry = {
        "kind": "npm-onnx",
        "repo_id": PACKAGE,
        "revision": VERSION,
        "files": ["model.onnx"],
        "sources": [
            {
                "file": "model.onnx",
                "resource": "/models/medium",
                "sha256": sha256,
                "size": len(MODEL),
            }
        ],
    }
    path.write_text(json.dumps({"models": {"isnet": entry}}))
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A local npm registry serving /@acme/bg-data/-/bg-data-1.0.0.tgz; yields its URL."""
    root = tmp_path / "registry"
    target = root / PACKAGE / "-" / f"bg-data-{VERSION}.tgz"
    target.parent.mkdir(parents=True)
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    build_tarball(target)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_npm(registry: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Downloads go over HTTP to the local registry (npm itself is not used)."""
    monkeypatch.setattr(npm_mod.shutil, "which", lambda name: None)
    monkeypatch.setattr(npm_mod, "NPM_REGISTRY", registry)
    return registry


def test_tarball_url() -> None:
    assert npm_mod.tarball_url("@imgly/background-removal-data", "1.4.5") == (
        "https://registry.npmjs.org/@imgly/background-removal-data/-/"
        "background-removal-data-1.4.5.tgz"
    )


def test_extract_resource_reassembles_chunks_in_offset_order(tmp_path: Path) -> None:
    build_tarball(tmp_path / "p.tgz")
    digest, size = npm_mod.extract_resource(tmp_path / "p.tgz", "/models/medium", tmp_path / "m")
    assert (tmp_path / "m").read_bytes() == MODEL
    assert (digest, size) == (hashlib.sha256(MODEL).hexdigest(), len(MODEL))
    assert npm_mod.read_resources(tmp_path / "p.tgz")["/models/small"]["size"] == CHUNK
    with pytest.raises(npm_mod.NpmError, match="no resource"):
        npm_mod.extract_resource(tmp_path / "p.tgz", "/models/large", tmp_path / "x")


def test_a_chunk_that_does_not_match_its_name_is_refused(tmp_path: Path) -> None:
    build_tarball(tmp_path / "bad.tgz", corrupt=True)
    with pytest.raises(npm_mod.NpmError, match="corrupt"):
        npm_mod.extract_resource(tmp_path / "bad.tgz", "/models/medium", tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_download_over_http_writes_the_folder_and_verify_passes(
    tmp_path: Path, local_npm: str
) -> None:
    manifest = write_manifest(tmp_path / "manifest.json")
    weights = tmp_path / "weights"
    (weights / "isnet").mkdir(parents=True)
    (weights / "isnet" / "stale.onnx").write_bytes(b"old")
    assert download(weights, ["isnet"], manifest_path=manifest) == [weights / "isnet"]
    assert (weights / "isnet" / "model.onnx").read_bytes() == MODEL
    assert not (weights / "isnet" / "stale.onnx").exists()
    assert not list(weights.glob(".npm*"))  # temporary files cleaned up
    marker = read_marker(weights / "isnet")
    assert marker is not None and marker["complete"] and not marker["tiny"]
    assert (marker["repo_id"], marker["revision"]) == (PACKAGE, VERSION)
    assert verify(weights, manifest_path=manifest) == []
    assert missing_models(weights, manifest_path=manifest) == []
    assert download(weights, missing_only=True, manifest_path=manifest) == []

    model = weights / "isnet" / "model.onnx"
    model.write_bytes(MODEL[:-4] + b"TAIL")  # same size, other bytes
    (problem,) = verify(weights, manifest_path=manifest)
    assert "sha256" in problem and "pins" in problem
    model.write_bytes(MODEL[:100])
    (problem,) = verify(weights, manifest_path=manifest)
    assert "100 bytes" in problem


def test_a_pinned_sha256_mismatch_fails_and_leaves_no_model(
    tmp_path: Path, local_npm: str
) -> None:
    manifest = write_manifest(tmp_path / "manifest.json", sha256="0" * 64)
    with pytest.raises(WeightsDownloadError, match="pins 0000") as info:
        download(tmp_path / "w", ["isnet"], manifest_path=manifest)
    assert "\n" not in str(info.value) and "npm:@acme/bg-data@1.0.0" in str(info.value)
    assert not (tmp_path / "w" / "isnet" / "model.onnx").exists()
    assert missing_models(tmp_path / "w", manifest_path=manifest) == ["isnet"]


def test_an_unreachable_registry_fails_fast_in_one_line(
    tmp_path: Path, local_npm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(npm_mod, "NPM_REGISTRY", "http://127.0.0.1:9")  # discard port: refused
    manifest = write_manifest(tmp_path / "manifest.json")
    with pytest.raises(WeightsDownloadError, match="unreachable") as info:
        download(tmp_path / "w", ["isnet"], manifest_path=manifest, timeout=2)
    assert "\n" not in str(info.value)
    assert "did not finish" in verify(tmp_path / "w", manifest_path=manifest)[0]


def test_the_real_manifest_pins_isnet_and_sam() -> None:
    manifest = load_manifest()
    isnet, sam = manifest["isnet"], manifest["sam"]
    assert (isnet.kind, isnet.repo_id, isnet.revision) == (
        "npm-onnx",
        "@imgly/background-removal-data",
        "1.4.5",
    )
    source = isnet.source("model.onnx")
    assert source is not None and source.resource == "/models/medium"
    assert source.size == 88188479 and source.sha256.startswith("b6e8497b")
    assert sam.kind == "torch-file"
    assert sam.variant(gpu=True).files == ("sam_vit_h_4b8939.pth",)
    assert sam.variant(gpu=False).files == ("sam_vit_b_01ec64.pth",)
    for file in ("sam_vit_h_4b8939.pth", "sam_vit_b_01ec64.pth"):
        pinned = sam.source(file)
        assert pinned is not None and pinned.url is not None and pinned.url.endswith(file)
        assert len(pinned.sha256) == 64


def test_npm_pack_is_used_when_npm_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in `npm` executable with npm pack's interface (writes the .tgz into
    --pack-destination, prints its name) proves the arguments and the result handling."""
    build_tarball(tmp_path / "source.tgz")
    fake = tmp_path / "npm"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/args\n'
        'while [ "$1" != "--pack-destination" ]; do shift; done\n'
        f'cp {tmp_path}/source.tgz "$2/acme-bg-data-1.0.0.tgz"\n'
        "echo acme-bg-data-1.0.0.tgz\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(npm_mod.shutil, "which", lambda name: str(fake))
    manifest = write_manifest(tmp_path / "manifest.json")
    download(tmp_path / "w", ["isnet"], manifest_path=manifest)
    assert (tmp_path / "w" / "isnet" / "model.onnx").read_bytes() == MODEL
    assert (tmp_path / "args").read_text().startswith(f"pack {PACKAGE}@{VERSION} ")

    fake.write_text("#!/bin/sh\necho 'npm ERR! code E404' >&2\nexit 1\n")
    monkeypatch.setattr(npm_mod, "NPM_REGISTRY", "http://127.0.0.1:9")  # refused at once
    with pytest.raises(
        WeightsDownloadError, match="npm pack failed: npm ERR! code E404; over HTTP"
    ):
        download(tmp_path / "w", ["isnet"], manifest_path=manifest)


def test_a_failing_npm_falls_back_to_http(
    tmp_path: Path, registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "npm"
    fake.write_text("#!/bin/sh\necho 'npm ERR! unknown option --pack-destination' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(npm_mod.shutil, "which", lambda name: str(fake))
    monkeypatch.setattr(npm_mod, "NPM_REGISTRY", registry)
    download(tmp_path / "w", ["isnet"], manifest_path=write_manifest(tmp_path / "m.json"))
    assert (tmp_path / "w" / "isnet" / "model.onnx").read_bytes() == MODEL
    with pytest.raises(npm_mod.NpmError, match="unknown option"):
        npm_mod.fetch_tarball(PACKAGE, VERSION, tmp_path / "only-npm", 2, use_npm=True)


def test_cli_download_goes_on_past_an_unreachable_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vitrina weights download` fetches model by model: the hub being offline costs CLIP,
    not the npm-hosted ISNet."""
    from bot import cli
    from services.weights import url as url_mod

    def fake_npm(spec: object, variant: object, folder: Path, timeout: float) -> None:
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(b"onnx")

    def no_url(spec: object, variant: object, folder: Path, timeout: float) -> None:
        raise WeightsDownloadError("sam", "facebookresearch/segment-anything", "unreachable")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(npm_mod, "fetch_npm_model", fake_npm)
    monkeypatch.setattr(url_mod, "fetch_url_files", no_url)
    assert cli.main(["weights", "download", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "'clip'" in err and "'sam'" in err and f"downloaded: {tmp_path / 'isnet'}" in err
    assert cli.main(["weights", "download", "nope", "--dir", str(tmp_path)]) == 2
    assert "unknown model(s) nope" in capsys.readouterr().err


def test_plain_url_files_are_pinned_by_sha256(tmp_path: Path, registry: str) -> None:
    """SAM's kind of source (torch-file + url), against the local server."""
    served = tmp_path / "registry" / "sam_vit_b_01ec64.pth"
    served.write_bytes(MODEL)

    def manifest(sha256: str) -> Path:
        source = {
            "file": served.name,
            "url": f"{registry}/{served.name}",
            "sha256": sha256,
            "size": len(MODEL),
        }
        entry = {
            "kind": "torch-file",
            "repo_id": "facebookresearch/segment-anything",
            "revision": "abc",
            "files": [served.name],
            "sources": [source],
        }
        path = tmp_path / f"sam-{sha256[:8]}.json"  # (manifests are cached by path)
        path.write_text(json.dumps({"models": {"sam": entry}}))
        return path

    good = manifest(hashlib.sha256(MODEL).hexdigest())
    weights = tmp_path / "w"
    assert download(weights, ["sam"], manifest_path=good) == [weights / "sam"]
    assert (weights / "sam" / served.name).read_bytes() == MODEL
    assert verify(weights, manifest_path=good) == []
    assert read_marker(weights / "sam")["sha256"] == {
        served.name: hashlib.sha256(MODEL).hexdigest()
    }

    bad = manifest("f" * 64)
    with pytest.raises(WeightsDownloadError, match="pins ffff"):
        download(tmp_path / "w2", ["sam"], manifest_path=bad)
    assert not list((tmp_path / "w2" / "sam").glob("*.pth*"))  # nothing half-written kept
