"""Timings of /describe's models at their real sizes (random weights), measured in one run.

    .venv/bin/python benchmarks/describe.py [--device cuda] [--fp16] [--sentences 16]

- translation: opus-mt-en-ru's architecture (MarianConfig with the real model's sizes:
  d_model 512, 6+6 layers, 8 heads, FFN 2048, vocab 62 518), random weights, through the
  production MarianTranslator; sentences/s batched (one call) vs one sentence per call.
  The tokenizer is the tiny one trained locally (services/weights/tiny_marian.py): real
  sentencepiece models are not downloadable here. Random weights never emit </s>, so every
  sentence runs the full --max-new-tokens: an upper bound on the real model's time.
- caption: BLIP-large's architecture (ViT-L/16 at 384 px + BERT-base decoder), random
  weights, through the production Captioner (prompt, 3 beams, 30 new tokens at most):
  one image, then a batch of 8.
- end to end: /describe jobs through the service layer (tags + caption + templates +
  translation) on a weights folder with the full-size BLIP and opus-mt above (CLIP is the
  tiny one: /tag has its own benchmark), one job and a batch of jobs submitted together.

Only torch, transformers, sentencepiece, numpy, pillow and this repository are needed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from services.config import ServiceConfig  # noqa: E402
from services.conversion import write_tiny  # noqa: E402
from services.jobs import JobRequest  # noqa: E402
from services.models.blip import Captioner  # noqa: E402
from services.models.marian import MarianTranslator  # noqa: E402
from services.scheduler import ModelServices  # noqa: E402

SENTENCES = [
    "White ceramic mug for every day.",
    "A clean white colour that goes with everything.",
    "Made of ceramic: it keeps its shape and lasts for years.",
    "A practical shape for everyday use.",
    "Easy to care for and quick to clean.",
    "Order now while it is in stock!",
    "Cosy room with a big bed.",
    "You will also find a lamp, a TV and a balcony.",
    "The room is tidy, light and ready for your arrival.",
    "A quiet atmosphere for a good night's sleep.",
    "Book your dates now: we look forward to welcoming you!",
    "Stylish black leather handbag at a fair price.",
    "Light and easy to take with you.",
    "A thoughtful gift for friends and family.",
    "Suits couples, families and business travellers.",
    "Treat yourself: order today.",
]


def timed(function: Callable[[], object], repeat: int = 1) -> float:
    """The best of ``repeat`` runs, in seconds (synchronising CUDA around each)."""
    import torch

    best = float("inf")
    for _ in range(repeat):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def full_marian(folder: Path, tiny: Path) -> None:
    """opus-mt-en-ru's architecture with random weights and the tiny trained tokenizer."""
    import json

    import torch
    from transformers import MarianConfig, MarianMTModel

    for name in ("source.spm", "target.spm", "tokenizer_config.json"):
        shutil.copy(tiny / name, folder / name)
    # the real vocabulary's size: the tiny pieces, placeholders, and <pad> last (id 62517)
    vocab = json.loads((tiny / "vocab.json").read_text(encoding="utf-8"))
    vocab.pop("<pad>")
    vocab.update({f"<unused{i}>": i for i in range(len(vocab), 62517)})
    vocab["<pad>"] = pad = 62517
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    config = MarianConfig(
        vocab_size=62518,
        d_model=512,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=8,
        decoder_attention_heads=8,
        encoder_ffn_dim=2048,
        decoder_ffn_dim=2048,
        max_position_embeddings=512,
        scale_embedding=True,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
    )
    torch.manual_seed(0)
    MarianMTModel(config).save_pretrained(folder)


def full_blip(folder: Path, tiny: Path) -> None:
    """BLIP-large's architecture (Salesforce/blip-image-captioning-large sizes), random."""
    import torch
    from transformers import (
        AutoTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    config = BlipConfig(
        vision_config={
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "image_size": 384,
            "patch_size": 16,
        },
        text_config={
            "vocab_size": 30524,
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "encoder_hidden_size": 1024,
            "max_position_embeddings": 512,
            "bos_token_id": tokenizer.bos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
            "sep_token_id": tokenizer.sep_token_id,
            "eos_token_id": tokenizer.sep_token_id,
        },
    )
    torch.manual_seed(0)
    BlipForConditionalGeneration(config).save_pretrained(folder)
    processor = BlipImageProcessor(size={"height": 384, "width": 384})
    BlipProcessor(image_processor=processor, tokenizer=tokenizer).save_pretrained(folder)


def photos(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) for _ in range(count)
    ]


async def describe_jobs(weights: Path, device: str, files: list[Path]) -> tuple[float, float]:
    """(one job, all ``files`` submitted together) in seconds, after a warm-up job."""
    async with ModelServices(
        ServiceConfig(weights, device=device, worker="thread", batch_window_ms=0.0)
    ) as services:

        async def run(paths: list[Path]) -> float:
            start = time.perf_counter()
            handles = [
                services.submit(JobRequest("describe", i, p, {"domain": "product"}))
                for i, p in enumerate(paths)
            ]
            for handle in handles:
                await handle.result()
            return time.perf_counter() - start

        await run(files[:1])
        return await run(files[:1]), await run(files)


def translation_rows(folder: Path, args: argparse.Namespace, dtype: str) -> list[tuple[str, str]]:
    sentences = (SENTENCES * 8)[: args.sentences]
    translator = MarianTranslator(
        folder, args.device, dtype=dtype, max_new_tokens=args.max_new_tokens
    )
    translator.translate(sentences[:2])  # load + warm up
    batched = timed(lambda: translator.translate(sentences), repeat=2)
    single = timed(lambda: [translator.translate([s]) for s in sentences])
    return [
        ("translation, batched (sentences/s)", f"{len(sentences) / batched:.1f}"),
        ("translation, one at a time (sentences/s)", f"{len(sentences) / single:.1f}"),
        ("translation, batched / one at a time", f"{single / batched:.1f}x"),
    ]


def caption_rows(folder: Path, args: argparse.Namespace, dtype: str) -> list[tuple[str, str]]:
    captioner = Captioner(folder, args.device, dtype=dtype)
    images = photos(8)
    captioner.caption(images[:1])  # load + warm up
    one = timed(lambda: captioner.caption(images[:1]), repeat=2)
    eight = timed(lambda: captioner.caption(images))
    return [
        ("caption, 1 image (s)", f"{one:.2f}"),
        ("caption, batch of 8 (s)", f"{eight:.2f}"),
        ("caption, batch of 8 per image (s)", f"{eight / 8:.2f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true", help="float16 weights (CUDA)")
    parser.add_argument("--sentences", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--jobs", type=int, default=4, help="describe jobs submitted together")
    args = parser.parse_args()
    dtype = "float16" if args.fp16 else "float32"
    rows: list[tuple[str, str]] = []
    root = Path(tempfile.mkdtemp(prefix="vitrina-bench-"))
    try:
        tiny, full = root / "tiny", root / "full"
        write_tiny(tiny)
        shutil.copytree(tiny, full)
        for name, build in (("opus-mt-en-ru", full_marian), ("blip", full_blip)):
            shutil.rmtree(full / name)
            (full / name).mkdir()
            build(full / name, tiny / name)

        rows += translation_rows(full / "opus-mt-en-ru", args, dtype)
        gc.collect()
        rows += caption_rows(full / "blip", args, dtype)
        gc.collect()

        files = []
        for index, image in enumerate(photos(args.jobs)):
            files.append(root / f"photo{index}.jpg")
            image.save(files[-1], quality=90)
        for label, folder in (("full-size BLIP + opus-mt", full), ("tiny weights", tiny)):
            single_job, together = asyncio.run(describe_jobs(folder, args.device, files))
            rows += [
                (f"/describe local, 1 job, {label} (s)", f"{single_job:.2f}"),
                (f"/describe local, {args.jobs} jobs together, {label} (s)", f"{together:.2f}"),
            ]
    finally:
        shutil.rmtree(root, ignore_errors=True)

    import torch

    print(
        f"device={args.device} dtype={dtype} torch threads={torch.get_num_threads()} "
        f"sentences={args.sentences} max_new_tokens={args.max_new_tokens}"
    )
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |\n|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
