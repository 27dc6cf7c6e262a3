"""opus-mt -> CTranslate2, and the check that both give the same tokens.

Conversion is CTranslate2's own ``TransformersConverter`` (float32 weights, as the source),
with the Marian tokenizer files copied into the converted folder.

The check: a few probe sentences in the source language, translated by the transformers
model and by the converted one with greedy search and with the translator's beam search
(``num_beams`` 4), ``PROBE_TOKENS`` new tokens at most. Passing means **identical token ids**
for every probe in both modes. The transformers side runs without ``forced_eos_token_id``
(the end token forced as the last allowed token), which CTranslate2 does not have: outside
the check the translator asks CTranslate2 for one token fewer instead, so the two differ at
most for an output that runs to the length cap (a noise model, not a real translation).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from services.models.marian import MarianTranslator
from services.models.marian_ct2 import TOKENIZER_FILES, Ct2MarianTranslator

PROBE_TOKENS = 48
BEAMS = 4
PROBES = {
    "en": [
        "This red bag is ready for you.",
        "A soft white pillow for every day.",
        "Size 42, weight 1.5 kg, 30 cm.",
        "The room has a large bed, a quiet balcony and a view of the sea.",
    ],
    "ru": [
        "Эта красная сумка готова для вас.",
        "Мягкая белая подушка на каждый день.",
        "Размер 42, вес 1,5 кг, 30 см.",
        "В номере большая кровать, тихий балкон и вид на море.",
    ],
}


def convert_marian(source: Path, dest: Path) -> dict[str, Any]:
    import ctranslate2
    import transformers
    from ctranslate2.converters import TransformersConverter

    copy = [str(source / f) for f in TOKENIZER_FILES if (source / f).is_file()]
    with warnings.catch_warnings():  # "Recommended: pip install sacremoses"
        warnings.simplefilter("ignore", UserWarning)
        converter = TransformersConverter(str(source), copy_files=copy, low_cpu_mem_usage=True)
        converter.convert(str(dest), force=True)
    return {
        "converter": "ctranslate2.converters.TransformersConverter",
        "versions": {
            "ctranslate2": ctranslate2.__version__,
            "transformers": transformers.__version__,
        },
        "compute_type": "float32",
    }


def source_language(folder: Path) -> str:
    """'en' or 'ru' from the folder name (opus-mt-<src>-<tgt>[-ct2])."""
    parts = folder.name.split("-")
    return parts[2] if len(parts) > 2 and parts[2] in PROBES else "en"


def check_marian(source: Path, dest: Path) -> dict[str, Any]:
    """Tokens of the transformers model and of the converted folder on the probes."""
    probes = PROBES[source_language(source)]
    reference = _transformers_ids(source, probes)
    converted = Ct2MarianTranslator(dest, MarianTranslator(source), trusted=True)
    figures: dict[str, Any] = {"probes": len(probes), "max_new_tokens": PROBE_TOKENS}
    passed = True
    for mode, beams in (("greedy", 1), ("beam", BEAMS)):
        ours = converted.token_ids(probes, num_beams=beams, max_new_tokens=PROBE_TOKENS)
        theirs = reference[mode]
        identical = sum(a == b for a, b in zip(ours, theirs, strict=True))
        figures[mode] = {"identical": identical, "agreement": round(_agreement(ours, theirs), 4)}
        passed &= identical == len(probes)
    summary = (
        f"greedy {figures['greedy']['identical']}/{len(probes)}, beam {BEAMS} "
        f"{figures['beam']['identical']}/{len(probes)} probes token-identical "
        f"(token agreement {figures['greedy']['agreement']:.3f} / "
        f"{figures['beam']['agreement']:.3f})"
    )
    return {
        "passed": passed,
        "summary": summary,
        "tolerance": "identical token ids on every probe, greedy and beam",
        **figures,
    }


def _transformers_ids(source: Path, probes: list[str]) -> dict[str, list[list[int]]]:
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tokenizer = MarianTokenizer.from_pretrained(source, local_files_only=True)
    model = MarianMTModel.from_pretrained(source, dtype=torch.float32, local_files_only=True)
    model.eval()
    special = {tokenizer.pad_token_id, tokenizer.eos_token_id}
    out = {}
    inputs = tokenizer(probes, return_tensors="pt", padding=True)
    for mode, beams in (("greedy", 1), ("beam", BEAMS)):
        with torch.inference_mode():
            rows = model.generate(
                **inputs,
                num_beams=beams,
                max_new_tokens=PROBE_TOKENS,
                do_sample=False,
                forced_eos_token_id=None,
            )
        ids = []
        for row in rows.tolist():
            row = row[1:]  # the decoder start token
            end = next((i for i, t in enumerate(row) if t in special), len(row))
            ids.append(row[:end])
        out[mode] = ids
    return out


def _agreement(ours: list[list[int]], theirs: list[list[int]]) -> float:
    """Mean share of positions with the same token (1.0: identical)."""
    shares = []
    for a, b in zip(ours, theirs, strict=True):
        longest = max(len(a), len(b)) or 1
        shares.append(sum(x == y for x, y in zip(a, b, strict=False)) / longest)
    return sum(shares) / len(shares)
