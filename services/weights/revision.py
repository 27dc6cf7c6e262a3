"""Which revision of a model folder is installed: part of every result-cache key.

A folder ``vitrina weights download`` finished records where it came from in its marker
(``vitrina.json``): the hub commit, or the sha256 of every pinned file (npm, plain URLs).
That record is the revision. A folder nobody downloaded (tiny random weights, an operator's
own copy, a download that did not finish) gets a content fingerprint instead: the sha256 of
its small files (configs, tokenizers, tiny weights) and the name, size and mtime of its big
ones. Content hashes are remembered per (file, size, mtime), so asking again costs one
``stat`` per file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path

from services.weights.digest import sha256_file
from services.weights.manifest import model_dir, read_marker

#: Files up to this size are hashed whole; bigger ones count by name, size and mtime.
HASHED_MAX_BYTES = 1 << 20
ABSENT = "absent"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")

_hashes: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def model_revision(weights_dir: Path, name: str) -> str:
    """The revision of ``weights_dir/<name>/``: ``repo@commit``, ``repo@sha256:…`` (a
    recorded download), ``fp:…`` (a content fingerprint) or ``absent``."""
    return folder_revision(model_dir(weights_dir, name))


def folder_revision(folder: Path) -> str:
    if not folder.is_dir():
        return ABSENT
    recorded = recorded_revision(folder)
    return recorded if recorded is not None else "fp:" + fingerprint(folder)


def recorded_revision(folder: Path) -> str | None:
    """What a finished download recorded; None for tiny, unfinished or unpinned folders."""
    marker = read_marker(folder) or {}
    if marker.get("tiny") or marker.get("complete") is not True:
        return None
    repo = str(marker.get("repo_id", ""))
    commit = str(marker.get("commit") or "")
    if _COMMIT.match(commit):
        return f"{repo}@{commit}"
    hashes = marker.get("sha256")
    if isinstance(hashes, dict) and hashes:
        digest = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
        return f"{repo}@sha256:{digest[:16]}"
    return None


def fingerprint(folder: Path) -> str:
    """sha256 over every file below ``folder`` (hidden folders such as the hub's ``.cache``
    and unfinished ``.part`` files skipped): content of the small ones, stat of the big."""
    digest = hashlib.sha256()
    for path in sorted(_files(folder)):
        try:
            stat = path.stat()
        except OSError:
            continue
        relative = path.relative_to(folder).as_posix()
        if stat.st_size <= HASHED_MAX_BYTES:
            part = _content_hash(path, stat.st_size, stat.st_mtime_ns)
        else:
            part = f"{stat.st_size}:{stat.st_mtime_ns}"
        digest.update(f"{relative}\0{part}\n".encode())
    return digest.hexdigest()[:24]


def _files(folder: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(root) / n for n in names if not n.endswith(".part"))
    return found


def _content_hash(path: Path, size: int, mtime_ns: int) -> str:
    key = (str(path), size, mtime_ns)
    with _lock:
        known = _hashes.get(key)
    if known is not None:
        return known
    try:
        value = sha256_file(path)
    except OSError:
        value = f"unreadable:{size}:{mtime_ns}"
    with _lock:
        if len(_hashes) > 4096:
            _hashes.clear()
        _hashes[key] = value
    return value


def file_digest(path: Path) -> str:
    """sha256 of a (small) file's content, remembered per size and mtime; "absent" if gone.
    For package data a result depends on: vocabularies, templates."""
    try:
        stat = Path(path).stat()
    except OSError:
        return ABSENT
    return _content_hash(Path(path), stat.st_size, stat.st_mtime_ns)[:24]
