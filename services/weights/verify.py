"""`vitrina weights verify`: is every folder complete, pinned and parseable?"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from services.weights.digest import sha256_file
from services.weights.manifest import (
    MARKER,
    ModelSpec,
    _one_line,
    _select,
    incomplete_reason,
    load_manifest,
    model_dir,
    parse_override,
    read_marker,
)


def verify(
    weights_dir: Path,
    names: Iterable[str] | None = None,
    *,
    model_override: dict[str, str] | None = None,
    manifest_path: Path | None = None,
) -> list[str]:
    """Problems found, one line each (empty = all fine). Reads headers only, never a model.

    Checks the folder and its files, that the ``vitrina.json`` marker names a repo/revision
    of the manifest (or of ``model_override``), and that the library can parse the config.
    """
    overrides = model_override or {}
    problems: list[str] = []
    for spec in _select(load_manifest(manifest_path), names):
        folder = model_dir(weights_dir, spec.name)
        reason = incomplete_reason(folder, spec)
        if reason is not None:
            problems.append(f"{spec.name}: {reason} in {folder}")
            continue
        problems.extend(f"{spec.name}: {p}" for p in _marker_problems(folder, spec, overrides))
        problems.extend(f"{spec.name}: {p}" for p in _content_problems(folder, spec))
    return problems


def _marker_problems(folder: Path, spec: ModelSpec, overrides: dict[str, str]) -> list[str]:
    marker = read_marker(folder)
    if marker is None:
        return [f"no readable {MARKER} in {folder}; re-run 'vitrina weights download'"]
    got = (marker.get("repo_id"), marker.get("revision"))
    wanted = {(v.repo_id, v.revision) for v in spec.variants()}
    if spec.name in overrides:
        override = parse_override(overrides[spec.name])
        wanted = {(override[0], override[1])}
    if got in wanted:
        return []
    expected = " or ".join(f"{r}@{v}" for r, v in sorted(wanted))
    return [f"{folder} holds {got[0]}@{got[1]}, the manifest pins {expected}"]


def _content_problems(folder: Path, spec: ModelSpec) -> list[str]:
    problems = _pinned_file_problems(folder, spec)
    if spec.kind == "transformers":
        from transformers import AutoConfig

        try:
            AutoConfig.from_pretrained(folder, local_files_only=True)
        except Exception as exc:  # any parse failure is a finding, not a crash
            problems.append(f"config.json unreadable: {_one_line(exc)}")
    for path in sorted(folder.rglob("*.safetensors")):
        if ".cache" in path.relative_to(folder).parts:
            continue
        from safetensors import safe_open

        try:
            with safe_open(path, framework="pt") as handle:
                handle.keys()
        except Exception as exc:  # a truncated or foreign file
            problems.append(f"{path.name} unreadable: {_one_line(exc)}")
    return problems


def _pinned_file_problems(folder: Path, spec: ModelSpec) -> list[str]:
    """Files with a pinned sha256 (npm, plain URLs) must match it; tiny weights are exempt
    (they are flagged as tiny elsewhere). Reads each file once (ViT-H SAM: a few seconds)."""
    if not spec.sources or (read_marker(folder) or {}).get("tiny"):
        return []
    problems = []
    for source in spec.sources:
        path = folder / source.file
        if not path.is_file():
            continue  # another variant's file
        size = path.stat().st_size
        if source.size is not None and size != source.size:
            problems.append(f"{source.file} is {size} bytes, the manifest pins {source.size}")
        elif (digest := sha256_file(path)) != source.sha256:
            pinned = source.sha256
            problems.append(f"{source.file} has sha256 {digest}, the manifest pins {pinned}")
    return problems
