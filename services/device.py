"""Which torch device the model worker uses."""

from __future__ import annotations


def resolve_device(setting: str) -> str:
    """`auto` picks CUDA when torch sees a GPU, else CPU; explicit values are kept."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
