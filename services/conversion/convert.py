"""`vitrina weights convert`: faster CPU runtimes for some models, converted and checked.

- opus-mt-en-ru, opus-mt-ru-en -> ``<name>-ct2/``: CTranslate2 (its own
  ``TransformersConverter``), the Marian tokenizer files copied beside it;
- clip -> ``clip-onnx/``: the image tower (vision model + projection) exported with
  ``torch.onnx.export``, run by ONNX Runtime.

Each conversion is checked on fixed probe inputs against the source model it came from
(marian.py, clip.py here) and the result is written to ``converted.json`` in the converted
folder: what was checked, the figures, the tolerance, whether it passed, the source folder's
identity (repo, revision, commit, sha256 of its weights) and the sha256 of every converted
file. Reading that record back, and refusing a folder that no longer matches it, is the
weights layer's (services/weights/converted.py): the runtimes need it, and they sit below.
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

from services.models.loading import LOADING
from services.weights.converted import CONVERTIBLE, RECORD, converted_dir, source_identity
from services.weights.digest import sha256_file
from services.weights.manifest import incomplete_reason, load_manifest, model_dir

_SOURCE_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


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
            raise ValueError(
                f"cannot convert {', '.join(unknown)}; convertible: {', '.join(CONVERTIBLE)}"
            )
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
    return Conversion(
        name, dest, runtime, bool(check["passed"]), check["summary"], time.perf_counter() - started
    )


def _steps(
    runtime: str,
) -> tuple[Callable[[Path, Path], dict[str, Any]], Callable[[Path, Path], dict[str, Any]]]:
    if runtime == "ctranslate2":
        from services.conversion.marian import check_marian, convert_marian

        return convert_marian, check_marian
    from services.conversion.clip import check_clip, convert_clip

    return convert_clip, check_clip


def _write_record(
    folder: Path,
    source: Path,
    name: str,
    runtime: str,
    details: dict[str, Any],
    check: dict[str, Any],
) -> None:
    files = {
        p.name: sha256_file(p)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != RECORD
    }
    weights = {f: sha256_file(source / f) for f in _SOURCE_WEIGHTS if (source / f).is_file()}
    record = {
        "name": name,
        "runtime": runtime,
        **details,  # converter, versions
        "source": {
            "folder": source.name,
            "identity": source_identity(source),
            "weights_sha256": weights,
        },
        "files": files,
        "passed": bool(check["passed"]),
        "summary": check["summary"],
        "check": check,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
