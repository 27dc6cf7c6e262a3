"""Per-photo features kept on disk, so later jobs (and a restarted worker) reuse them.

``FEATURES_DIR/<sha256 of the photo>/<model>-<revision tag>-<what>.npz``: the CLIP image
embedding, the ISNet saliency map, the SAM image embedding and the cutter's ranked candidate
masks. The revision tag is a short hash of the model folder's revision (and whatever else
changes the numbers: device, dtype, working size), so new weights never read old features.
Files are written atomically (temp + rename); a file that cannot be read back, or holds the
wrong shapes, is deleted and the feature computed again. The bot deletes a photo's folder
with the photo (retention, /forget_me).

The store is handed to the model classes (never a global): the worker may live in another
process, and every process that has the folder can use it. A listener (`on_save`) hears of
each feature written; `OWNERS` says, while the worker runs a batch, whose photos these are
(the /find index appends a user's new embeddings to their file: services/search/vectors.py).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import re
import shutil
import uuid
import weakref
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from pathlib import Path

import numpy as np

log = logging.getLogger("vitrina.features")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"[^A-Za-z0-9_.]+")
#: photo (sha256) -> the users whose requests the running batch serves (set by the worker)
OWNERS: ContextVar[Mapping[str, Collection[int]] | None] = ContextVar(
    "feature_owners", default=None
)
#: (photo, model, revision, what, arrays) of a feature just written
Saved = Callable[[str, str, str, str, Mapping[str, np.ndarray]], None]


def tag(*parts: object) -> str:
    """A short, file-name-safe hash of everything a feature depends on."""
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:16]


class FeatureStore:
    """Arrays per photo under ``root``; every method is safe to call from any thread."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.loads = 0  # for tests and logs: features read back from disk
        self.saves = 0
        self._listeners: list[Callable[[], Saved | None]] = []

    def on_save(self, listener: Saved) -> None:
        """Call ``listener`` after each feature written (in the writer's thread; its errors
        are logged, never the writer's)."""
        held = weakref.WeakMethod(listener) if inspect.ismethod(listener) else lambda: listener
        self._listeners.append(held)  # a method's object is not kept alive by the store

    def folder(self, photo: str) -> Path | None:
        """The photo's folder; None for a key that is not a sha256 (nothing is stored)."""
        return self.root / photo if _SHA256.match(photo or "") else None

    def path(self, photo: str, model: str, revision: str, what: str) -> Path | None:
        folder = self.folder(photo)
        if folder is None:
            return None
        return folder / f"{_NAME.sub('_', model)}-{revision}-{_NAME.sub('_', what)}.npz"

    def load(
        self, photo: str, model: str, revision: str, what: str
    ) -> dict[str, np.ndarray] | None:
        """The arrays saved under this name, or None (absent, or unreadable: then deleted)."""
        path = self.path(photo, model, revision, what)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except Exception as exc:  # truncated, foreign, or a bad zip: compute it again
            self.discard(path, exc)
            return None
        self.loads += 1
        return arrays

    def save(
        self,
        photo: str,
        model: str,
        revision: str,
        what: str,
        arrays: Mapping[str, np.ndarray],
        *,
        compress: bool = False,
    ) -> None:
        """Write atomically; a failure (full disk, a folder just erased) is only logged:
        the feature is computed again next time."""
        path = self.path(photo, model, revision, what)
        if path is None:
            return
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as file:
                (np.savez_compressed if compress else np.savez)(file, **arrays)
            tmp.replace(path)
            self.saves += 1
        except OSError as exc:
            log.warning("could not store feature %s: %s", path, exc)
            return
        finally:
            tmp.unlink(missing_ok=True)
        for held in list(self._listeners):
            listener = held()
            if listener is None:
                continue
            try:
                listener(photo, model, revision, what, arrays)
            except Exception:
                log.exception("a listener of stored features failed")

    def discard(self, path: Path, reason: object) -> None:
        log.warning("feature file %s unusable (%s): computing it again", path, reason)
        path.unlink(missing_ok=True)

    def remove(self, photo: str) -> None:
        """Forget every feature of one photo."""
        folder = self.folder(photo)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
