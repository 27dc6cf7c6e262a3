"""Files on disk beside the database: photos named by their sha256, result images named by
their job. Every write is atomic; these run in a thread (hashing 20 MB takes a while)."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path


def store_file(photos_dir: Path, data: bytes, extension: str) -> tuple[str, Path]:
    """Hash and write the bytes: (sha256, path)."""
    digest = hashlib.sha256(data).hexdigest()
    path = photos_dir / digest[:2] / f"{digest}.{extension}"
    if not path.exists():  # the same photo sent twice at once: both writes are whole
        write_atomically(path, data)
    return digest, path


def link_or_copy(source: Path, target: Path) -> bool:
    """``target`` becomes the same file as ``source`` (a hard link; a copy where links are
    not possible), atomically. Each job owns its own name, so erasing one job's files never
    takes another's. False when ``source`` is gone."""
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")
    try:
        try:
            os.link(source, tmp)
        except FileNotFoundError:
            return False
        except OSError:  # another file system, or no hard links here
            try:
                shutil.copyfile(source, tmp)
            except FileNotFoundError:
                return False
        tmp.replace(target)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file + rename: a crash leaves the old file or the new one, never half of one.
    The temp name is unique, so two threads writing the same path do not collide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
