"""P7: faster CPU runtimes with the same outputs, measured in one run.

    .venv/bin/python benchmarks/runtimes.py                       # CPU, 1 and 2 threads
    python benchmarks/runtimes.py --device cuda --fp16            # a GPU box

Full-size architectures with random weights (nothing is downloaded): opus-mt-en-ru's Marian
(MarianConfig: d_model 512, 6+6 layers, vocabulary 62 518) and CLIP ViT-B/32 (CLIPConfig's
defaults), converted exactly as ``vitrina weights convert`` converts the real ones
(services/conversion/marian.py, clip.py) and checked with the same check.

- Marian: tokens/s of transformers ``generate`` against CTranslate2 ``translate_batch``,
  8 sentences, beam 4 (the translator's), both forced to generate exactly ``--marian-tokens``
  tokens (random weights would otherwise stop at random places), so the ratio compares equal
  work; plus the check's agreement (greedy and beam token-identical probes).
- CLIP image tower: images/s of torch ``get_image_features`` against ONNX Runtime at batch 1
  and 8; plus the check's minimum cosine and largest absolute difference.
- ISNet (already ONNX, unchanged): ONNX Runtime time per 1024² image, the real file from
  ~/.cache/vitrina/weights/isnet when present, else the tiny one.

Every timing at 1 and 2 threads (``--runtimes-threads``), median of ``--runtimes-repeat``
runs after a warm-up, the two runtimes timed in turns (robust to a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.table import Row, markdown  # noqa: E402

GOAL = "P7"
MARIAN_VOCAB = 62518  # opus-mt-en-ru's vocabulary, <pad> last
SENTENCES = [
    "This red bag is ready for you.",
    "A soft white pillow for every day.",
    "Size 42, weight 1.5 kg, 30 cm.",
    "The room has a large bed, a quiet balcony and a view of the sea.",
    "Buy the new wooden chair now!",
    "A bright modern lamp for a cosy room.",
    "Make a gift: a black leather watch.",
    "The sofa is large and practical.",
]
ISNET_REAL = Path.home() / ".cache" / "vitrina" / "weights" / "isnet" / "model.onnx"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    def add(flag: str, **kwargs: Any) -> None:
        if flag not in parser._option_string_actions:  # run.py may have registered it
            parser.add_argument(flag, **kwargs)

    add("--device", default="cpu", help="cpu or cuda")
    add("--fp16", action="store_true", help="half precision on CUDA (torch, CTranslate2)")
    add("--runtimes-repeat", type=int, default=3, help="timed runs per figure (median)")
    add("--runtimes-threads", default="1,2", help="CPU thread counts to time, comma-separated")
    add("--marian-tokens", type=int, default=24, help="tokens generated per sentence")


def _timed(fn: Callable[[], Any], repeat: int, sync: Callable[[], None]) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _paired(
    a: Callable[[], Any], b: Callable[[], Any], repeat: int, sync: Callable[[], None]
) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` timed in turns (a, b, a, b...), so that a busy spell of
    the machine's other processes falls on both sides of the ratio."""
    a()
    b()
    sync()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((a, times[0]), (b, times[1])):
            started = time.perf_counter()
            fn()
            sync()
            out.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def _sync(device: str) -> Callable[[], None]:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def _threads(args: argparse.Namespace) -> list[int]:
    if args.device.startswith("cuda"):
        return [2]  # the GPU does the work; one row per figure
    return [int(t) for t in str(args.runtimes_threads).split(",") if t.strip()]


# --- full-size models, random weights -------------------------------------------------------


def build_marian(folder: Path, tiny: Path) -> None:
    """opus-mt-en-ru's architecture: the tiny tokenizer's pieces, the vocabulary padded to the
    real size with unused tokens (the softmax over 62 518 entries is the real cost)."""
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder.mkdir(parents=True)
    for name in ("source.spm", "target.spm"):
        (folder / name).write_bytes((tiny / name).read_bytes())
    vocab = json.loads((tiny / "vocab.json").read_text(encoding="utf-8"))
    vocab.pop("<pad>")
    for index in range(len(vocab), MARIAN_VOCAB - 1):
        vocab[f"▁unused{index}"] = index
    vocab["<pad>"] = MARIAN_VOCAB - 1
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    MarianTokenizer(
        source_spm=str(folder / "source.spm"),
        target_spm=str(folder / "target.spm"),
        vocab=str(folder / "vocab.json"),
        source_lang="en",
        target_lang="ru",
    ).save_pretrained(folder)
    pad = MARIAN_VOCAB - 1
    config = MarianConfig(
        vocab_size=MARIAN_VOCAB,
        d_model=512,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=8,
        decoder_attention_heads=8,
        encoder_ffn_dim=2048,
        decoder_ffn_dim=2048,
        max_position_embeddings=512,
        pad_token_id=pad,
        decoder_start_token_id=pad,
        eos_token_id=0,
        forced_eos_token_id=0,
        scale_embedding=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = MarianMTModel(config).eval()
    model.generation_config.bad_words_ids = [[pad]]
    model.save_pretrained(folder)


def build_clip(folder: Path, tiny: Path) -> None:
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = CLIPModel(CLIPConfig()).eval()  # ViT-B/32
    model.save_pretrained(folder)
    tokenizer = CLIPTokenizer.from_pretrained(tiny)
    CLIPProcessor(image_processor=CLIPImageProcessor(), tokenizer=tokenizer).save_pretrained(
        folder
    )


# --- Marian ---------------------------------------------------------------------------------


def marian_rows(args: argparse.Namespace, work: Path, tiny: Path) -> list[Row]:
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    from services.conversion.marian import check_marian, convert_marian

    source, dest = work / "opus-mt-en-ru", work / "opus-mt-en-ru-ct2"
    build_marian(source, tiny / "opus-mt-en-ru")
    started = time.perf_counter()
    convert_marian(source, dest)
    convert_s = time.perf_counter() - started
    check = check_marian(source, dest) if not args.device.startswith("cuda") else None

    import ctranslate2

    device, tokens = args.device, args.marian_tokens
    cuda = device.startswith("cuda")
    dtype = torch.float16 if cuda and args.fp16 else torch.float32
    tokenizer = MarianTokenizer.from_pretrained(source)
    model = MarianMTModel.from_pretrained(source, dtype=dtype).to(device).eval()
    inputs = tokenizer(SENTENCES, return_tensors="pt", padding=True).to(device)
    sources = [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(SENTENCES)["input_ids"]]
    generated = tokens * len(SENTENCES)
    rows = []
    for threads in _threads(args):
        torch.set_num_threads(threads)

        def hf() -> None:
            with torch.inference_mode():
                out = model.generate(
                    **inputs,
                    num_beams=4,
                    max_new_tokens=tokens,
                    min_new_tokens=tokens,
                    do_sample=False,
                )
            assert out.shape[1] == tokens + 1

        translator = ctranslate2.Translator(
            str(dest),
            device="cuda" if cuda else "cpu",
            compute_type="float16" if cuda and args.fp16 else "float32",
            inter_threads=1,
            intra_threads=threads,
        )

        def ct2(translator: Any = translator) -> None:
            out = translator.translate_batch(
                sources, beam_size=4, max_decoding_length=tokens, min_decoding_length=tokens
            )
            assert all(len(r.hypotheses[0]) == tokens for r in out)

        hf_s, ct2_s = _paired(hf, ct2, args.runtimes_repeat, _sync(device))
        ratio = hf_s / ct2_s
        where = f"{threads} thread{'s' * (threads > 1)}" if not cuda else device
        rows.append(
            Row(
                GOAL,
                f"opus-mt-en-ru tokens/s, transformers vs CTranslate2 ({where}; 8 sentences, "
                f"beam 4, {tokens} tokens each)",
                f"{generated / hf_s:.0f} vs {generated / ct2_s:.0f} tok/s = {ratio:.2f}x",
                "> 1x (published ~4.7x)",
                ratio > 1.0,
                "full-size opus-mt-en-ru architecture, random weights, float32"
                + (" (fp16)" if dtype == torch.float16 else ""),
            )
        )
        del translator
    if not cuda:
        rows.append(_int8_row(args, source, dest, sources, tokens, 1))
    if check is not None:
        rows.append(
            Row(
                GOAL,
                "opus-mt-en-ru CTranslate2 vs transformers: same tokens (the convert check)",
                check["summary"],
                "identical tokens, greedy and beam",
                bool(check["passed"]),
                f"4 probe sentences, {check['max_new_tokens']} tokens; "
                f"conversion {convert_s:.1f}s",
            )
        )
    return rows


def _int8_row(
    args: argparse.Namespace,
    source: Path,
    dest: Path,
    sources: list[list[str]],
    tokens: int,
    threads: int,
) -> Row:
    """What CTranslate2's int8 (not adopted: not the same outputs) would give."""
    import ctranslate2
    from transformers import MarianTokenizer

    from services.conversion.marian import BEAMS, PROBE_TOKENS, PROBES, _transformers_ids

    translator = ctranslate2.Translator(str(dest), compute_type="int8", intra_threads=threads)
    seconds = _timed(
        lambda: translator.translate_batch(
            sources, beam_size=4, max_decoding_length=tokens, min_decoding_length=tokens
        ),
        args.runtimes_repeat,
        lambda: None,
    )
    tokenizer = MarianTokenizer.from_pretrained(source)
    probes = PROBES["en"]
    reference = _transformers_ids(source, probes)
    probe_tokens = [tokenizer.convert_ids_to_tokens(tokenizer(p)["input_ids"]) for p in probes]
    same = []
    for mode, beams in (("greedy", 1), ("beam", BEAMS)):
        out = translator.translate_batch(
            probe_tokens, beam_size=beams, max_decoding_length=PROBE_TOKENS
        )
        ids = [tokenizer.convert_tokens_to_ids(r.hypotheses[0]) for r in out]
        same.append(sum(a == b for a, b in zip(ids, reference[mode], strict=True)))
    return Row(
        GOAL,
        f"opus-mt-en-ru CTranslate2 int8 tokens/s ({threads} thread; not adopted)",
        f"{tokens * len(sources) / seconds:.0f} tok/s; probes token-identical to transformers: "
        f"greedy {same[0]}/{len(probes)}, beam {same[1]}/{len(probes)}",
        "",
        None,
        "int8 weights change the outputs: reported, never used by `auto`",
    )


def load_row(started: tuple[float, float, float]) -> Row:
    now = os.getloadavg()
    return Row(
        GOAL,
        "machine load during this benchmark (1-min load average, start / end)",
        f"{started[0]:.1f} / {now[0]:.1f} on {os.cpu_count()} cores",
        "",
        None,
        "other processes share the CPU: thread-count figures above load ~cores are noisy",
    )


# --- CLIP -----------------------------------------------------------------------------------


def clip_rows(args: argparse.Namespace, work: Path, tiny: Path) -> list[Row]:
    import numpy as np
    import torch
    from transformers import CLIPModel

    from services.conversion.clip import check_clip, export_image_tower
    from services.models.clip_onnx import INPUT, ONNX_FILE, OUTPUT, open_session

    source, dest = work / "clip", work / "clip-onnx"
    build_clip(source, tiny / "clip")
    dest.mkdir()
    model = CLIPModel.from_pretrained(source, dtype=torch.float32).eval()
    started = time.perf_counter()
    export_image_tower(model, dest / ONNX_FILE)
    export_s = time.perf_counter() - started
    check = check_clip(source, dest)
    device = args.device
    cuda = device.startswith("cuda")
    dtype = torch.float16 if cuda and args.fp16 else torch.float32
    model = model.to(device, dtype)
    rows = []
    for threads in _threads(args):
        torch.set_num_threads(threads)
        session = open_session(dest / ONNX_FILE, device, threads)
        for batch in (1, 8):
            pixels = torch.randn(batch, 3, 224, 224)
            on_device = pixels.to(device, dtype)
            as_numpy = np.ascontiguousarray(pixels.numpy())

            def tower(on_device: Any = on_device) -> None:
                with torch.inference_mode():
                    model.get_image_features(pixel_values=on_device)

            def ort(as_numpy: Any = as_numpy, session: Any = session) -> None:
                session.run([OUTPUT], {INPUT: as_numpy})

            torch_s, ort_s = _paired(tower, ort, args.runtimes_repeat, _sync(device))
            ratio = torch_s / ort_s
            where = f"{threads} thread{'s' * (threads > 1)}" if not cuda else device
            rows.append(
                Row(
                    GOAL,
                    f"CLIP ViT-B/32 image tower images/s, torch vs ONNX Runtime (batch {batch}, "
                    f"{where})",
                    f"{batch / torch_s:.2f} vs {batch / ort_s:.2f} img/s = {ratio:.2f}x",
                    "> 1x",
                    ratio > 1.0,
                    "full-size ViT-B/32, random weights; ORT float32 "
                    f"({', '.join(session.get_providers())})",
                )
            )
    rows.append(
        Row(
            GOAL,
            "CLIP image tower ONNX vs torch: same embeddings (the convert check)",
            f"min cosine {check['min_cosine']:.6f}, max abs diff {check['max_abs_diff']:.1e} "
            f"(embeddings up to {check['embedding_max_abs']:.2f})",
            "cosine >= 0.999",
            bool(check["passed"]),
            f"4 probe images, batch 4 and 1; export {export_s:.1f}s",
        )
    )
    return rows


# --- ISNet ----------------------------------------------------------------------------------


def isnet_rows(args: argparse.Namespace, tiny: Path) -> list[Row]:
    import numpy as np

    from services.models.clip_onnx import open_session

    path = ISNET_REAL if ISNET_REAL.is_file() else tiny / "isnet" / "model.onnx"
    which = "real imgly ISNet (fp16 weights)" if path == ISNET_REAL else "tiny ISNet"
    pixels = np.random.default_rng(0).standard_normal((1, 3, 1024, 1024), dtype=np.float32)
    rows = []
    for threads in _threads(args):
        session = open_session(path, args.device, threads)
        feed = {session.get_inputs()[0].name: pixels}
        seconds = _timed(
            lambda s=session, f=feed: s.run(None, f), min(args.runtimes_repeat, 2), lambda: None
        )  # seconds per run: two are enough
        where = (
            f"{threads} thread{'s' * (threads > 1)}"
            if not args.device.startswith("cuda")
            else args.device
        )
        rows.append(
            Row(
                GOAL,
                f"ISNet ONNX Runtime time per 1024² image ({where})",
                f"{seconds * 1000:.0f} ms",
                "",
                None,
                f"{which}; already ONNX, unchanged",
            )
        )
    return rows


def measure(args: argparse.Namespace) -> list[Row]:
    from services.conversion import write_tiny

    rows: list[Row] = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vitrina-runtimes-") as temp:
        work = Path(temp)
        tiny = work / "tiny"
        for part, model in ((marian_rows, "opus-mt-en-ru"), (clip_rows, "clip")):
            try:  # a GPU box may lack ctranslate2 or sentencepiece: say so, go on
                write_tiny(tiny, [model])  # its tokenizer / processor files
                rows += part(args, work, tiny)
            except Exception as exc:
                note = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
                rows.append(Row(GOAL, part.__name__, "skipped", "", None, note))
        write_tiny(tiny, ["isnet"])
        rows += isnet_rows(args, tiny)
    return [*rows, load_row(load)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))  # noqa: T201


if __name__ == "__main__":
    main()
