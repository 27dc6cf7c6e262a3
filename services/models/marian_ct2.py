"""opus-mt translation on CTranslate2: the same contract as ``MarianTranslator``.

The folder (``WEIGHTS_DIR/opus-mt-<src>-<tgt>-ct2``) is what ``vitrina weights convert``
writes: CTranslate2's ``model.bin`` + ``shared_vocabulary.json``, the Marian tokenizer files
copied beside them (sentencepiece through transformers' ``MarianTokenizer``), and
``converted.json``, the record of the check against the transformers model. A folder that is
missing, unverified or changed since its check is not used: every call goes to
``fallback`` (the transformers translator), with one log line saying why.

Beam size, input truncation, the output length cap and the batch size are taken from the
fallback translator, so both runtimes search the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.models.loading import LOADING
from services.models.marian import MarianTranslator
from services.weights.converted import converted_problem

log = logging.getLogger("vitrina.runtimes")
TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json")


class Ct2MarianTranslator:
    """``translate(sentences) -> list[str]`` on CTranslate2; falls back to ``fallback``."""

    runtime = "ctranslate2"

    def __init__(
        self,
        folder: Path,
        fallback: MarianTranslator,
        *,
        threads: int | None = None,  # None: torch's intra-op thread count
        trusted: bool = False,  # skip converted.json: the conversion check itself
    ) -> None:
        self.folder = Path(folder)
        self.fallback = fallback
        self.name = self.folder.name
        self.device = fallback.device
        self.threads = threads
        self.trusted = trusted
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._translator: Any = None
        self._tokenizer: Any = None
        self._unusable: str | None = None  # why the converted folder is not used

    @property
    def active_runtime(self) -> str:
        """The runtime in use: "transformers" once the folder was refused (after load)."""
        return "transformers" if self._unusable else self.runtime

    @property
    def loaded(self) -> bool:
        return self._translator is not None or (
            self._unusable is not None and self.fallback.loaded
        )

    def load(self) -> None:
        if self._translator is not None or self._unusable is not None:
            if self._unusable is not None:
                self.fallback.load()
            return
        with self._load_lock, LOADING:
            if self._translator is None and self._unusable is None:
                self._load_locked()
        if self._unusable is not None:
            self.fallback.load()

    def _load_locked(self) -> None:
        problem = None
        if not self.trusted:
            problem = converted_problem(self.folder, self.fallback.model_dir)
        if problem is None:
            try:
                self._translator, self._tokenizer = self._open()
            except Exception as exc:  # a broken install or file: the torch path still works
                problem = f"unreadable: {type(exc).__name__}: {exc}"
        if problem is not None:
            self._unusable = " ".join(problem.split())[:300]
            log.warning(
                "%s: not using CTranslate2 (%s); translating with transformers",
                self.name,
                self._unusable,
            )

    def _open(self) -> tuple[Any, Any]:
        import warnings

        import ctranslate2
        import torch
        from transformers import MarianTokenizer

        with warnings.catch_warnings():  # "Recommended: pip install sacremoses"
            warnings.simplefilter("ignore", UserWarning)
            tokenizer = MarianTokenizer.from_pretrained(self.folder, local_files_only=True)
        device = "cuda" if self.device.startswith("cuda") else "cpu"
        translator = ctranslate2.Translator(
            str(self.folder),
            device=device,
            compute_type="default",  # what the model was saved in: float32 here
            inter_threads=1,
            intra_threads=self.threads or torch.get_num_threads(),
        )
        return translator, tokenizer

    def translate(self, sentences: Sequence[str]) -> list[str]:
        """Translate each sentence; inputs past ``max_input_tokens`` are cut, not refused."""
        if not sentences:
            return []
        self.load()
        if self._unusable is not None:
            return self.fallback.translate(sentences)
        out: list[str] = []
        step = self.fallback.max_batch
        with self._run_lock:
            for start in range(0, len(sentences), step):
                out += self._generate(list(sentences[start : start + step]))
        return out

    def token_ids(
        self, sentences: list[str], *, num_beams: int, max_new_tokens: int
    ) -> list[list[int]]:
        """Generated target ids (no start or end token), for the conversion check."""
        self.load()
        return [ids for ids, _ in self._ids(sentences, num_beams, max_new_tokens)]

    def _ids(
        self, sentences: list[str], num_beams: int, max_new_tokens: int
    ) -> list[tuple[list[int], int]]:
        tokenizer = self._tokenizer
        encoded = tokenizer(sentences, truncation=True, max_length=self.fallback.max_input_tokens)[
            "input_ids"
        ]
        sources = [tokenizer.convert_ids_to_tokens(ids) for ids in encoded]
        results = self._translator.translate_batch(
            sources,
            beam_size=num_beams,
            max_decoding_length=max_new_tokens,
            max_batch_size=len(sources),
            return_end_token=False,
        )
        return [
            (tokenizer.convert_tokens_to_ids(r.hypotheses[0]), len(ids))
            for r, ids in zip(results, encoded, strict=True)
        ]

    def _generate(self, sentences: list[str]) -> list[str]:
        fallback = self.fallback
        # transformers forces the end token as the last of max_new_tokens: one fewer here.
        rows = self._ids(sentences, fallback.num_beams, fallback.max_new_tokens - 1)
        # The same cut as MarianTranslator: 2n + 9 tokens there include the start token.
        cut = [ids[: 2 * n + 8] for ids, n in rows]
        texts = self._tokenizer.batch_decode(cut, skip_special_tokens=True)
        return [" ".join(text.split()) for text in texts]
