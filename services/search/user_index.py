"""One file per user with the CLIP image embeddings of their library, so the first /find
after a restart reads one file instead of one feature file per photo (issue 31, goal 3).

``FEATURES_DIR/users/<user id>.emb``: a 64-byte header (magic, format version, width, the
model's feature revision tag) and then one record per photo: the photo's sha256 (32 raw
bytes) and its unit-length embedding (``width`` float32, the numbers the feature store
holds, so a row equals the one read from the .npz). The number of records is the file's
size: a record is appended at the end (a crash in the middle leaves a torn tail, cut off by
the next append), the file is rewritten whole (temp + rename) when rows go, and writers take
``users/.lock`` (flock: the bot and a worker process may share the folder).

The file is a cache of the feature store, never the truth: a missing, stale (another model
revision or width) or corrupt file is rebuilt from the .npz files, and /find only uses rows
of the photos the bot's database still lists (the keys it sends), so a row a crash left
behind (erased in the database, not yet rewritten here) never comes back in a result.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import struct
import threading
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("vitrina.features")

MAGIC = b"VTEMB\x00"
VERSION = 1
HEADER = struct.Struct("<6sHI48s")  # magic, version, width, revision (ASCII, NUL-padded)
HEADER_SIZE = HEADER.size  # 60: padded to 64 below
HEADER_BYTES = 64
KEY_FLOATS = 8  # the 32 bytes of a sha256, as float32 columns of a record
FOLDER = "users"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_threads = threading.Lock()  # flock excludes open files, this the threads of one process


def path_for(root: Path, user_id: int) -> Path:
    return Path(root) / FOLDER / f"{int(user_id)}.emb"


def user_of(path: Path, root: Path) -> int | None:
    """The user id a path names when it is a user index file under ``root``, else None."""
    if path.parent != Path(root) / FOLDER or path.suffix != ".emb":
        return None
    return int(path.stem) if re.fullmatch(r"-?[0-9]+", path.stem) else None


@dataclass(frozen=True)
class Index:
    """What one user's file holds: keys (sha256, hex) and their rows (float32, unit)."""

    keys: list[str]
    rows: np.ndarray
    signature: tuple[int, int, int]  # (inode, size, mtime ns) when read


def _dtype(width: int) -> np.dtype:
    return np.dtype([("key", "u1", (32,)), ("row", "<f4", (width,))])


def _header(revision: str, width: int) -> bytes:
    packed = HEADER.pack(MAGIC, VERSION, width, revision.encode("ascii")[:48])
    return packed.ljust(HEADER_BYTES, b"\0")


def signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def read(path: Path, revision: str | None, width: int | None) -> Index | None:
    """The file's rows, or None when it is missing, of another revision or width (when
    given), or not a file of this format (then it is removed: rebuilt by the caller)."""
    try:
        with path.open("rb") as file:
            stat = os.fstat(file.fileno())
            head = file.read(HEADER_BYTES)
            found = _parse_header(head)
            if found is None:
                _discard(path, "not an embedding file")
                return None
            stored_revision, stored_width = found
            if (revision is not None and stored_revision != revision) or (
                width is not None and stored_width != width
            ):
                return None
            columns = KEY_FLOATS + stored_width  # a record as float32s: the key is 8 of them
            count = (stat.st_size - HEADER_BYTES) // (4 * columns)  # a torn tail is left out
            records = (
                np.memmap(file, "<f4", "r", HEADER_BYTES, (count, columns))
                if count
                else np.zeros((0, columns), np.float32)
            )
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _discard(path, exc)
        return None
    digests = np.ascontiguousarray(records[:, :KEY_FLOATS]).tobytes().hex()
    keys = [digests[i : i + 64] for i in range(0, len(digests), 64)]
    # mapped, not copied: the pages come from the OS cache as the product reads them, and
    # BLAS reads rows with a leading stride as fast as packed ones (measured). The mapping
    # outlives a rewrite (a new file renamed over it) and an append (past its end).
    return Index(keys, records[:, KEY_FLOATS:], (stat.st_ino, stat.st_size, stat.st_mtime_ns))


def header_of(path: Path) -> tuple[str, int] | None:
    """(revision, width) the file was written for; None when missing or not readable."""
    try:
        with path.open("rb") as file:
            return _parse_header(file.read(HEADER_BYTES))
    except OSError:
        return None


def append(path: Path, revision: str, width: int, keys: Sequence[str], rows: np.ndarray) -> bool:
    """Add rows at the end of a file of this revision and width; False (nothing written)
    when the file is missing or of another kind: the caller rewrites it instead."""
    records = _records(keys, rows, width)
    if not len(records):
        return True
    with _locked(path.parent):
        try:
            with path.open("r+b") as file:
                if _parse_header(file.read(HEADER_BYTES)) != (revision, width):
                    return False
                size = os.fstat(file.fileno()).st_size
                whole = HEADER_BYTES + (size - HEADER_BYTES) // records.itemsize * records.itemsize
                if whole != size:  # a torn record from a crash: cut it before appending
                    file.truncate(whole)
                file.seek(whole)
                file.write(records.tobytes())
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("could not append to %s: %s", path, exc)
            return False
    return True


def rewrite(path: Path, revision: str, width: int, keys: Sequence[str], rows: np.ndarray) -> None:
    """Replace the file with exactly these rows (temp + rename: a crash leaves the old file
    or the new one)."""
    with _locked(path.parent):
        _write(path, revision, width, _records(keys, rows, width))


def remove(path: Path) -> None:
    with _locked(path.parent):
        path.unlink(missing_ok=True)


def keep_only(path: Path, keep: Collection[str]) -> int:
    """Rewrite the file without the rows whose key is not in ``keep`` (the photos the
    database still has: after /delete, retention); the file goes when none is left, or when
    it cannot be read. Returns the rows removed."""
    keep = set(keep)
    with _locked(path.parent):
        found = _parse_header(_head(path))
        index = None if found is None else read(path, *found)
        if index is None:
            path.unlink(missing_ok=True)
            return 0
        mask = np.fromiter((key in keep for key in index.keys), bool, len(index.keys))
        removed = int((~mask).sum())
        if not mask.any():
            path.unlink(missing_ok=True)
        elif removed:
            keys = [key for key, kept in zip(index.keys, mask, strict=True) if kept]
            _write(path, found[0], found[1], _records(keys, index.rows[mask], found[1]))
        return removed


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(HEADER_BYTES)
    except OSError:
        return b""


def _parse_header(head: bytes) -> tuple[str, int] | None:
    if len(head) < HEADER_BYTES:
        return None
    magic, version, width, revision = HEADER.unpack(head[:HEADER_SIZE])
    if magic != MAGIC or version != VERSION or not 0 < width <= 65536:
        return None
    try:
        return revision.rstrip(b"\0").decode("ascii"), int(width)
    except UnicodeDecodeError:
        return None


def _records(keys: Sequence[str], rows: np.ndarray, width: int) -> np.ndarray:
    pairs = [(i, key) for i, key in enumerate(keys) if _SHA256.match(key)]
    records = np.empty(len(pairs), dtype=_dtype(width))
    if pairs:
        digests = bytes.fromhex("".join(key for _, key in pairs))
        records["key"] = np.frombuffer(digests, np.uint8).reshape(-1, 32)
        records["row"] = np.asarray(rows, np.float32)[[i for i, _ in pairs]]
    return records


def _write(path: Path, revision: str, width: int, records: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    try:
        with tmp.open("wb") as file:
            file.write(_header(revision, width))
            file.write(records.tobytes())
        tmp.replace(path)
    except OSError as exc:
        log.warning("could not write %s: %s", path, exc)
    finally:
        tmp.unlink(missing_ok=True)


def _discard(path: Path, reason: object) -> None:
    log.warning("embedding file %s unusable (%s): built again", path, reason)
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with _threads, (folder / ".lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
