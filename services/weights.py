"""Model weights: the manifest, and the library side of `vitrina weights download|verify|tiny`.

Every model owns one folder under WEIGHTS_DIR (``WEIGHTS_DIR/<name>/``) in exactly the layout
its loader reads: for transformers models, what ``save_pretrained``/``snapshot_download``
write. A ``vitrina.json`` marker in the folder records where the files came from.

The manifest is package data (``services/weights_manifest.json``) so that an installed wheel
has it too. Each entry names a GPU default and, optionally, a lighter CPU variant.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MANIFEST_PATH = Path(__file__).resolve().parent / "weights_manifest.json"
MARKER = "vitrina.json"
KINDS = ("transformers", "diffusers", "torch-file")
DEFAULT_TIMEOUT_S = 10.0

_TRANSFORMERS_WEIGHTS = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_TRUE = {"1", "ON", "YES", "TRUE"}


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


def _write_marker(folder: Path, **fields: Any) -> None:
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
        return None
    # torch-file: every file of some variant is there (globs match at least one file).
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


# --- verify --------------------------------------------------------------------------------


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
        override = _parse_override(overrides[spec.name])
        wanted = {(override[0], override[1])}
    if got in wanted:
        return []
    expected = " or ".join(f"{r}@{v}" for r, v in sorted(wanted))
    return [f"{folder} holds {got[0]}@{got[1]}, the manifest pins {expected}"]


def _content_problems(folder: Path, spec: ModelSpec) -> list[str]:
    problems = []
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


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- download ------------------------------------------------------------------------------


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as set now (huggingface_hub itself reads it only once, at import)."""
    from huggingface_hub import constants

    env = (
        os.environ.get(v, "").strip().upper() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    return any(value in _TRUE for value in env) or bool(constants.HF_HUB_OFFLINE)


def _parse_override(value: str) -> tuple[str, str]:
    repo_id, _, revision = value.partition("@")
    if not repo_id or repo_id.count("/") != 1:
        raise ValueError(f"model override must be 'owner/name[@revision]', not {value!r}")
    return repo_id, revision or "main"


def download(
    weights_dir: Path,
    names: Iterable[str] | None = None,
    *,
    missing_only: bool = False,
    use_gpu_variants: bool = False,
    model_override: dict[str, str] | None = None,
    offline: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    manifest_path: Path | None = None,
) -> list[Path]:
    """Fetch pinned snapshots into ``weights_dir/<name>/``; returns the folders written.

    ``use_gpu_variants`` picks the manifest's GPU defaults instead of the CPU variants.
    ``model_override`` maps a model name to ``owner/repo[@revision]`` (files: the
    selected variant's patterns). ``offline=None`` honours HF_HUB_OFFLINE. Raises
    WeightsDownloadError at the first model that cannot be fetched.
    """
    manifest = load_manifest(manifest_path)
    specs = _select(manifest, names)
    overrides = dict(model_override or {})
    unknown = sorted(set(overrides) - set(manifest))
    if unknown:
        raise ValueError(f"override for unknown model(s): {', '.join(unknown)}")
    is_offline = hub_offline() if offline is None else offline
    written = []
    for spec in specs:
        folder = model_dir(weights_dir, spec.name)
        # Tiny random weights stand in for tests only: --missing replaces them too.
        is_tiny = bool((read_marker(folder) or {}).get("tiny"))
        if missing_only and incomplete_reason(folder, spec) is None and not is_tiny:
            continue
        variant = spec.variant(use_gpu_variants)
        if spec.name in overrides:
            variant = Variant(*_parse_override(overrides[spec.name]), variant.files)
        if is_offline:
            raise WeightsDownloadError(
                spec.name,
                variant.repo_id,
                "the Hugging Face hub is unreachable (offline mode: HF_HUB_OFFLINE is set)",
                variant.revision,
            )
        _fetch(spec, variant, folder, timeout)
        written.append(folder)
    return written


def _fetch(spec: ModelSpec, variant: Variant, folder: Path, timeout: float) -> None:
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    def fail(reason: str) -> WeightsDownloadError:
        return WeightsDownloadError(spec.name, variant.repo_id, reason, variant.revision)

    # A short metadata call first: fails fast offline and resolves the exact commit.
    try:
        info = HfApi().model_info(variant.repo_id, revision=variant.revision, timeout=timeout)
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError) as exc:
        raise fail(f"repository or revision not found on the hub ({_one_line(exc)})") from exc
    except Exception as exc:  # connection refused, DNS, timeout, proxy, 5xx
        raise fail(f"the Hugging Face hub is unreachable ({_one_line(exc)})") from exc

    # Same repo and revision (an interrupted download): keep the files, snapshot_download
    # resumes. Anything else (tiny, another variant, unknown files) could shadow the new
    # weights, since transformers prefers model.safetensors over pytorch_model.bin.
    marker = read_marker(folder) or {}
    source = {"repo_id": variant.repo_id, "revision": variant.revision}
    same = not marker.get("tiny") and all(marker.get(k) == v for k, v in source.items())
    if folder.exists() and not same:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fields = {"tiny": False, "name": spec.name, "kind": spec.kind, **source}
    _write_marker(folder, **fields, complete=False)
    try:
        snapshot_download(
            variant.repo_id,
            revision=info.sha or variant.revision,
            local_dir=folder,
            allow_patterns=list(variant.files),
            etag_timeout=timeout,
        )
    except Exception as exc:
        raise fail(
            f"download failed: the hub is unreachable or the transfer broke ({_one_line(exc)})"
        ) from exc
    reason = _files_reason(folder, spec)
    if reason is not None:
        raise fail(f"the snapshot is incomplete ({reason}; patterns {list(variant.files)})")
    _write_marker(folder, **fields, complete=True, commit=info.sha, files=list(variant.files))


# --- tiny random models --------------------------------------------------------------------


def write_tiny(dest: Path, names: Iterable[str] | None = None, seed: int = 0) -> list[Path]:
    """Write small random-weight models of the real classes into ``dest/<name>/``.

    Same classes and layout as the real snapshots, so the production loaders read them;
    their outputs are noise. A folder holding real (non-tiny) weights is never overwritten.
    """
    specs = _select(load_manifest(), names)
    missing = [s.name for s in specs if s.name not in _TINY_BUILDERS]
    if missing:
        raise ValueError(f"no tiny builder for: {', '.join(missing)}")
    written = []
    for spec in specs:
        folder = model_dir(dest, spec.name)
        if folder.exists():
            marker = read_marker(folder)
            if (marker is None or not marker.get("tiny")) and any(folder.iterdir()):
                raise FileExistsError(f"{folder} holds non-tiny files; refusing to overwrite")
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _TINY_BUILDERS[spec.name](folder, seed)
        variant = spec.variant(False)
        _write_marker(
            folder,
            tiny=True,
            name=spec.name,
            kind=spec.kind,
            repo_id=variant.repo_id,
            revision=variant.revision,
            seed=seed,
        )
        written.append(folder)
    return written


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-level alphabet: every byte mapped to a printable character."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    keep += list(range(ord("®"), ord("ÿ") + 1))
    chars = list(keep)
    extra = 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars, strict=True)}


def _tiny_clip(folder: Path, seed: int) -> None:
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    alphabet = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for token in [*alphabet, *(c + "</w>" for c in alphabet)]:
        vocab[token] = len(vocab)
    merges = [("t", "h"), ("th", "e</w>"), ("o", "f</w>"), ("a", "n"), ("i", "n"), ("e", "r")]
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)

    image_size = 32
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    with torch.random.fork_rng(devices=[]):  # seed the init without touching global state
        torch.manual_seed(seed)
        model = CLIPModel(config).eval()
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
    )
    model.save_pretrained(folder)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)


_TINY_BUILDERS: dict[str, Callable[[Path, int], None]] = {"clip": _tiny_clip}
