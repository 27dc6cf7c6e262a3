"""SHARED_DIR: photos and result images through a folder every machine mounts (NFS, a
cloud volume), for big deployments, instead of as bytes in Redis.

``photos/<sha256>.img`` is written by the bot (atomically, named by its content) and read in
place by the workers; ``results/<random>.png`` is written by a worker and read once, then
removed, by the bot. The bot sweeps what nobody read: photos after PHOTO_TTL_S, results
after RESULT_TTL_S, as Redis's TTLs would. Everything here does file I/O: run it off the
event loop.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

from PIL import Image

PHOTOS, RESULTS = "photos", "results"


def shared_photo(shared: Path, digest: str) -> Path:
    return shared / PHOTOS / f"{digest}.img"


def place_photo(shared: Path, source: Path, digest: str) -> Path:
    """The photo in the shared folder (copied once; its time renewed, for the sweep)."""
    target = shared_photo(shared, digest)
    if target.exists():
        os.utime(target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return target


def write_result_png(shared: Path, image: Image.Image) -> str:
    """Save a result image as a PNG in ``results/``; its name goes into the outcome."""
    folder = shared / RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.png"
    partial = folder / f".{name}.part"
    image.save(partial, format="PNG", compress_level=1)
    partial.replace(folder / name)
    return name


def take_result_png(shared: Path, name: str) -> Image.Image:
    """Read a result image written by a worker, and remove its file (read once)."""
    if Path(name).name != name or not name.endswith(".png"):
        raise ValueError(f"not a result image name: {name!r}")
    path = shared / RESULTS / name
    with Image.open(path) as image:
        image.load()
        loaded = image.copy()
    path.unlink(missing_ok=True)
    return loaded


def sweep(shared: Path, photo_ttl_s: float, result_ttl_s: float) -> int:
    """Remove photos and results older than their TTL (and stale partial files)."""
    now, removed = time.time(), 0
    for sub, ttl in ((PHOTOS, photo_ttl_s), (RESULTS, result_ttl_s)):
        folder = shared / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                if now - path.stat().st_mtime > ttl:
                    path.unlink()
                    removed += 1
            except OSError:  # another machine swept it first
                continue
    return removed
