"""The contents the local hub double serves: tiny random-weight models in the real layout.

`vitrina weights tiny` writes each model with today's save functions (transformers 5: one
``tokenizer.json``, one ``processor_config.json``, ``model.safetensors``). The hub's trees are
older: ``vocab.json`` + ``merges.txt``, ``preprocessor_config.json``, ``pytorch_model.bin``,
``*.fp16.safetensors``. Each real file name is served with the tiny model's content in that
file's own format, converted with the libraries' own functions (``torch.save``,
``safetensors.torch.save_file``, the image processor's ``save_pretrained``) or read out of
``tokenizer.json`` (the vocabulary and merges the slow tokenizers' files hold). Files no
manifest pattern asks for (README.md, tf_model.h5, ...) get a placeholder.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

PLACEHOLDER = b"not served by the test hub: no manifest pattern asks for this file\n"


class TinyContents:
    """``(repo_id, path) -> bytes`` from the tiny folders under ``tiny_root``."""

    def __init__(self, tiny_root: Path) -> None:
        from services.weights import load_manifest

        self.tiny_root = tiny_root
        self.folders: dict[str, Path] = {}
        for spec in load_manifest().values():
            for variant in spec.variants():
                self.folders.setdefault(variant.repo_id, tiny_root / spec.name)
        self._cache: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def get(self, repo_id: str, path: str) -> bytes:
        key = (repo_id, path)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._build(repo_id, path)
            return self._cache[key]

    def _build(self, repo_id: str, path: str) -> bytes:
        folder = self.folders[repo_id]
        tiny = folder / path
        if tiny.is_file():
            return tiny.read_bytes()
        sub, name = (folder / path).parent, Path(path).name
        built = _converted(sub, name)
        return PLACEHOLDER if built is None else built


def _converted(sub: Path, name: str) -> bytes | None:
    if name.endswith(".fp16.safetensors"):
        return _fp16(sub / name.replace(".fp16.safetensors", ".safetensors"))
    if name.endswith(".bin"):
        base = "model" if name == "pytorch_model.bin" else name.removesuffix(".bin")
        return _torch_bin(sub / f"{base}.safetensors")
    if name in ("vocab.json", "merges.txt", "vocab.txt", "special_tokens_map.json"):
        return _tokenizer_file(sub, name)
    if name == "preprocessor_config.json" and (sub / "processor_config.json").is_file():
        return _preprocessor(sub)
    return None


def _fp16(source: Path) -> bytes | None:
    """What diffusers' ``save_pretrained(variant="fp16")`` of the half-precision model holds."""
    if not source.is_file():
        return None
    from safetensors.torch import load_file, save

    tensors = {k: v.half() if v.is_floating_point() else v for k, v in load_file(source).items()}
    return save(tensors, metadata={"format": "pt"})


def _torch_bin(source: Path) -> bytes | None:
    """A ``pytorch_model.bin``: the state dict, ``torch.save``d."""
    if not source.is_file():
        return None
    import io

    import torch
    from safetensors.torch import load_file

    buffer = io.BytesIO()
    torch.save(load_file(source), buffer)
    return buffer.getvalue()


def _tokenizer_file(sub: Path, name: str) -> bytes | None:
    """The slow tokenizers' files, read out of the tiny ``tokenizer.json``."""
    source = sub / "tokenizer.json"
    if not source.is_file():
        return None
    data = json.loads(source.read_text(encoding="utf-8"))
    model = data["model"]
    if name == "special_tokens_map.json":
        from transformers import AutoTokenizer

        tokens = AutoTokenizer.from_pretrained(sub).special_tokens_map
        return json.dumps({k: str(v) for k, v in tokens.items()}, indent=2).encode()
    if name == "vocab.txt" and model["type"] == "WordPiece":
        vocab = sorted(model["vocab"].items(), key=lambda item: item[1])
        return "".join(f"{token}\n" for token, _ in vocab).encode()
    if model["type"] != "BPE":
        return None
    if name == "vocab.json":
        return json.dumps(model["vocab"], ensure_ascii=False).encode()
    if name == "merges.txt":
        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        return ("#version: 0.2\n" + "".join(f"{m}\n" for m in merges)).encode()
    return None


def _preprocessor(sub: Path) -> bytes:
    """``preprocessor_config.json`` as the image processor's ``save_pretrained`` writes it."""
    import tempfile

    from transformers import AutoImageProcessor

    with tempfile.TemporaryDirectory() as tmp:
        AutoImageProcessor.from_pretrained(sub).save_pretrained(tmp)
        return (Path(tmp) / "preprocessor_config.json").read_bytes()
