"""P5, the result cache and the per-photo features (issue 9).

1. The bot as a subprocess (``python -m bot``) against the tests' Bot API emulator, tiny
   random weights: for each of N fresh photos, ``/tag`` as a reply to the photo (uncached:
   the model runs), then the same again (cached: answered from storage); the same for
   ``/background pink``. Latency = from the moment the emulator queues the command's update
   to the moment the result is there (the text of a /tag result, the photo of a background).
   Model calls during the repeats are counted from the bot's log (every job the service ran
   logs one ``op=... wait=`` line; a hit logs ``cache hit``).
2. What the feature store saves on full-size architectures with random weights: the CLIP
   ViT-B/32 image embedding (tag then describe of one photo: the second job reads it) and
   the SAM ViT-B image embedding (a second background of a photo after a restart), each
   computed vs read back from the store.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/cache.py [--n 10] [--device cuda --fp16]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_process import running_bot  # noqa: E402
from benchmarks.table import Row, markdown  # noqa: E402

TARGET_MS = 20.0
_SERVICE_LINE = re.compile(r"op=(\w+) wait=")
_HIT_LINE = re.compile(r"op=(\w+) cache hit")


def _add(parser: argparse.ArgumentParser, *flags: str, **options: Any) -> None:
    """Register an option unless another benchmark module already did (run.py shares one
    parser: --device and --fp16 are common)."""
    if not any(flag in parser._option_string_actions for flag in flags):
        parser.add_argument(*flags, **options)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add(parser, "--device", default="cpu", help="cpu or cuda")
    _add(parser, "--fp16", action="store_true", help="fp16 on CUDA for the full-size models")
    _add(parser, "--cache-n", type=int, default=10, help="photos per op (median of N)")
    _add(parser, "--cache-skip-bot", action="store_true", help="only the feature figures")
    _add(parser, "--cache-skip-sam", action="store_true", help="no SAM ViT-B figure")
    _add(parser, "--cache-sam-runs", type=int, default=1, help="SAM embeddings timed")


# ---- 1. the bot over the emulator


async def _bot_latencies(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from benchmarks.loop_latency import StampedEmulator, photo_bytes

    out: dict[str, Any] = {}
    async with StampedEmulator() as emulator:
        settings = {
            "DEVICE": args.device,
            "LOG_LEVEL": "INFO",  # the service's and the cache's lines are counted below
            "RATE_LIMIT_BURST": "500",
            "RATE_LIMIT_PER_MINUTE": "6000",
        }
        async with running_bot(emulator, workdir, workdir / "weights", settings):
            user = 900
            emulator.send_text(user, "/start", language_code="en")
            await emulator.wait_for_message(lambda r: r["chat_id"] == user, timeout=120)
            cases: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
                "tag": ("/tag", lambda r: "•" in (r["text"] or "")),
                "background": ("/background pink", lambda r: r["method"] == "sendPhoto"),
            }
            for op, (command, done) in cases.items():
                uncached, cached = [], []
                for index in range(args.cache_n):
                    seed = 3000 + index + (0 if op == "tag" else 500)
                    sent = emulator.send_photo(user, photo_bytes(seed, 240), language_code="en")
                    await emulator.wait_for_message(
                        lambda r, s=sent: (
                            r["reply_to_message_id"] == s["message_id"] and r["reply_markup"]
                        ),
                        timeout=30,
                    )
                    for bucket in (uncached, cached):
                        bucket.append(await _timed(emulator, user, command, sent, done))
                out[op] = (uncached, cached)
    text = (workdir / "bot.log").read_text(errors="replace")
    for op in ("tag", "background"):
        out[f"{op}_service"] = sum(1 for m in _SERVICE_LINE.finditer(text) if m[1] == op)
        out[f"{op}_hits"] = sum(1 for m in _HIT_LINE.finditer(text) if m[1] == op)
    return out


async def _timed(
    emulator: Any,
    user: int,
    command: str,
    photo: dict[str, Any],
    done: Callable[[dict[str, Any]], bool],
) -> float:
    """ms from queueing `command` (a reply to `photo`) to its result in the chat."""
    await asyncio.sleep(0.1)  # a person's pace: the last answer's bookkeeping is over
    before = len(emulator.bot_messages)
    started = time.perf_counter()
    emulator.send_text(user, command, reply_to=photo["message_id"], language_code="en")
    await emulator.wait_for_message(
        lambda r: (
            r["chat_id"] == user and r["reply_to_message_id"] == photo["message_id"] and done(r)
        ),
        after=before,
        timeout=120,
    )
    return (time.perf_counter() - started) * 1000


def bot_rows(args: argparse.Namespace) -> list[Row]:
    from services.conversion import write_tiny

    workdir = Path(tempfile.mkdtemp(prefix="vitrina-cache-"))
    try:
        write_tiny(workdir / "weights", ["clip", "isnet", "sam"])
        found = asyncio.run(_bot_latencies(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = []
    n = args.cache_n
    names = {"tag": "/tag", "background": "/background pink"}
    for op, name in names.items():
        uncached, cached = found[op]
        calls = found[f"{op}_service"] - n  # the first request of each photo runs the model
        fast = statistics.median(cached)
        note = f"bot process vs emulator, tiny weights, {n} photos 240 px, {args.device}"
        rows += [
            Row(
                "P5",
                f"repeat {name}: update -> result, answered from storage (median of {n})",
                f"{fast:.1f} ms",
                f"<= {TARGET_MS:.0f} ms",
                fast <= TARGET_MS,
                f"{note}; max {max(cached):.1f} ms",
            ),
            Row(
                "P5",
                f"model calls for {n} repeats of {name}",
                str(calls),
                "0",
                calls == 0,
                f"{found[f'{op}_hits']} cache hits logged",
            ),
            Row(
                "P5",
                f"first {name} of a photo (uncached: the model runs), median of {n}",
                f"{statistics.median(uncached):.1f} ms",
                "",
                None,
                f"{note}; {statistics.median(uncached) / fast:.0f}x the cached answer",
            ),
        ]
    return rows


# ---- 2. the features on full-size architectures


def _median_ms(function: Callable[[], Any], runs: int, sync: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        sync()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def feature_rows(args: argparse.Namespace) -> list[Row]:
    import torch
    from PIL import Image

    from services.features import FeatureStore

    device = torch.device(args.device)
    half = bool(args.fp16) and device.type == "cuda"
    dtype = torch.float16 if half else torch.float32

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)
    sha = "f" * 64
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        store = FeatureStore(Path(folder))
        rows.append(_clip_row(store, sha, Image.fromarray(photo), device, dtype, sync))
        if not args.cache_skip_sam:
            rows.append(_sam_row(store, sha, photo, device, half, args.cache_sam_runs, sync))
    return rows


def _clip_row(
    store: Any, sha: str, image: Any, device: Any, dtype: Any, sync: Callable[[], None]
) -> Row:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from services.models.clip import _normalise, _pooled

    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig()).eval().to(device, dtype)  # the defaults are ViT-B/32
    processor = CLIPImageProcessor()

    def embed() -> Any:
        with torch.inference_mode():
            pixels = processor(images=[image], return_tensors="pt")["pixel_values"]
            features = model.get_image_features(pixel_values=pixels.to(device, dtype))
            return _normalise(_pooled(features)).float().cpu()

    vector = embed()  # warm-up
    computed = _median_ms(embed, 5, sync)
    store.save(sha, "clip", "bench", "image", {"embedding": vector[0].numpy()})

    def read() -> Any:
        found = store.load(sha, "clip", "bench", "image")
        return torch.from_numpy(found["embedding"]).to(device)

    stored = _median_ms(read, 20, sync)
    return Row(
        "P5",
        "tag then describe: CLIP ViT-B/32 image embedding, computed vs read from "
        "the feature store (the describe job reads it)",
        f"{computed:.1f} ms vs {stored:.2f} ms ({computed - stored:.1f} ms saved)",
        "",
        None,
        f"full-size architecture, random weights, {device}, {dtype}, "
        f"{torch.get_num_threads()} torch threads, incl. preprocessing",
    )


def _sam_row(
    store: Any,
    sha: str,
    photo: np.ndarray,
    device: Any,
    half: bool,
    runs: int,
    sync: Callable[[], None],
) -> Row:
    import contextlib

    import torch

    try:
        from segment_anything import SamPredictor, sam_model_registry
    except ImportError:
        return Row(
            "P5",
            "second background after a restart: SAM ViT-B image embedding",
            "not measured",
            "",
            None,
            "segment-anything is not installed",
        )
    torch.manual_seed(0)
    sam = sam_model_registry["vit_b"](checkpoint=None).eval().to(device)
    predictor = SamPredictor(sam)
    autocast = torch.autocast("cuda", dtype=torch.float16) if half else contextlib.nullcontext()

    def embed() -> None:
        with torch.inference_mode(), autocast:
            predictor.set_image(photo)

    computed = _median_ms(embed, max(1, runs), sync)
    features = predictor.features.detach().to("cpu", torch.float16).numpy()
    store.save(sha, "sam", "bench", "embedding", {"features": features})

    def read() -> Any:
        found = store.load(sha, "sam", "bench", "embedding")
        return torch.from_numpy(found["features"].astype(np.float32)).to(device)

    stored = _median_ms(read, 10, sync)
    return Row(
        "P5",
        "second background after a restart: SAM ViT-B image embedding, computed "
        "vs read from the feature store (fp16, 2 MB)",
        f"{computed:.0f} ms vs {stored:.1f} ms ({computed - stored:.0f} ms saved)",
        "",
        None,
        f"full-size architecture, random weights, 1024x768, {device}"
        f"{', fp16' if half else ''}, {torch.get_num_threads()} torch threads; "
        f"median of {max(1, runs)}; ISNet: tiny only "
        "(its full-size graph is not buildable here), its map is stored the same way",
    )


def measure(args: argparse.Namespace) -> list[Row]:
    rows = []
    if not getattr(args, "cache_skip_bot", False):
        try:
            rows += bot_rows(args)
        except ImportError as exc:  # a GPU box without the bot's packages
            rows.append(
                Row(
                    "P5",
                    "repeat answered from storage",
                    "not measured",
                    "",
                    None,
                    f"bot not runnable here: {exc}",
                )
            )
    rows += feature_rows(args)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--n", dest="cache_n", type=int, help="same as --cache-n")
    args = parser.parse_args()
    if args.cache_n is None:
        args.cache_n = 10
    started = time.perf_counter()
    rows = measure(args)
    print(markdown(rows))
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
