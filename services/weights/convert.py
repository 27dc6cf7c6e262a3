"""`vitrina weights convert`: faster CPU runtimes for some models, converted and checked.

- opus-mt-en-ru, opus-mt-ru-en -> ``<name>-ct2/``: CTranslate2 (its own
  ``TransformersConverter``), the Marian tokenizer files copied beside it;
- clip -> ``clip-onnx/``: the image tower (vision model + projection) exported with
  ``torch.onnx.export``, run by ONNX Runtime.

Each conversion is checked on fixed probe inputs against the source model it came from
(convert_marian.py, convert_clip.py) and the result is written to ``converted.json`` in the
converted folder: what was checked, the figures, the tolerance, whether it passed, the source
folder's identity (repo, revision, commit, sha256 of its weights) and the sha256 of every
converted file. A converted folder is used only while that record says it passed and its
files still hash to what was checked (``converted_problem``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.models.resident import LOADING
from services.weights.manifest import (
    incomplete_reason,
    load_manifest,
    model_dir,
    read_marker,
)

RECORD = "converted.json"
#: source model -> (runtime, converted folder suffix)
CONVERTIBLE: dict[str, tuple[str, str]] = {
    "opus-mt-en-ru": ("ctranslate2", "-ct2"),
    "opus-mt-ru-en": ("ctranslate2", "-ct2"),
    "clip": ("onnx", "-onnx"),
}
_SOURCE_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_IDENTITY = ("repo_id", "revision", "commit", "tiny", "seed")


class ConversionError(RuntimeError):
    """A model could not be converted; the message is one line for the operator."""


@dataclass(frozen=True)
class Conversion:
    name: str
    folder: Path
    runtime: str
    passed: bool
    summary: str  # the check's figures, one line
    seconds: float


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
    from services.weights.npm import sha256_file

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


def convert(weights_dir: Path, names: Iterable[str] | None = None) -> list[Conversion]:
    """Convert and check each model (default: every convertible one whose folder is complete).

    Raises ConversionError when a named model's source folder is incomplete or the converter
    fails; a conversion whose check fails is kept (with ``passed: false``) but never used.
    """
    manifest = load_manifest()
    wanted = list(dict.fromkeys(names)) if names is not None else None
    if wanted is not None:
        unknown = [n for n in wanted if n not in CONVERTIBLE]
        if unknown:
            raise ValueError(f"cannot convert {', '.join(unknown)}; convertible: "
                             f"{', '.join(CONVERTIBLE)}")
    done = []
    for name in wanted if wanted is not None else list(CONVERTIBLE):
        source = model_dir(weights_dir, name)
        reason = incomplete_reason(source, manifest[name])
        if reason is not None:
            if wanted is None:
                continue
            raise ConversionError(f"cannot convert {name}: {reason} in {source}")
        done.append(convert_one(source, converted_dir(weights_dir, name), name))
    return done


def convert_one(source: Path, dest: Path, name: str) -> Conversion:
    """Convert ``source`` into ``dest`` (replaced atomically), check it, write the record."""
    runtime = CONVERTIBLE[name][0]
    started = time.perf_counter()
    staging = dest.with_name(f".{dest.name}.converting")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        convert_fn, check_fn = _steps(runtime)
        with LOADING:  # from_pretrained inside: one model load at a time in a process
            details = convert_fn(source, staging)
            check = check_fn(source, staging)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        text = " ".join(str(exc).split())[:300]
        raise ConversionError(f"cannot convert {name}: {type(exc).__name__}: {text}") from exc
    _write_record(staging, source, name, runtime, details, check)
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return Conversion(name, dest, runtime, bool(check["passed"]), check["summary"],
                      time.perf_counter() - started)


def _steps(runtime: str) -> tuple[Callable[[Path, Path], dict[str, Any]],
                                  Callable[[Path, Path], dict[str, Any]]]:
    if runtime == "ctranslate2":
        from services.weights.convert_marian import check_marian, convert_marian

        return convert_marian, check_marian
    from services.weights.convert_clip import check_clip, convert_clip

    return convert_clip, check_clip


def _write_record(folder: Path, source: Path, name: str, runtime: str,
                  details: dict[str, Any], check: dict[str, Any]) -> None:
    from services.weights.npm import sha256_file

    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir())
             if p.is_file() and p.name != RECORD}
    weights = {f: sha256_file(source / f) for f in _SOURCE_WEIGHTS if (source / f).is_file()}
    record = {
        "name": name,
        "runtime": runtime,
        **details,  # converter, versions
        "source": {"folder": source.name, "identity": source_identity(source),
                   "weights_sha256": weights},
        "files": files,
        "passed": bool(check["passed"]),
        "summary": check["summary"],
        "check": check,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


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
