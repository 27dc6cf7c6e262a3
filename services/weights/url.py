"""Weights published as plain files (kind ``torch-file`` with ``sources``), e.g. SAM's
checkpoints on dl.fbaipublicfiles.com: streamed to ``<file>.part``, checked against the
pinned sha256 and size, then renamed."""

from __future__ import annotations

import hashlib
import shutil
import urllib.request
from pathlib import Path

from services.weights.manifest import (
    ModelSpec,
    Variant,
    WeightsDownloadError,
    _one_line,
    read_marker,
    write_marker,
)


def fetch_url_files(spec: ModelSpec, variant: Variant, folder: Path, timeout: float) -> None:
    """Download every file of ``variant`` from its pinned URL into ``folder``."""

    def fail(reason: str) -> WeightsDownloadError:
        return WeightsDownloadError(spec.name, variant.repo_id, reason, variant.revision)

    marker = read_marker(folder) or {}
    if folder.exists() and marker.get("tiny"):
        shutil.rmtree(folder)  # tiny weights (and their sam_config.json) must not shadow these
    folder.mkdir(parents=True, exist_ok=True)
    fields = {
        "tiny": False,
        "name": spec.name,
        "kind": spec.kind,
        "repo_id": variant.repo_id,
        "revision": variant.revision,
    }
    write_marker(folder, **fields, complete=False)
    hashes = {}
    for file in variant.files:
        source = spec.source(file)
        if source is None or not source.url:
            raise fail(f"the manifest names no URL for {file}")
        partial = folder / (file + ".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with (
                urllib.request.urlopen(source.url, timeout=timeout) as response,
                partial.open("wb") as out,
            ):
                while block := response.read(1 << 20):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
        except Exception as exc:  # DNS, refused, timeout, 403, a broken transfer
            partial.unlink(missing_ok=True)
            raise fail(f"{source.url} is unreachable ({_one_line(exc)})") from exc
        if digest.hexdigest() != source.sha256 or (source.size and size != source.size):
            partial.unlink(missing_ok=True)
            raise fail(
                f"{file} is sha256 {digest.hexdigest()} ({size} bytes); "
                f"the manifest pins {source.sha256} ({source.size} bytes)"
            )
        partial.replace(folder / file)
        hashes[file] = source.sha256
    write_marker(folder, **fields, complete=True, files=list(variant.files), sha256=hashes)
