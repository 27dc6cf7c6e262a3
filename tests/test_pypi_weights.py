"""The PyPI-wheel weights source (the PP-OCR detector's): a locally built wheel fetched by the
real ``pip download`` from a find-links folder, or over the PyPI JSON API from a local HTTP
server; pinned size and sha256, a missing member, offline. The real wheel is fetched by
`make quality` (tests/test_ocr_realweights.py)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.weights import download, load_manifest, missing_models, read_marker, verify
from services.weights import pypi_wheel as wheel_mod
from services.weights.manifest import WeightsDownloadError

PACKAGE, VERSION = "acme-ocr-data", "1.0.0"
WHEEL = "acme_ocr_data-1.0.0-py3-none-any.whl"
MEMBER = "acme_ocr_data/models/det.onnx"
MODEL = bytes(range(256)) * 30 + b"detector"


def build_wheel(folder: Path, model: bytes | None = MODEL) -> Path:
    """A real, minimal wheel: pip reads its name, version and tags."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WHEEL
    info = "acme_ocr_data-1.0.0.dist-info"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("acme_ocr_data/__init__.py", "")
        if model is not None:
            archive.writestr(MEMBER, model)
        archive.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {VERSION}\n"
        )
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return path


def write_manifest(
    path: Path,
    sha256: str = hashlib.sha256(MODEL).hexdigest(),
    size: int = len(MODEL),
    member: str = MEMBER,
) -> Path:
    entry = {
        "kind": "pypi-wheel",
        "repo_id": PACKAGE,
        "revision": VERSION,
        "files": ["det.onnx"],
        "sources": [{"file": "det.onnx", "member": member, "sha256": sha256, "size": size}],
    }
    path.write_text(json.dumps({"models": {"ocr": entry}}))
    return path


@pytest.fixture
def find_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds the package in a local folder only (no index, nothing on the network)."""
    folder = tmp_path / "links"
    build_wheel(folder)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


@pytest.fixture
def pypi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local PyPI JSON API (/pypi/<package>/<version>/json + the file); pip finds nothing.
    Yields the server's root folder (rewrite json there to change what it lists)."""
    root = tmp_path / "pypi"
    wheel = build_wheel(root / "files")
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    listing = root / "pypi" / PACKAGE / VERSION / "json"
    listing.parent.mkdir(parents=True)
    files = [
        {"filename": "acme-ocr-data-1.0.0.tar.gz", "packagetype": "sdist", "url": f"{url}/x"},
        {
            "filename": WHEEL,
            "packagetype": "bdist_wheel",
            "url": f"{url}/files/{WHEEL}",
            "digests": {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()},
        },
    ]
    listing.write_text(json.dumps({"urls": files}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(wheel_mod, "PYPI_URL", url)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nothing-here"))
    yield root
    server.shutdown()
    server.server_close()


def test_the_real_manifest_pins_the_pp_ocr_detector() -> None:
    spec = load_manifest()["ocr"]
    assert (spec.kind, spec.repo_id, spec.revision) == (
        "pypi-wheel",
        "rapidocr-onnxruntime",
        "1.4.4",
    )
    (source,) = spec.sources
    assert source.member == "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
    assert source.size == 4745517
    assert source.sha256.startswith("d2a7720d45a54257")
    assert spec.files == (source.file,)


def test_pip_download_writes_the_folder_and_verify_passes(
    tmp_path: Path, find_links: Path
) -> None:
    manifest = write_manifest(tmp_path / "manifest.json")
    weights = tmp_path / "weights"
    (weights / "ocr").mkdir(parents=True)
    (weights / "ocr" / "stale.onnx").write_bytes(b"old")
    assert download(weights, ["ocr"], manifest_path=manifest) == [weights / "ocr"]
    assert (weights / "ocr" / "det.onnx").read_bytes() == MODEL
    assert sorted(p.name for p in (weights / "ocr").iterdir()) == ["det.onnx", "vitrina.json"]
    marker = read_marker(weights / "ocr") or {}
    assert marker["complete"] is True and marker["tiny"] is False
    assert (marker["kind"], marker["repo_id"], marker["revision"]) == (
        "pypi-wheel",
        PACKAGE,
        VERSION,
    )
    assert marker["sha256"] == {"det.onnx": hashlib.sha256(MODEL).hexdigest()}
    assert verify(weights, manifest_path=manifest) == []
    assert missing_models(weights, manifest_path=manifest) == []
    assert download(weights, missing_only=True, manifest_path=manifest) == []
    assert not list(weights.glob(".pypi-*"))  # the staging folder is gone

    (weights / "ocr" / "det.onnx").write_bytes(MODEL[::-1])  # same size, other bytes
    (problem,) = verify(weights, manifest_path=manifest)
    assert "sha256" in problem and "pins" in problem


def test_the_json_api_when_pip_finds_nothing(tmp_path: Path, pypi: Path) -> None:
    manifest = write_manifest(tmp_path / "manifest.json")
    download(tmp_path / "w", ["ocr"], manifest_path=manifest)
    assert (tmp_path / "w" / "ocr" / "det.onnx").read_bytes() == MODEL

    listing = pypi / "pypi" / PACKAGE / VERSION / "json"
    files = json.loads(listing.read_text())
    files["urls"][1]["digests"]["sha256"] = "0" * 64  # the wheel is not what PyPI lists
    listing.write_text(json.dumps(files))
    with pytest.raises(WeightsDownloadError, match="does not match the sha256 PyPI lists"):
        download(tmp_path / "w2", ["ocr"], manifest_path=manifest)


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ({"size": len(MODEL) + 1}, f"is {len(MODEL)} bytes; the manifest pins {len(MODEL) + 1}"),
        ({"sha256": "f" * 64}, "the manifest pins ffff"),
        ({"member": "acme_ocr_data/models/rec.onnx"}, "has no acme_ocr_data/models/rec.onnx"),
    ],
)
def test_a_wheel_that_does_not_match_the_pins_is_refused(
    tmp_path: Path, find_links: Path, pins: dict, message: str
) -> None:
    weights = tmp_path / "w"
    good = write_manifest(tmp_path / "good.json")
    download(weights, ["ocr"], manifest_path=good)
    bad = write_manifest(tmp_path / "bad.json", **pins)
    with pytest.raises(WeightsDownloadError, match=message) as info:
        download(weights, ["ocr"], manifest_path=bad)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("cannot download model 'ocr' from pypi:acme-ocr-data@1.0.0")
    # the folder that was there is untouched, and no partial file is left anywhere
    assert (weights / "ocr" / "det.onnx").read_bytes() == MODEL
    assert verify(weights, manifest_path=good) == []
    assert not list(weights.rglob("*.part")) and not list(weights.glob(".pypi-*"))


def test_offline_is_one_clear_line_and_leaves_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nothing-here"))
    monkeypatch.setattr(wheel_mod, "PYPI_URL", "http://127.0.0.1:9")  # nothing listens there
    manifest = write_manifest(tmp_path / "manifest.json")
    started = time.perf_counter()
    with pytest.raises(WeightsDownloadError) as info:
        download(tmp_path / "w", ["ocr"], manifest_path=manifest, timeout=2)
    assert time.perf_counter() - started < 30
    message = str(info.value)
    assert "\n" not in message and "pip download failed" in message
    assert "the PyPI JSON API is unreachable" in message
    assert not (tmp_path / "w" / "ocr").exists()
    assert missing_models(tmp_path / "w", manifest_path=manifest) == ["ocr"]


def test_a_wheel_given_as_a_file_and_pip_or_http_only(tmp_path: Path) -> None:
    spec = load_manifest(write_manifest(tmp_path / "manifest.json"))["ocr"]
    local = build_wheel(tmp_path / "local")
    wheel_mod.fetch_wheel_model(spec, spec.variant(False), tmp_path / "ocr", 2.0, wheel=local)
    assert (tmp_path / "ocr" / "det.onnx").read_bytes() == MODEL
    broken = tmp_path / "broken.whl"
    broken.write_bytes(b"not a zip")
    with pytest.raises(WeightsDownloadError, match="is not a wheel"):
        wheel_mod.fetch_wheel_model(spec, spec.variant(False), tmp_path / "o2", 2.0, wheel=broken)
    no_model = build_wheel(tmp_path / "empty", model=None)
    with pytest.raises(WeightsDownloadError, match=f"has no {MEMBER}"):
        wheel_mod.fetch_wheel_model(
            spec, spec.variant(False), tmp_path / "o3", 2.0, wheel=no_model
        )
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()
