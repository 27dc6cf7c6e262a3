"""`vitrina weights tiny`: small random-weight models of the real classes, for tests and CI.

Each model has its builder in its own module (`tiny_<model>.py`); `TINY_BUILDERS` maps a
manifest name to it. A builder writes, with the library's own save function, exactly the
layout the production loader reads.

``write_tiny_models`` writes the models only; ``services.conversion.write_tiny`` (what
`vitrina weights tiny`, the tests and the benchmarks use) converts them too, as the real ones
are: conversion depends on the model classes, which this layer sits below.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from services.weights.manifest import _select, load_manifest, model_dir, read_marker, write_marker
from services.weights.tiny_blip import tiny_blip
from services.weights.tiny_clip import tiny_clip
from services.weights.tiny_inpaint import tiny_inpaint
from services.weights.tiny_isnet import tiny_isnet
from services.weights.tiny_marian import tiny_marian_en_ru, tiny_marian_ru_en
from services.weights.tiny_ocr import tiny_ocr
from services.weights.tiny_pix2pix import tiny_pix2pix
from services.weights.tiny_sam import tiny_sam

#: manifest name -> builder(folder, seed)
TINY_BUILDERS: dict[str, Callable[[Path, int], None]] = {
    "clip": tiny_clip,
    "blip": tiny_blip,
    "opus-mt-en-ru": tiny_marian_en_ru,
    "opus-mt-ru-en": tiny_marian_ru_en,
    "inpaint": tiny_inpaint,
    "isnet": tiny_isnet,
    "sam": tiny_sam,
    "pix2pix": tiny_pix2pix,
    "ocr": tiny_ocr,
}


def write_tiny_models(dest: Path, names: Iterable[str] | None = None, seed: int = 0) -> list[Path]:
    """Write small random-weight models of the real classes into ``dest/<name>/``.

    Same classes and layout as the real snapshots, so the production loaders read them;
    their outputs are noise. A folder holding real (non-tiny) weights is never overwritten.
    """
    specs = _select(load_manifest(), names)
    missing = [s.name for s in specs if s.name not in TINY_BUILDERS]
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
        TINY_BUILDERS[spec.name](folder, seed)
        variant = spec.variant(False)
        write_marker(
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
