"""SAM's architectures: the official checkpoints' names, and ``segment_anything``'s own
classes built at the sizes a ``sam_config.json`` names (tiny test models, see tiny_sam.py).
The official checkpoints use the registry's builders. Here, below the model classes, because
the tiny builder needs it as much as the loader (services/models/sam.py) does; it imports
nothing of the project."""

from __future__ import annotations

from functools import partial
from typing import Any

#: variant -> official checkpoint file (dl.fbaipublicfiles.com/segment_anything/<file>)
CHECKPOINTS = {
    "vit_h": "sam_vit_h_4b8939.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_b": "sam_vit_b_01ec64.pth",
}
CONFIG_FILE = "sam_config.json"


def build_sam(config: dict[str, Any]) -> Any:
    """``segment_anything``'s own classes at the sizes ``config`` names (see tiny_sam.py)."""
    import torch
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    image_size = int(config["image_size"])
    patch = int(config["patch_size"])
    prompt_dim = int(config["prompt_embed_dim"])
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=int(config["encoder_depth"]),
            embed_dim=int(config["encoder_embed_dim"]),
            img_size=image_size,
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=int(config["encoder_num_heads"]),
            patch_size=patch,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=list(config["encoder_global_attn_indexes"]),
            window_size=int(config["window_size"]),
            out_chans=prompt_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=prompt_dim,
            image_embedding_size=(image_size // patch, image_size // patch),
            input_image_size=(image_size, image_size),
            mask_in_chans=int(config["mask_in_chans"]),
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=int(config["decoder_depth"]),
                embedding_dim=prompt_dim,
                mlp_dim=int(config["decoder_mlp_dim"]),
                num_heads=int(config["decoder_num_heads"]),
            ),
            transformer_dim=prompt_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=int(config["iou_head_hidden_dim"]),
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()
