"""Tiny PP-OCR-detector-compatible ONNX for `vitrina weights tiny`: the production contract
(input ``x`` [1, 3, H, W] float32 BGR in -1..1, H and W multiples of 32, dynamic; output
[1, 1, H, W] in 0..1 named like the real export's) from a few convolutions exported with
``torch.onnx.export``.

Not pure noise: a random map would mark the whole photo as one text box. Its first layers are
set to a local-contrast filter (how much a pixel differs from its 9×9 neighbourhood, pooled),
which is high on drawn text and on busy texture; the seed jitters the filter's gain and
threshold. It exists to run the real loading and post-processing code.
"""

from __future__ import annotations

import warnings
from pathlib import Path

MODEL_FILE = "ch_PP-OCRv4_det_infer.onnx"
OUTPUT = "sigmoid_0.tmp_0"  # the real export's output name
EXAMPLE = 64


def tiny_ocr(folder: Path, seed: int) -> None:
    import torch
    from torch import nn

    class TinyTextDetector(nn.Module):
        """Grey, local contrast, pooled, a sigmoid: text-like busy areas light up."""

        def __init__(self, gain: float, threshold: float) -> None:
            super().__init__()
            self.grey = nn.Conv2d(3, 1, 1, bias=False)
            self.blur = nn.AvgPool2d(9, stride=1, padding=4, count_include_pad=False)
            self.pool = nn.AvgPool2d(5, stride=1, padding=2, count_include_pad=False)
            self.head = nn.Conv2d(1, 1, 1)
            with torch.no_grad():
                self.grey.weight.fill_(1.0 / 3.0)
                self.head.weight.fill_(gain)
                self.head.bias.fill_(-gain * threshold)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            grey = self.grey(x)
            contrast = self.pool(torch.abs(grey - self.blur(grey)))
            return torch.sigmoid(self.head(contrast))

    generator = torch.Generator().manual_seed(seed)
    jitter = torch.rand(2, generator=generator).tolist()
    model = TinyTextDetector(gain=30.0 + 10.0 * jitter[0], threshold=0.25 + 0.1 * jitter[1])
    example = torch.zeros(1, 3, EXAMPLE, EXAMPLE)
    # the dynamo exporter needs onnxscript; the TorchScript one is enough and warns it is old
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model.eval(),
            (example,),
            str(folder / MODEL_FILE),
            input_names=["x"],
            output_names=[OUTPUT],
            dynamic_axes={
                "x": {0: "batch", 2: "height", 3: "width"},
                OUTPUT: {0: "batch", 2: "height", 3: "width"},
            },
            opset_version=17,
            dynamo=False,
        )
