"""CLIP image tower -> ONNX, and the check that both give the same embeddings.

The exported graph is ``visual_projection(vision_model(pixel_values).pooler_output)``, i.e.
``CLIPModel.get_image_features``, float32, batch size dynamic. ``torch.onnx.export`` with the
TorchScript exporter (``dynamo=False``): the dynamo one needs onnxscript, not installed.

The check: a few fixed probe images (made with numpy: no files needed) through the CLIP
processor, then the torch model and the ONNX session, at batch 4 and batch 1. Passing means
cosine similarity >= ``MIN_COSINE`` for every embedding; the largest absolute difference is
recorded too.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from services.models.clip_onnx import INPUT, ONNX_FILE, OUTPUT, open_session

MIN_COSINE = 0.999
OPSET = 17


def probe_images(size: int = 224) -> list[Any]:
    """Four fixed RGB images: a gradient, a checkerboard, seeded noise, a flat colour."""
    from PIL import Image

    y, x = np.mgrid[0:size, 0:size]
    gradient = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], -1)
    checker = ((x // 28 + y // 28) % 2 * 200 + 30)[..., None].repeat(3, -1)
    noise = np.random.default_rng(0).integers(0, 256, (size, size, 3))
    flat = np.full((size, size, 3), (200, 120, 60))
    return [Image.fromarray(a.astype(np.uint8)) for a in (gradient, checker, noise, flat)]


def _tower(model: Any) -> Any:
    import torch

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vision_model = model.vision_model
            self.visual_projection = model.visual_projection

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            pooled = self.vision_model(pixel_values=pixel_values).pooler_output
            return self.visual_projection(pooled)

    return ImageTower().eval()


def export_image_tower(model: Any, path: Path) -> None:
    """``model`` (a float32 CLIPModel) -> ``path`` (.onnx), batch dimension dynamic."""
    import torch

    size = model.config.vision_config.image_size
    example = torch.zeros(2, 3, size, size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            _tower(model),
            (example,),
            str(path),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def _load(source: Path) -> tuple[Any, Any]:
    import torch
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(source, dtype=torch.float32, local_files_only=True)
    processor = CLIPProcessor.from_pretrained(source, local_files_only=True)
    return model.eval(), processor


def convert_clip(source: Path, dest: Path) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    model, _ = _load(source)
    export_image_tower(model, dest / ONNX_FILE)
    versions = {}
    for package in ("torch", "onnx", "onnxruntime"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:  # onnx itself is not needed to export or run
            versions[package] = None
    return {
        "converter": "torch.onnx.export (TorchScript exporter), vision_model + visual_projection",
        "versions": versions,
        "opset": OPSET,
        "compute_type": "float32",
    }


def check_clip(source: Path, dest: Path) -> dict[str, Any]:
    import torch

    model, processor = _load(source)
    pixels = processor.image_processor(images=probe_images(), return_tensors="pt")
    pixel_values = pixels["pixel_values"].float()
    with torch.inference_mode():
        reference = _pooled(model.get_image_features(pixel_values=pixel_values)).numpy()
    session = open_session(dest / ONNX_FILE)
    batch = session.run([OUTPUT], {INPUT: pixel_values.numpy()})[0]
    single = session.run([OUTPUT], {INPUT: pixel_values[:1].numpy()})[0]
    figures = compare_embeddings(reference, batch)
    one = compare_embeddings(reference[:1], single)
    min_cosine = min(figures["min_cosine"], one["min_cosine"])
    max_abs = max(figures["max_abs_diff"], one["max_abs_diff"])
    passed = bool(np.isfinite(batch).all()) and min_cosine >= MIN_COSINE
    return {
        "passed": passed,
        "summary": f"{len(reference)} probe images, batch 4 and 1: min cosine "
        f"{min_cosine:.6f} (needs >= {MIN_COSINE}), max abs diff {max_abs:.2e}",
        "tolerance": f"cosine >= {MIN_COSINE} for every embedding",
        "probes": len(reference),
        "min_cosine": min_cosine,
        "max_abs_diff": max_abs,
        "embedding_max_abs": float(np.abs(reference).max()),
    }


def compare_embeddings(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    a = reference.astype(np.float64)
    b = other.astype(np.float64)
    cosine = (a * b).sum(-1) / np.maximum(
        np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12
    )
    return {"min_cosine": float(cosine.min()), "max_abs_diff": float(np.abs(a - b).max())}


def _pooled(output: Any) -> Any:
    return output if not hasattr(output, "pooler_output") else output.pooler_output
