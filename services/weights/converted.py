"""Converted folders, the read side: where they are, their ``converted.json``, and whether
one may be used.

``vitrina weights convert`` (services/conversion/) writes ``<name>-ct2/`` (opus-mt on
CTranslate2) and ``clip-onnx/`` (CLIP's image tower on ONNX Runtime), each with
``converted.json``: what was checked against the source model, whether it passed, the source
folder's identity and the sha256 of every converted file. A converted folder is used only
while that record says it passed and its files still hash to what was checked
(``converted_problem``); the runtimes (services/models/marian_ct2.py, clip_onnx.py) ask here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from services.weights.digest import sha256_file
from services.weights.manifest import model_dir, read_marker

RECORD = "converted.json"
#: source model -> (runtime, converted folder suffix)
CONVERTIBLE: dict[str, tuple[str, str]] = {
    "opus-mt-en-ru": ("ctranslate2", "-ct2"),
    "opus-mt-ru-en": ("ctranslate2", "-ct2"),
    "clip": ("onnx", "-onnx"),
}
#: what of a source folder's marker identifies the weights a conversion came from
_IDENTITY = ("repo_id", "revision", "commit", "tiny", "seed")


def converted_dir(weights_dir: Path, name: str) -> Path:
    if name not in CONVERTIBLE:
        raise ValueError(f"{name} has no converted runtime; convertible: {', '.join(CONVERTIBLE)}")
    return model_dir(weights_dir, name + CONVERTIBLE[name][1])


def read_record(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def source_identity(source_dir: Path) -> dict[str, Any]:
    marker = read_marker(source_dir) or {}
    return {key: marker.get(key) for key in _IDENTITY if marker.get(key) is not None}


def converted_problem(folder: Path, source_dir: Path, *, deep: bool = False) -> str | None:
    """Why ``folder`` must not be used (None: verified and unchanged).

    Hashes the converted files (they must be what was checked) and compares the source
    folder's marker with the one recorded; ``deep`` also hashes the source weights.
    """
    if not folder.is_dir():
        return f"{folder} missing; run 'vitrina weights convert'"
    record = read_record(folder)
    if record is None:
        return f"no readable {RECORD} in {folder}; run 'vitrina weights convert'"
    if record.get("passed") is not True:
        return f"its conversion check failed ({record.get('summary', '?')})"
    files = record.get("files")
    if not isinstance(files, dict) or not files:
        return f"{RECORD} lists no files"
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if sha256_file(path) != digest:
            return f"{name} changed since it was checked (sha256 differs)"
    recorded = (record.get("source") or {}).get("identity") or {}
    current = source_identity(source_dir)
    if current and current != recorded:
        return f"converted from {recorded or 'unknown'}, but {source_dir.name} now holds {current}"
    if deep:
        for name, digest in ((record.get("source") or {}).get("weights_sha256") or {}).items():
            path = source_dir / name
            if path.is_file() and sha256_file(path) != digest:
                return f"{source_dir.name}/{name} changed since the conversion"
    return None


def verify_converted(weights_dir: Path, names: Iterable[str] | None = None) -> list[str]:
    """Problems of the converted folders that exist (absent ones are not a problem)."""
    problems = []
    for name in names if names is not None else CONVERTIBLE:
        if name not in CONVERTIBLE:
            continue
        folder = converted_dir(weights_dir, name)
        if not folder.exists():
            continue
        problem = converted_problem(folder, model_dir(weights_dir, name), deep=True)
        if problem is not None:
            problems.append(f"{folder.name}: {problem}")
    return problems
