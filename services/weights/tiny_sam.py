"""Tiny SAM for `vitrina weights tiny`: ``segment_anything``'s own Sam / ImageEncoderViT /
PromptEncoder / MaskDecoder / TwoWayTransformer at small sizes, saved with ``torch.save``
(a state dict) under the CPU checkpoint's name, with ``sam_config.json`` recording the
architecture the loader (``build_sam`` in sam_arch.py, beside this) must build."""

from __future__ import annotations

import json
from pathlib import Path

from services.weights.sam_arch import CHECKPOINTS, CONFIG_FILE, build_sam

#: 256 px input, 16 px patches (16×16 tokens), two encoder blocks: ~30 ms per embedding.
TINY_CONFIG = {
    "image_size": 256,
    "patch_size": 16,
    "encoder_embed_dim": 32,
    "encoder_depth": 2,
    "encoder_num_heads": 2,
    "encoder_global_attn_indexes": [1],
    "window_size": 4,
    "prompt_embed_dim": 32,
    "mask_in_chans": 4,
    "decoder_depth": 2,
    "decoder_mlp_dim": 64,
    "decoder_num_heads": 2,
    "iou_head_hidden_dim": 32,
}


def tiny_sam(folder: Path, seed: int) -> None:
    import torch

    config = {**TINY_CONFIG, "checkpoint": CHECKPOINTS["vit_b"]}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_sam(config)
    torch.save(model.state_dict(), folder / config["checkpoint"])
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
