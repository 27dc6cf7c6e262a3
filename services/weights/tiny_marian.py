"""Tiny opus-mt (MarianMTModel + MarianTokenizer) for `vitrina weights tiny`, both directions.

The real tokenizer is two sentencepiece models (source.spm, target.spm) and one vocab.json.
Here the sentencepiece models are trained on the spot, with the sentencepiece package, on a
few hundred English and Russian lines generated below: no download, well under a second.
"""

from __future__ import annotations

import io
import itertools
import json
import warnings
from functools import lru_cache
from pathlib import Path

_NOUNS = (
    ("bag", "сумка"),
    ("dress", "платье"),
    ("mug", "кружка"),
    ("lamp", "лампа"),
    ("chair", "стул"),
    ("table", "стол"),
    ("bed", "кровать"),
    ("room", "номер"),
    ("shoe", "туфля"),
    ("watch", "часы"),
    ("phone", "телефон"),
    ("jacket", "куртка"),
    ("sofa", "диван"),
    ("window", "окно"),
    ("balcony", "балкон"),
    ("pillow", "подушка"),
)
_ADJECTIVES = (
    ("red", "красный"),
    ("white", "белый"),
    ("black", "чёрный"),
    ("soft", "мягкий"),
    ("new", "новый"),
    ("large", "большой"),
    ("small", "маленький"),
    ("wooden", "деревянный"),
    ("cosy", "уютный"),
    ("bright", "светлый"),
    ("modern", "современный"),
    ("quiet", "тихий"),
)
_FRAMES = (
    ("This {a} {n} is ready for you.", "Этот {a} {n} готов для вас."),
    ("A {a} {n} for every day.", "{A} {n} на каждый день."),
    ("Buy the {a} {n} now!", "Купите {a} {n} сейчас!"),
    ("The {n} is {a} and practical.", "{N} {a} и практичный."),
    ("Make a gift: a {a} {n}.", "Сделайте подарок: {a} {n}."),
    ("Size 42, weight 1.5 kg, 30 cm.", "Размер 42, вес 1,5 кг, 30 см."),
)


def training_lines() -> tuple[list[str], list[str]]:
    """A few hundred English and Russian lines (parallel, though nothing relies on that)."""
    english, russian = [], []
    for (en_n, ru_n), (en_a, ru_a), (en_f, ru_f) in itertools.product(
        _NOUNS, _ADJECTIVES, _FRAMES
    ):
        english.append(en_f.format(a=en_a, n=en_n))
        russian.append(ru_f.format(a=ru_a, n=ru_n, A=ru_a.capitalize(), N=ru_n.capitalize()))
    return english[::3], russian[::3]


@lru_cache(maxsize=2)
def _spm(language: str) -> bytes:
    import sentencepiece as spm

    english, russian = training_lines()
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(english if language == "en" else russian),
        model_writer=model,
        vocab_size=160,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        # Marian's vocab.json owns the special ids; spm only cuts text into pieces.
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        minloglevel=2,
    )
    return model.getvalue()


def _pieces(model: bytes) -> list[str]:
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=model)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _tiny_marian(folder: Path, seed: int, source: str, target: str) -> None:
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    source_spm, target_spm = _spm(source), _spm(target)
    tokens = ["</s>", "<unk>", *_pieces(source_spm), *_pieces(target_spm)]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    vocab["<pad>"] = len(vocab)  # last, as in the real opus-mt vocabularies
    (folder / "source.spm").write_bytes(source_spm)
    (folder / "target.spm").write_bytes(target_spm)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with warnings.catch_warnings():  # "Recommended: pip install sacremoses"
        warnings.simplefilter("ignore", UserWarning)
        tokenizer = MarianTokenizer(
            source_spm=str(folder / "source.spm"),
            target_spm=str(folder / "target.spm"),
            vocab=str(folder / "vocab.json"),
            source_lang=source,
            target_lang=target,
        )
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        max_position_embeddings=128,
        pad_token_id=pad,
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=pad,
        forced_eos_token_id=vocab["</s>"],
        init_std=0.5,  # a wide init: outputs that depend on the input (still noise)
    )
    with torch.random.fork_rng(devices=[]):  # seed the init without touching global state
        torch.manual_seed(seed)
        model = MarianMTModel(config).eval()
    # as every real opus-mt config (transformers' convert_marian_to_pytorch): never emit <pad>
    model.generation_config.bad_words_ids = [[pad]]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def tiny_marian_en_ru(folder: Path, seed: int) -> None:
    _tiny_marian(folder, seed, "en", "ru")


def tiny_marian_ru_en(folder: Path, seed: int) -> None:
    _tiny_marian(folder, seed, "ru", "en")
