"""The REAL ISNet in OpenVINO's bfloat16 against onnxruntime's float32 (issue 31 C1): where
ISNET_RUNTIME=auto picks OpenVINO (a CPU with native bf16), every photo's mask must be the
one onnxruntime draws. Photos: scikit-image's (coffee, astronaut, motorcycle, chelsea,
rocket), products in front of a person or an animal (tests/composites.py) and generated
1200×1600 marketplace photos, plain and infographic. Run with -s for the figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from services.imaging.masks import THRESHOLD, iou
from services.models.isnet import IsnetSaliency
from services.models.openvino_session import native_bf16
from tests.composites import composites
from tests.marketplace_photos import draw_bad_infographic, draw_clean_bad_background
from tests.test_cutout_realweights import WEIGHTS, _skip_reason

pytestmark = [
    pytest.mark.realweights,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
    pytest.mark.skipif(not native_bf16(), reason="this CPU has no native bf16: onnxruntime"),
]


def photos() -> Iterator[tuple[str, Image.Image]]:
    for name in ("coffee", "astronaut", "chelsea", "rocket"):
        yield name, Image.fromarray(getattr(skdata, name)())
    yield "motorcycle", Image.fromarray(skdata.stereo_motorcycle()[0])
    for composite in composites()[:3]:
        yield composite.name, Image.fromarray(composite.image)
    for seed in range(2):
        yield f"product-{seed}", draw_clean_bad_background(seed).image
        yield f"infographic-{seed}", draw_bad_infographic(seed).image


def test_openvino_bf16_draws_onnxruntimes_masks() -> None:
    folder = Path(WEIGHTS) / "isnet"
    onnx = IsnetSaliency(folder, "cpu", runtime="onnxruntime")
    openvino = IsnetSaliency(folder, "cpu", runtime="openvino")
    onnx.load()
    openvino.load()
    assert openvino.providers == ["OpenVINO CPU bfloat16"]
    times: dict[str, list[float]] = {"onnx": [], "openvino": []}
    worst = 1.0
    for name, image in photos():
        started = time.perf_counter()
        expected = onnx.predict(image).probability
        times["onnx"].append(time.perf_counter() - started)
        started = time.perf_counter()
        got = openvino.predict(image).probability
        times["openvino"].append(time.perf_counter() - started)
        overlap = iou(got >= THRESHOLD, expected >= THRESHOLD)
        worst = min(worst, overlap)
        print(f"{name}: IoU {overlap:.4f}, max |Δ| {np.abs(got - expected).max():.3f}")  # noqa: T201
        assert overlap >= 0.99, name
    ratio = np.median(times["openvino"]) / np.median(times["onnx"])
    print(f"worst IoU {worst:.4f}; OpenVINO bf16 / onnxruntime float32 {ratio:.2f}x")  # noqa: T201
