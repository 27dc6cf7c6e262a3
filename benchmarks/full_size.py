"""The default models' full-size architectures with random weights, built fast: on the meta
device, then given real memory filled with noise (no minutes of weight initialisation on a
small CPU). The same tensors, shapes and dtypes a load of the real weights would hold.

    model = materialise(FULL_SIZE["clip"](cuda)[0], "cpu", torch.float32)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any


def materialise(build: Callable[[], Any], device: str, dtype: Any) -> Any:
    """The architecture built on the meta device, then given real (random) memory: the same
    tensors as a load, without minutes of weight initialisation on a small CPU."""
    import torch

    with torch.device("meta"):
        model = build()
    model = model.to(dtype=dtype).to_empty(device=device)
    tie = getattr(model, "tie_weights", None)
    if callable(tie):  # to_empty unties shared embeddings; a load keeps them tied
        tie()
    generator = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for tensor in itertools.chain(model.parameters(), model.buffers()):
            if tensor.is_floating_point():
                tensor.normal_(0.0, 0.02, generator=generator)
            else:
                tensor.zero_()
    return model.eval()


def _unet(in_channels: int) -> Any:
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=64,
        in_channels=in_channels,
        out_channels=4,
        layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        cross_attention_dim=768,
        attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    )


def _sd(in_channels: int) -> Any:
    """An SD 1.5 pipeline's modules: UNet, VAE, CLIP text encoder."""
    import torch
    from diffusers import AutoencoderKL
    from transformers import CLIPTextConfig, CLIPTextModel

    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
        )
    )
    return torch.nn.ModuleDict({"unet": _unet(in_channels), "vae": vae, "text_encoder": text})


def _clip(cuda: bool) -> Any:
    from benchmarks.residency import CLIP_B32, CLIP_L14, clip

    return clip(CLIP_L14 if cuda else CLIP_B32)


def _blip() -> Any:
    from transformers import BlipConfig, BlipForConditionalGeneration

    return BlipForConditionalGeneration(
        BlipConfig(
            vision_config={
                "hidden_size": 1024,
                "intermediate_size": 4096,
                "num_hidden_layers": 24,
                "num_attention_heads": 16,
                "image_size": 384,
                "patch_size": 16,
            },
            text_config={"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12},
        )
    )


def _marian() -> Any:
    from transformers import MarianConfig, MarianMTModel

    return MarianMTModel(
        MarianConfig(
            vocab_size=62518,
            d_model=512,
            encoder_layers=6,
            decoder_layers=6,
            encoder_attention_heads=8,
            decoder_attention_heads=8,
            encoder_ffn_dim=2048,
            decoder_ffn_dim=2048,
            decoder_start_token_id=62517,
            pad_token_id=62517,
        )
    )


def _sam(cuda: bool) -> Any:
    from segment_anything import sam_model_registry

    return sam_model_registry["vit_h" if cuda else "vit_b"](checkpoint=None)


#: name -> (cuda -> (builder, loads in fp16 on CUDA))
FULL_SIZE: dict[str, Callable[[bool], tuple[Callable[[], Any], bool]]] = {
    "clip": lambda cuda: (lambda: _clip(cuda), True),
    "pix2pix": lambda cuda: (lambda: _sd(8), True),
    "inpaint": lambda cuda: (lambda: _sd(9), True),
    "sam": lambda cuda: (lambda: _sam(cuda), False),  # fp32 weights, fp16 autocast on CUDA
    "blip": lambda cuda: (_blip, True),
    "opus-mt-en-ru": lambda cuda: (_marian, True),
    "opus-mt-ru-en": lambda cuda: (_marian, True),
}
FULL_LABELS: dict[str, Callable[[bool], str]] = {
    "clip": lambda cuda: "CLIP ViT-L/14" if cuda else "CLIP ViT-B/32",
    "pix2pix": lambda cuda: "instruct-pix2pix (SD 1.5 UNet 8ch + VAE + text)",
    "inpaint": lambda cuda: "SD 1.5 inpainting (UNet 9ch + VAE + text)",
    "sam": lambda cuda: "SAM ViT-H" if cuda else "SAM ViT-B",
    "blip": lambda cuda: "BLIP large",
    "opus-mt-en-ru": lambda cuda: "opus-mt-en-ru (Marian)",
    "opus-mt-ru-en": lambda cuda: "opus-mt-ru-en (Marian)",
    "isnet": lambda cuda: "ISNet (real ONNX file)",
}
