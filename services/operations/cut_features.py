"""The cutter's per-photo features on disk: the ISNet saliency map, the SAM image embedding
and the ranked candidate masks, in fp16 (changes no mask that matters), under revision tags
of the models in use (services/operations/cutout.py computes the tags). What is computed is
returned rounded as it is stored, so a cut from disk equals a fresh one. A file with the
wrong contents is discarded, and the feature computed again."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.features import FeatureStore
from services.models.sam import SamEmbedding, SamSegmenter


@dataclass(frozen=True)
class CutFeatures:
    """One photo's features in the store, under the revision tags of the models in use."""

    store: FeatureStore
    photo: str
    isnet: str
    sam: str
    cut: str

    def load_saliency(self, size: tuple[int, int]) -> np.ndarray | None:
        found = self.store.load(self.photo, "isnet", self.isnet, "saliency")
        saliency = None if found is None else found.get("saliency")
        if saliency is None:
            return None
        if saliency.shape != (size[1], size[0]):
            self._bad("isnet", self.isnet, "saliency")
            return None
        return saliency.astype(np.float32)

    def save_saliency(self, saliency: np.ndarray) -> np.ndarray:
        half = saliency.astype(np.float16)
        self.store.save(self.photo, "isnet", self.isnet, "saliency", {"saliency": half})
        return half.astype(np.float32)  # what a later job reads back

    def load_embedding(self, sam: SamSegmenter) -> SamEmbedding | None:
        found = self.store.load(self.photo, "sam", self.sam, "embedding")
        if found is None:
            return None
        try:
            features, sizes = found["features"], found["sizes"]
            if features.ndim != 4 or sizes.shape != (4,):
                raise ValueError("wrong shape")
        except (KeyError, ValueError):
            self._bad("sam", self.sam, "embedding")
            return None
        import torch

        sam.load()  # predict() needs the model even when the embedding comes from disk
        tensor = torch.from_numpy(features.astype(np.float32)).to(sam.device)
        h, w, ih, iw = (int(v) for v in sizes)
        return SamEmbedding(tensor, (h, w), (ih, iw), 0.0)

    def save_embedding(self, embedding: SamEmbedding) -> SamEmbedding:
        import torch

        half = embedding.features.detach().to("cpu", torch.float16).numpy()
        sizes = np.array([*embedding.original_size, *embedding.input_size], np.int64)
        self.store.save(
            self.photo, "sam", self.sam, "embedding", {"features": half, "sizes": sizes}
        )
        rounded = torch.from_numpy(half.astype(np.float32)).to(embedding.features.device)
        return SamEmbedding(
            rounded, embedding.original_size, embedding.input_size, embedding.seconds
        )

    def load_candidates(self, size: tuple[int, int]) -> tuple[tuple[np.ndarray, ...], str] | None:
        found = self.store.load(self.photo, "cutter", self.cut, "candidates")
        if found is None:
            return None
        try:
            stack, source = found["candidates"], str(found["source"])
            if stack.ndim != 3 or stack.shape[0] < 1 or stack.shape[1:] != (size[1], size[0]):
                raise ValueError("wrong shape")
        except (KeyError, ValueError):
            self._bad("cutter", self.cut, "candidates")
            return None
        return tuple(a.astype(np.float32) for a in stack), source

    def save_candidates(
        self, candidates: tuple[np.ndarray, ...], source: str
    ) -> tuple[np.ndarray, ...]:
        """Stored compressed (mostly 0 and 1); returns them as a later job reads them."""
        stack = np.stack(candidates).astype(np.float16)
        self.store.save(
            self.photo,
            "cutter",
            self.cut,
            "candidates",
            {"candidates": stack, "source": np.array(source)},
            compress=True,
        )
        return tuple(a.astype(np.float32) for a in stack)

    def _bad(self, model: str, revision: str, what: str) -> None:
        path = self.store.path(self.photo, model, revision, what)
        if path is not None:
            self.store.discard(path, "unexpected contents")
