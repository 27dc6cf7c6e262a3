"""What the default models cost on a device: CLIP throughput by batch, and the memory of
every default model resident at once. Random weights from the real configs (nothing is
downloaded), so the compute and the memory are the real models'.

    python benchmarks/residency.py --device cuda --fp16      # a GPU box
    .venv/bin/python benchmarks/residency.py                 # CPU: CLIP ViT-B/32 only

Figures are printed as one table. Needs torch, transformers, diffusers and segment-anything.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

CLIP_L14 = {
    "text_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "max_position_embeddings": 77,
    },
    "vision_config": {
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "image_size": 224,
        "patch_size": 14,
    },
    "projection_dim": 768,
}
CLIP_B32: dict[str, Any] = {}  # CLIPConfig's defaults are ViT-B/32


def clip(config: dict[str, Any]) -> torch.nn.Module:
    from transformers import CLIPConfig, CLIPModel

    return CLIPModel(CLIPConfig(**config)).eval()


def timed(fn: Callable[[], Any], device: str, repeat: int) -> float:
    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    fn()
    sync()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def clip_throughput(config: dict[str, Any], device: str, dtype: torch.dtype) -> list[tuple]:
    model = clip(config).to(device, dtype)
    size = model.config.vision_config.image_size
    rows = []
    for batch in (1, 8, 32):
        pixels = torch.randn(batch, 3, size, size, device=device, dtype=dtype)

        def run(pixels: torch.Tensor = pixels) -> None:
            with torch.inference_mode():
                model.get_image_features(pixel_values=pixels)

        seconds = timed(run, device, repeat=10 if device.startswith("cuda") else 3)
        rows.append((batch, seconds, batch / seconds))
    return rows


def resident_models(device: str, dtype: torch.dtype) -> list[tuple[str, float]]:
    """Every default model built on the device, one after the other; memory after each."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from segment_anything import sam_model_registry
    from transformers import (
        BlipConfig,
        BlipForConditionalGeneration,
        CLIPTextConfig,
        CLIPTextModel,
        MarianConfig,
        MarianMTModel,
    )

    unet = {
        "sample_size": 64,
        "out_channels": 4,
        "layers_per_block": 2,
        "block_out_channels": (320, 640, 1280, 1280),
        "cross_attention_dim": 768,
        "attention_head_dim": 8,
        "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    }
    vae = {
        "block_out_channels": (128, 256, 512, 512),
        "latent_channels": 4,
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
    }
    text = CLIPTextConfig(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        max_position_embeddings=77,
    )
    marian = MarianConfig(
        vocab_size=62518,
        d_model=512,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=8,
        decoder_attention_heads=8,
        encoder_ffn_dim=2048,
        decoder_ffn_dim=2048,
    )
    blip = BlipConfig(
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
    builders: list[tuple[str, Callable[[], torch.nn.Module]]] = [
        ("CLIP ViT-L/14 (/tag)", lambda: clip(CLIP_L14)),
        ("pix2pix UNet (8 ch)", lambda: UNet2DConditionModel(in_channels=8, **unet)),
        ("pix2pix VAE", lambda: AutoencoderKL(**vae)),
        ("pix2pix text encoder", lambda: CLIPTextModel(text)),
        ("SAM ViT-H", lambda: sam_model_registry["vit_h"](checkpoint=None)),
        ("inpaint UNet (9 ch)", lambda: UNet2DConditionModel(in_channels=9, **unet)),
        ("inpaint VAE", lambda: AutoencoderKL(**vae)),
        ("inpaint text encoder", lambda: CLIPTextModel(text)),
        ("BLIP large", lambda: BlipForConditionalGeneration(blip)),
        ("opus-mt-en-ru", lambda: MarianMTModel(marian)),
        ("opus-mt-ru-en", lambda: MarianMTModel(marian)),
    ]
    kept = []
    rows = []
    for name, build in builders:
        model = build().eval()
        # SAM runs in fp32 (its own default); the rest in the serving dtype
        model = model.to(device, torch.float32 if name.startswith("SAM") else dtype)
        kept.append(model)
        allocated = torch.cuda.memory_allocated() if device.startswith("cuda") else 0
        params = sum(p.numel() for p in model.parameters())
        rows.append((name, params / 1e6, allocated / 2**30))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true")
    args = parser.parse_args()
    dtype = torch.float16 if args.fp16 else torch.float32
    device = args.device
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
    print(f"device: {name}; torch {torch.__version__}; dtype {dtype}")
    config = CLIP_L14 if device.startswith("cuda") else CLIP_B32
    label = "ViT-L/14" if config is CLIP_L14 else "ViT-B/32"
    rows = clip_throughput(config, device, dtype)
    print(f"\n| CLIP {label} image tower | batch | s/batch | images/s | x batch 1 |")
    print("|---|---|---|---|---|")
    for batch, seconds, rate in rows:
        print(f"| | {batch} | {seconds:.4f} | {rate:.1f} | {rate / rows[0][2]:.2f} |")
    if device.startswith("cuda"):
        print("\n| model (resident, cumulative) | M params | GiB allocated |")
        print("|---|---|---|")
        for model, params, gib in resident_models(device, dtype):
            print(f"| {model} | {params:.0f} | {gib:.2f} |")


if __name__ == "__main__":
    main()
