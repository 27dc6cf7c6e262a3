"""Weights shipped inside an npm package (kind ``npm-onnx``), e.g. ISNet in imgly's
``@imgly/background-removal-data``.

Such a package's ``dist/resources.json`` maps a resource (``/models/medium``) to chunks
(``dist/<sha256>``, 4 MiB each) and their byte offsets; concatenated in order they are the
file. We fetch the tarball (``npm pack`` when npm exists, else over HTTP from the registry),
check every chunk against its name, reassemble, check the pinned sha256 and size, and write
``WEIGHTS_DIR/<name>/<file>`` with the ``vitrina.json`` marker.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from services.weights.manifest import (
    ModelSpec,
    Variant,
    WeightsDownloadError,
    _one_line,
    package_marker,
    package_sources,
    write_marker,
)

NPM_REGISTRY = "https://registry.npmjs.org"
_CHUNK_PREFIX = "package/dist/"
_RESOURCES = "package/dist/resources.json"


class NpmError(RuntimeError):
    """The tarball could not be fetched or does not hold what the manifest pins."""


def tarball_url(package: str, version: str, registry: str | None = None) -> str:
    """The registry's tarball address: ``<registry>/@scope/name/-/name-<version>.tgz``."""
    registry = registry or NPM_REGISTRY
    return f"{registry.rstrip('/')}/{package}/-/{package.rsplit('/', 1)[-1]}-{version}.tgz"


def fetch_tarball(
    package: str, version: str, dest: Path, timeout: float, *, use_npm: bool | None = None
) -> Path:
    """Download ``package@version`` as a .tgz into ``dest``; returns its path.

    ``use_npm=None``: ``npm pack`` when npm is installed, the registry over HTTP when it is
    not or when npm fails (an old npm, its own config); True: npm only; False: HTTP only.
    """
    dest.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm") if use_npm in (None, True) else None
    if use_npm and npm is None:
        raise NpmError("npm is not installed")
    if npm is None:
        return _http_tarball(package, version, dest, timeout)
    try:
        return _npm_pack(npm, package, version, dest, timeout)
    except NpmError as npm_error:
        if use_npm:
            raise
        try:
            return _http_tarball(package, version, dest, timeout)
        except NpmError as http_error:
            raise NpmError(f"{npm_error}; over HTTP: {http_error}") from http_error


def _npm_pack(npm: str, package: str, version: str, dest: Path, timeout: float) -> Path:
    command = [
        npm,
        "pack",
        f"{package}@{version}",
        "--pack-destination",
        str(dest),
        "--silent",
        "--fetch-retries=0",
        f"--fetch-timeout={int(timeout * 1000)}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=max(600.0, timeout), check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NpmError(f"npm pack timed out ({_one_line(exc)})") from exc
    if done.returncode != 0:
        lines = [x for x in (done.stderr or done.stdout).splitlines() if "ERR" in x]
        tail = " ".join(lines[-3:] or (done.stderr or done.stdout).splitlines()[-2:])
        raise NpmError(f"npm pack failed: {' '.join(tail.split())[:300]}")
    names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if names and (dest / names[-1]).is_file():
        return dest / names[-1]
    found = sorted(dest.glob("*.tgz"))
    if not found:
        raise NpmError("npm pack wrote no tarball")
    return found[-1]


def _http_tarball(package: str, version: str, dest: Path, timeout: float) -> Path:
    url = tarball_url(package, version)
    target = dest / url.rsplit("/", 1)[-1]
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except Exception as exc:  # DNS, refused, timeout, 404
        target.unlink(missing_ok=True)
        raise NpmError(f"the npm registry is unreachable ({_one_line(exc)})") from exc
    return target


def read_resources(tarball: Path) -> dict[str, Any]:
    """The package's ``dist/resources.json``."""
    with tarfile.open(tarball, "r|gz") as tar:
        for member in tar:
            if member.name == _RESOURCES:
                handle = tar.extractfile(member)
                if handle is not None:
                    return json.loads(handle.read().decode("utf-8"))
    raise NpmError(f"{tarball.name} has no {_RESOURCES.removeprefix('package/')}")


def extract_resource(tarball: Path, resource: str, out: Path) -> tuple[str, int]:
    """Reassemble ``resource`` from its chunks into ``out``; returns (sha256, size).

    Every chunk must hash to its own name and the offsets must tile the resource exactly.
    """
    entry = read_resources(tarball).get(resource)
    if entry is None:
        raise NpmError(f"{tarball.name}: no resource {resource!r} in resources.json")
    chunks = sorted(entry["chunks"], key=lambda c: c["offsets"][0])
    position = 0
    for chunk in chunks:
        start, end = chunk["offsets"]
        if start != position or end <= start:
            raise NpmError(f"{resource}: chunk offsets do not tile the file at byte {position}")
        position = end
    if position != int(entry["size"]):
        raise NpmError(
            f"{resource}: chunks cover {position} bytes, resources.json says {entry['size']}"
        )
    wanted = {c["hash"] for c in chunks}
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".npm-") as tmp:
        parts = Path(tmp)
        with tarfile.open(tarball, "r|gz") as tar:
            for member in tar:
                name = member.name.removeprefix(_CHUNK_PREFIX)
                if member.isfile() and member.name.startswith(_CHUNK_PREFIX) and name in wanted:
                    handle = tar.extractfile(member)
                    assert handle is not None
                    with (parts / name).open("wb") as part:
                        shutil.copyfileobj(handle, part, 1 << 20)
        digest = hashlib.sha256()
        partial = out.with_name(out.name + ".part")
        with partial.open("wb") as target:
            for chunk in chunks:
                path = parts / chunk["hash"]
                if not path.is_file():
                    raise NpmError(f"{resource}: chunk {chunk['hash'][:12]}… missing from tarball")
                data = path.read_bytes()
                start, end = chunk["offsets"]
                if len(data) != end - start or hashlib.sha256(data).hexdigest() != chunk["hash"]:
                    raise NpmError(f"{resource}: chunk {chunk['hash'][:12]}… is corrupt")
                digest.update(data)
                target.write(data)
        partial.replace(out)
    return digest.hexdigest(), position


def fetch_npm_model(
    spec: ModelSpec,
    variant: Variant,
    folder: Path,
    timeout: float,
    *,
    tarball: Path | None = None,
    use_npm: bool | None = None,
) -> None:
    """Fill ``folder`` with the files of an npm-onnx entry (``tarball``: a local .tgz)."""
    package, version = variant.repo_id, variant.revision

    def fail(reason: str) -> WeightsDownloadError:
        return WeightsDownloadError(spec.name, f"npm:{package}", reason, version)

    sources = package_sources(spec, variant, "resource", fail)
    if folder.exists():
        shutil.rmtree(folder)  # tiny, stale or partial: the new file must not mix with them
    folder.mkdir(parents=True)
    fields = package_marker(spec, variant)
    write_marker(folder, **fields, complete=False)
    try:
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".npm-pack-") as tmp:
            local = tarball or fetch_tarball(package, version, Path(tmp), timeout, use_npm=use_npm)
            hashes = {}
            for source in sources:
                assert source.resource is not None
                digest, size = extract_resource(local, source.resource, folder / source.file)
                if digest != source.sha256 or (source.size is not None and size != source.size):
                    (folder / source.file).unlink()
                    raise NpmError(
                        f"{source.resource} is sha256 {digest} ({size} bytes); the "
                        f"manifest pins {source.sha256} ({source.size} bytes)"
                    )
                hashes[source.file] = digest
    except (NpmError, OSError, tarfile.TarError, ValueError, KeyError) as exc:
        raise fail(_one_line(exc) if not isinstance(exc, NpmError) else str(exc)) from exc
    write_marker(folder, **fields, complete=True, files=list(variant.files), sha256=hashes)
