"""`make gpu-check` (benchmarks/gpu_check.py, issue 27) on the CPU with tiny weights: every
model loads and runs through the bot's own classes, and the table says the weights are tiny.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from gpu_check import main  # noqa: E402

MODELS = ("clip", "blip", "opus-mt-en-ru", "opus-mt-ru-en", "pix2pix", "sam", "isnet", "inpaint")


def test_make_has_the_target() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^gpu-check: .*\n\t.*benchmarks/gpu_check.py", makefile, re.M)


@pytest.mark.slow
def test_gpu_check_on_the_cpu_with_tiny_weights(tiny_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "GPU.md"
    args = ["--device", "cpu", "--weights", str(tiny_weights), "--out", str(out)]
    assert main([*args, "--runs", "1", "--steps", "1"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "**Tiny random weights**" in text and "device `cpu`" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for model in MODELS:
        assert any(row.startswith(f"| {model} | tiny |") for row in rows), model
    assert any("tag, batch 1 |" in row for row in rows)
    assert any("tag, batch 32 |" in row for row in rows)
    for model in ("pix2pix", "sam"):
        assert f"| {model} | channels-last | " in text
        assert f"| {model} | torch.compile | not measured (CUDA only) |" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: cuda is the default")
def test_without_a_gpu_cuda_is_refused_in_one_line(tmp_path: Path) -> None:
    assert main(["--weights", str(tmp_path), "--out", str(tmp_path / "GPU.md")]) == 2
    assert not (tmp_path / "GPU.md").exists()
