"""The one sha256 of a file: read in blocks, so a multi-gigabyte checkpoint never sits in
memory whole. Weights checks, converted folders, photos' feature keys and the vocabulary
fingerprints all hash files with it (bytes already in memory use ``hashlib`` directly)."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def sha256_file(path: Path, block: int = BLOCK) -> str:
    """The hex sha256 of the file's content."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()
