"""Tiny ISNet-compatible ONNX for `vitrina weights tiny`: the production contract (input
``input`` [1, 3, 1024, 1024] float32, output ``output`` [1, 1, 1024, 1024] in 0..1, plus
side outputs like the real export) from a few random convolutions, exported with
``torch.onnx.export``. Its maps are noise; it exists to run the real loading code."""

from __future__ import annotations

import warnings
from pathlib import Path

SIZE = 1024


def tiny_isnet(folder: Path, seed: int) -> None:
    import torch
    from torch import nn

    class TinyIsnet(nn.Module):
        """Downsample, two convolutions, upsample, sigmoid: the shapes of ISNet's head."""

        def __init__(self) -> None:
            super().__init__()
            self.down = nn.AvgPool2d(16)
            self.body = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1)
            )
            self.up = nn.Upsample(scale_factor=16, mode="bilinear", align_corners=False)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits = self.up(self.body(self.down(x)))
            return torch.sigmoid(logits), torch.sigmoid(-logits)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TinyIsnet().eval()
    example = torch.zeros(1, 3, SIZE, SIZE)
    # the dynamo exporter needs onnxscript; the TorchScript one is enough and warns it is old
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(folder / "model.onnx"),
            input_names=["input"],
            output_names=["output", "side1"],  # the real export has side outputs after "output"
            opset_version=17,
            dynamo=False,
        )
