"""Captioner and translators through the production loaders (tiny random weights), and the
text handling around the translator (sentences, protected tokens, caps)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from services.config import ServiceConfig
from services.errors import ModelUnavailable
from services.models.blip import Captioner
from services.models.marian import MarianTranslator
from services.translation import TextTranslator, localise, protect, split_sentences
from services.wiring import default_translators

RU = "Рюкзак Nike Air XR-200, 42 см, вес 1,5 кг 😀. Отличный подарок! Цена 2 990 ₽"
EN = "The Nike backpack XR-200 weighs 1.5 kg and holds a 15 inch laptop 🎒. Great gift!"


@pytest.fixture(scope="module")
def images(photos: dict[str, bytes]) -> list[Image.Image]:
    opened = [Image.open(io.BytesIO(data)).convert("RGB") for data in photos.values()]
    return [*opened, opened[0].rotate(90, expand=True)]


def test_captions_in_a_batch_equal_single_calls(tiny_weights: Path, images) -> None:
    captioner = Captioner(tiny_weights / "blip")
    batch = captioner.caption(images)
    assert len(batch) == 5
    assert [c.text for c in batch] == [captioner.caption([image])[0].text for image in images]
    assert all(
        c.prompt == "a photography of" and not c.text.startswith("a photography") for c in batch
    )
    # bounded: at most max_new_tokens word pieces after the prompt
    assert all(len(c.text) < 30 * 12 for c in batch)


def test_missing_folders_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="blip"):
        Captioner(tmp_path / "blip").caption([Image.new("RGB", (8, 8))])
    with pytest.raises(ModelUnavailable, match="opus-mt-en-ru"):
        MarianTranslator(tmp_path / "opus-mt-en-ru").translate(["hello"])


def test_translator_batch_equals_single_calls_and_cuts_long_input(tiny_weights: Path) -> None:
    model = MarianTranslator(tiny_weights / "opus-mt-en-ru", max_input_tokens=64)
    sentences = [
        "A red bag.",
        "The soft bed is ready for you.",
        "Buy now!",
        "Size 42.",
        "A cosy room with a balcony and a sea view, quiet and bright.",
    ]
    batch = model.translate(sentences)
    assert batch == [model.translate([s])[0] for s in sentences]
    assert all(batch)
    endless = " ".join(["a soft white pillow for a quiet night"] * 200)
    (long,) = model.translate([endless])  # cut at 64 tokens, not an error
    assert 0 < len(long) < len(endless)


def test_wrapper_keeps_numbers_brands_codes_and_emoji(tiny_weights: Path) -> None:
    translators = default_translators(ServiceConfig(tiny_weights))
    english = translators.to_english(RU)
    for token in ("Nike Air XR-200", "42 cm", "1.5 kg", "😀", "2 990 ₽"):
        assert token in english, (token, english)
    russian = translators.en_ru.translate(EN)
    for token in ("Nike", "XR-200", "1,5 кг", "15 дюйм", "🎒"):
        assert token in russian, (token, russian)
    assert "Great gift" not in russian  # the rest did go through the model


def test_to_english_passes_english_through_and_caps_length(tiny_weights: Path) -> None:
    translators = default_translators(ServiceConfig(tiny_weights))
    text = "a white sofa on a marble floor, XR-200 😀"
    assert translators.to_english(text) is text
    huge = ("Мягкая кровать у окна с видом на море. " * 400).strip()
    out = translators.to_english(huge)
    assert 0 < len(out) <= translators.ru_en.max_chars


def test_translate_many_is_one_batch_and_keeps_line_structure() -> None:
    calls: list[list[str]] = []

    def model(sentences):
        calls.append(list(sentences))
        return [f"<{s}>" for s in sentences]

    translator = TextTranslator(model, "ru", "en")
    texts = ["• Мягкая кровать\n• Вид на море 🌊", "Первое. Второе!", "already English"]
    out = translator.translate_many(texts)
    assert len(calls) == 1 and calls[0] == ["Мягкая кровать", "Вид на море", "Первое.", "Второе!"]
    assert out == [
        "• <Мягкая кровать>\n• <Вид на море> 🌊",
        "<Первое.> <Второе!>",
        "already English",
    ]


def test_protected_tokens_and_units() -> None:
    kept = [p.text for p in protect(RU, "ru") if p.keep]
    assert kept == ["Nike Air XR-200", "42 см", "1,5 кг", "😀", "2 990 ₽"]
    assert [p.text for p in protect(EN, "en") if p.keep] == [
        "Nike",
        "XR-200",
        "1.5 kg",
        "15 inch",
        "🎒",
    ]
    assert localise("1,5 кг", "en") == "1.5 kg" and localise("30 cm", "ru") == "30 см"
    assert localise("1,000", "en") == "1,000"  # a thousands separator is not a decimal
    assert split_sentences("One. Two! 😀 Three\n\nFour?") == [
        ("One.", " "),
        ("Two!", " "),
        ("😀 Three", "\n\n"),
        ("Four?", ""),
    ]


def test_a_blip2_folder_loads_blip2(tiny_weights: Path, tmp_path: Path, images) -> None:
    """BLIP_MODEL may name a BLIP-2 repo: the folder's config picks the class."""
    import torch
    from transformers import (
        AutoTokenizer,
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        BlipImageProcessor,
    )

    tokenizer = AutoTokenizer.from_pretrained(tiny_weights / "clip")  # any BPE tokenizer
    processor = Blip2Processor(
        BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer, num_query_tokens=4
    )
    small = {
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
    }
    config = Blip2Config(
        vision_config={**small, "image_size": 32, "patch_size": 8},
        qformer_config={**small, "encoder_hidden_size": 32, "vocab_size": 100},
        text_config={
            "model_type": "opt",
            "hidden_size": 32,
            "ffn_dim": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "vocab_size": len(processor.tokenizer),
            "word_embed_proj_dim": 32,
            "max_position_embeddings": 128,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        num_query_tokens=4,
        image_token_index=processor.tokenizer.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(0)
    Blip2ForConditionalGeneration(config).save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    captioner = Captioner(tmp_path, max_new_tokens=8)
    batch = captioner.caption(images[:3])
    assert type(captioner._model).__name__ == "Blip2ForConditionalGeneration"
    assert [c.text for c in batch] == [captioner.caption([i])[0].text for i in images[:3]]
