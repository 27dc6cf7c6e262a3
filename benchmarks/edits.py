"""Seconds per instruct-pix2pix edit, measured in one run, through the bot's own editor.

    .venv/bin/python benchmarks/edits.py                      # CPU: tiny + full-size SD 1.5
    python benchmarks/edits.py --device cuda --fp16 [--compile] [--channels-last] \\
        --models sd15 --sizes 512 --steps 20                    # the GPU figure (goal <= 0.5 s)

Two pipelines of the real classes (StableDiffusionInstructPix2PixPipeline) with random
weights, built in memory from their configs (nothing is downloaded):

- ``tiny``: the test model (services/weights/tiny_pix2pix.py): the plumbing's cost;
- ``sd15``: the full-size architecture of timbrooks/instruct-pix2pix: the SD 1.5 UNet with
  8 input channels (~860 M parameters), the SD VAE, the CLIP ViT-L/14 text encoder. Random
  weights compute exactly as much as the real ones, so the timings are the real model's.

Each edit goes through services.models.pix2pix.Pix2PixEditor (SDPA attention, VAE slicing,
per-job generator, step callback) at a square working size, classifier-free guidance on
(the UNet sees a batch of 3). Full-size runs on CPU are slow (tens of seconds a step): with
``--cpu-sd15-steps N`` (default 3) they run N steps, and the missing steps are added at the
median time between step ends, one UNet step (marked "est."). Needs only torch,
transformers, diffusers, numpy and pillow.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from services.models.pix2pix import Pix2PixEditor, prepare_pipeline  # noqa: E402
from services.weights.tiny_pix2pix import tiny_pix2pix, tiny_tokenizer  # noqa: E402

PROMPT = "make it night, with warm lamps lit and a dark blue sky in the window"

# The configs of timbrooks/instruct-pix2pix (= runwayml SD 1.5 with in_channels 8).
SD15_UNET = {
    "sample_size": 64,
    "in_channels": 8,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "down_block_types": (
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ),
    "up_block_types": (
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
    ),
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "act_fn": "silu",
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "downsample_padding": 1,
    "mid_block_scale_factor": 1,
    "center_input_sample": False,
}
SD15_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "norm_num_groups": 32,
    "act_fn": "silu",
    "sample_size": 512,
    "scaling_factor": 0.18215,
}
CLIP_VIT_L_TEXT = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
    "layer_norm_eps": 1e-5,
}


def peak_rss_gb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def sd15_pipeline() -> Any:
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()  # ids stay < 49408; tokenising costs nothing either way
    text = CLIPTextModel(
        CLIPTextConfig(
            **CLIP_VIT_L_TEXT,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    scheduler = EulerAncestralDiscreteScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
    )
    return StableDiffusionInstructPix2PixPipeline(
        vae=AutoencoderKL(**SD15_VAE),
        text_encoder=text,
        tokenizer=tokenizer,
        unet=UNet2DConditionModel(**SD15_UNET),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def tiny_pipeline(folder: Path) -> Any:
    from diffusers import StableDiffusionInstructPix2PixPipeline

    tiny_pix2pix(folder, 0)
    return StableDiffusionInstructPix2PixPipeline.from_pretrained(folder, local_files_only=True)


def editor_for(pipe: Any, args: argparse.Namespace) -> Pix2PixEditor:
    import torch

    device = torch.device(args.device)
    if args.fp16:
        pipe = pipe.to(torch.float16)
    pipe = prepare_pipeline(pipe, device)
    if args.channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if args.compile:
        pipe.unet = torch.compile(pipe.unet, mode="max-autotune", fullgraph=True)
        pipe.vae.decode = torch.compile(pipe.vae.decode, mode="max-autotune", fullgraph=True)
    editor = Pix2PixEditor(Path("in-memory"), device=args.device)
    editor._pipe = pipe  # built here, prepared as the loader prepares it
    return editor


def measure(
    editor: Pix2PixEditor, size: int, steps: int, repeat: int, warm: int
) -> tuple[float, float]:
    """Median seconds per edit, and the median time between step ends (one UNet step)."""
    import torch

    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    editor.progress_interval_s = 0.0  # a report after every step: its timestamps
    for _ in range(warm):
        editor.edit([image], PROMPT, [1], steps=steps, max_side=size)
    times, intervals = [], []
    for index in range(repeat):
        stamps: list[float] = []
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        editor.edit(
            [image],
            PROMPT,
            [index],
            steps=steps,
            max_side=size,
            progress=lambda f, i, n, s=stamps: s.append(time.perf_counter()),
        )
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        intervals += [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    per_step = statistics.median(intervals) if intervals else times[0] / steps
    return statistics.median(times), per_step


def model_rows(
    model: str,
    editor: Pix2PixEditor,
    sizes: list[int],
    step_counts: list[int],
    repeat: int,
    warm: int,
    args: argparse.Namespace,
) -> list[tuple]:
    """One table row per (size, steps) of one model."""
    import torch

    cuda = args.device.startswith("cuda")
    rows = []
    for size in sizes:
        measured: dict[int, tuple[float, float]] = {}  # steps -> (seconds, s/step)
        for steps in step_counts:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            run_steps = steps
            if model == "sd15" and not cuda and steps > args.cpu_sd15_steps:
                run_steps = max(2, args.cpu_sd15_steps)  # then add the missing steps' cost
            if run_steps not in measured:
                measured[run_steps] = measure(editor, size, run_steps, repeat, warm)
            seconds, per_step = measured[run_steps]
            seconds += per_step * (steps - run_steps)
            estimated = run_steps != steps
            gpu_gb = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
            rows.append(
                (
                    model,
                    size,
                    steps,
                    run_steps,
                    seconds,
                    per_step,
                    estimated,
                    peak_rss_gb(),
                    gpu_gb,
                )
            )
            mark = " (est.)" if estimated else ""
            print(f"  {size}² {steps} steps: {seconds:.3f}s{mark}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true", help="half precision (CUDA)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet and VAE")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--models", default="tiny,sd15")
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--steps", default="4,20")
    parser.add_argument("--repeat", type=int, default=None, help="default: 3 tiny, 1 sd15")
    parser.add_argument(
        "--warm", type=int, default=None, help="warm-up runs (default 1; 3 with --compile)"
    )
    parser.add_argument(
        "--cpu-sd15-steps",
        type=int,
        default=3,
        help="sd15 on CPU: steps actually run; more are extrapolated",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    sizes = [int(s) for s in args.sizes.split(",")]
    step_counts = [int(s) for s in args.steps.split(",")]
    warm = args.warm if args.warm is not None else (3 if args.compile else 1)
    device_name = torch.cuda.get_device_name() if cuda else f"CPU x{torch.get_num_threads()}"
    flags = [
        f
        for f, on in (
            ("fp16", args.fp16),
            ("compile", args.compile),
            ("channels_last", args.channels_last),
        )
        if on
    ]
    print(f"device: {device_name}; torch {torch.__version__}; flags: {','.join(flags) or '-'}")
    rows = []
    import tempfile

    for model in args.models.split(","):
        started = time.perf_counter()
        if model == "tiny":
            pipe = tiny_pipeline(Path(tempfile.mkdtemp(prefix="tiny-pix2pix-")))
        elif model == "sd15":
            pipe = sd15_pipeline()
        else:
            parser.error(f"unknown model {model!r}")
        editors = [editor_for(pipe, args)]
        params = sum(p.numel() for p in editors[0].pipeline.unet.parameters()) / 1e6
        print(
            f"{model}: built in {time.perf_counter() - started:.1f}s, UNet {params:.1f} M "
            f"parameters"
        )
        repeat = args.repeat or (3 if model == "tiny" else 1)
        # full size on CPU: no warm-up run (minutes each; CPU kernels need none)
        model_warm = 0 if model == "sd15" and not cuda and args.warm is None else warm
        rows += model_rows(model, editors[0], sizes, step_counts, repeat, model_warm, args)
        del editors, pipe
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()

    print()
    print("| model | size | steps | ran | s / edit | s / UNet step | peak RSS GB | peak GPU GB |")
    print("|---|---|---|---|---|---|---|---|")
    for model, size, steps, ran, seconds, per_step, estimated, rss, gpu in rows:
        mark = " est." if estimated else ""
        print(
            f"| {model} | {size}² | {steps} | {ran} | {seconds:.3f}{mark} | "
            f"{per_step:.3f} | {rss:.2f} | {gpu:.2f} |"
        )
    goal = [r for r in rows if r[0] == "sd15" and r[1] == 512 and r[2] == 20]
    if goal and cuda:
        print(f"\ngoal <= 0.5 s for sd15 512² 20 steps: {goal[0][4]:.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
