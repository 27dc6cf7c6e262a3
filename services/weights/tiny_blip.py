"""Tiny BLIP (BlipForConditionalGeneration + BlipProcessor) for `vitrina weights tiny`.

The tokenizer is a BERT WordPiece tokenizer over a small word list written here (the real
one is bert-base-uncased plus the `[DEC]` bos token that BLIP's decoder starts from).
"""

from __future__ import annotations

from pathlib import Path

_VOCABULARY = (
    "a photography of the an on in with and white black red blue green brown grey wooden "
    "table chair bed room hotel lamp window sofa pillow bag shoe shoes dress shirt mug cup "
    "bottle phone watch box cat dog man woman person sitting standing next to near large "
    "small close up view picture image light dark modern old new two three is are there"
)
_WORDS = _VOCABULARY.split()


def tiny_blip(folder: Path, seed: int) -> None:
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789.,-")
    pieces = ["##" + c for c in letters]
    tokens = [*specials, *dict.fromkeys([*_WORDS, *letters, *pieces]), "[DEC]"]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = BertTokenizer(vocab=vocab, bos_token="[DEC]", model_max_length=512)

    image_size = 32
    config = BlipConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "encoder_hidden_size": 32,
            "bos_token_id": vocab["[DEC]"],
            "pad_token_id": vocab["[PAD]"],
            "sep_token_id": vocab["[SEP]"],
            "eos_token_id": vocab["[SEP]"],
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    with torch.random.fork_rng(devices=[]):  # seed the init without touching global state
        torch.manual_seed(seed)
        model = BlipForConditionalGeneration(config).eval()
    image_processor = BlipImageProcessor(size={"height": image_size, "width": image_size})
    model.save_pretrained(folder)
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
