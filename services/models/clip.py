"""Zero-shot tags with CLIP: each image against a domain vocabulary (services/vocabulary.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from services.errors import BadImage, ModelUnavailable
from services.models.resident import ResidentModel, in_use
from services.vocabulary import ITEM, Term, load_vocabulary

if TYPE_CHECKING:
    import numpy as np
    import torch

    from services.features import FeatureStore

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


class ImageEncoder(Protocol):
    def encode(self, pixel_values: np.ndarray) -> np.ndarray | None:
        """``get_image_features`` of CLIP-processed pixels; None: use torch instead."""


@dataclass(frozen=True)
class Tag:
    en: str
    ru: str
    probability: float  # within the term's group
    group: str = ITEM


@dataclass(frozen=True)
class TagResult:
    domain: str
    tags: tuple[Tag, ...]  # items, most probable first
    attributes: tuple[Tag, ...] = ()  # at most one per attribute group (colour, material…)


class ClipTagger(ResidentModel):
    """CLIP (transformers ``CLIPModel``) loaded lazily from one folder of WEIGHTS_DIR.

    ``load`` is idempotent and thread-safe; ``tag`` loads on first use. Text embeddings of a
    domain's vocabulary are computed once and kept (normalised) for the tagger's life.
    """

    name = "clip"
    _held = ("_model", "_processor", "_text", "_prompts")

    def __init__(
        self,
        model_dir: Path,
        device: str = "cpu",
        features: FeatureStore | None = None,
        *,
        image_encoder: ImageEncoder | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        #: per-photo image embeddings on disk (services/features.py); None: not kept
        self.features = features
        #: another runtime for the image tower (services/models/clip_onnx.py); None: torch
        self.image_encoder = image_encoder
        self.images_embedded = 0  # for tests and logs: images the image tower ran on
        super().__init__()
        self._model: Any = None
        self._processor: Any = None
        self._text: dict[str, tuple[tuple[Term, ...], torch.Tensor]] = {}
        self._prompts: dict[tuple[tuple[str, tuple[str, ...]], ...], torch.Tensor] = {}

    def _load_locked(self) -> None:
        import torch
        from transformers import CLIPModel, CLIPProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a tqdm bar per load is noise in a service's log
        folder = self.model_dir
        if not folder.is_dir():
            raise ModelUnavailable(self.name, folder, "missing")
        if not (folder / "config.json").is_file():
            raise ModelUnavailable(self.name, folder, "no config.json")
        if not any((folder / f).is_file() for f in _WEIGHT_FILES):
            raise ModelUnavailable(self.name, folder, "no weights file")
        device = torch.device(self.device)
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        try:
            model = CLIPModel.from_pretrained(folder, dtype=dtype, local_files_only=True)
            processor = CLIPProcessor.from_pretrained(folder, local_files_only=True)
        except Exception as exc:  # corrupt/foreign files: report, don't crash the worker
            reason = " ".join(f"unreadable: {type(exc).__name__}: {exc}".split())[:300]
            raise ModelUnavailable(self.name, folder, reason) from exc
        model.requires_grad_(False)
        self._processor = processor
        self._model = model.to(device).eval()

    @in_use
    def prepare(self, domains: Sequence[str]) -> None:
        """Load the model and embed the domains' vocabularies now, not at the first request."""
        self.load()
        import torch

        with torch.inference_mode():
            for domain in domains:
                self._text_embeddings(domain)

    @in_use
    def tag(
        self,
        images: Sequence[Image.Image],
        domain: str,
        *,
        top_k: int = 5,
        min_probability: float | None = None,
        attribute_min_probability: float = 0.4,
        keys: Sequence[str | None] | None = None,
    ) -> list[TagResult]:
        """Tag all ``images`` as one batch; one TagResult per image, in order.

        ``keys`` (the photos' sha256, one per image): their image embeddings are read from
        and kept in the feature store, so /tag then /describe of a photo embed it once.

        Probabilities are a softmax of ``logit_scale * cosine`` within each vocabulary group,
        so the items sum to 1 per image, and so does each attribute group. Tags are sorted by
        probability, descending (ties keep vocabulary order).

        - ``min_probability is None`` (top-k mode): the ``top_k`` most probable items.
        - ``min_probability`` given (threshold mode): every item with probability
          ``>= min_probability``, then at most ``top_k`` of them; may be empty.
        - ``top_k == 0`` means no limit (``top_k=0`` alone returns every item).
        - attributes: the best term of each other group, if its probability within the group
          is at least ``attribute_min_probability``.
        """
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        for name, value in (
            ("min_probability", min_probability),
            ("attribute_min_probability", attribute_min_probability),
        ):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        terms = load_vocabulary(domain)  # ValueError for an unknown domain, before loading
        if not images:
            return []
        rgb = [to_rgb(image) for image in images]
        self.load()

        import torch

        groups: dict[str, list[int]] = {}
        for index, term in enumerate(terms):
            groups.setdefault(term.group, []).append(index)
        with torch.inference_mode():
            terms, text = self._text_embeddings(domain)
            image = self._stored_or_computed(rgb, keys)
            scale = self._model.logit_scale.float().exp()
            logits = (scale * image @ text.T).cpu()
            probs = torch.empty_like(logits)
            for indices in groups.values():
                probs[:, indices] = logits[:, indices].softmax(dim=-1)

        items = groups.get(ITEM, [])
        limit = top_k or len(items)
        results = []
        for row in probs.tolist():
            order = sorted(items, key=lambda i: -row[i])
            picked = [i for i in order if min_probability is None or row[i] >= min_probability]
            attributes = []
            for group, indices in groups.items():
                best = max(indices, key=lambda i: row[i])
                if group != ITEM and row[best] >= attribute_min_probability:
                    attributes.append(_tag(terms[best], row[best]))
            results.append(
                TagResult(
                    domain=domain,
                    tags=tuple(_tag(terms[i], row[i]) for i in picked[:limit]),
                    attributes=tuple(attributes),
                )
            )
        return results

    @in_use
    def zero_shot(
        self,
        images: Sequence[Image.Image],
        prompts: Mapping[str, Sequence[str]],
        *,
        keys: Sequence[str | None] | None = None,
    ) -> list[dict[str, float]]:
        """Each image against labelled prompts (/check's grades): a label's prompts are
        averaged into one text embedding, and the softmax over the labels of
        ``logit_scale * cosine`` gives one probability per label (they sum to 1)."""
        if not prompts or any(not texts for texts in prompts.values()):
            raise ValueError("every label needs at least one prompt")
        if not images:
            return []
        rgb = [to_rgb(image) for image in images]
        self.load()
        import torch

        labels = tuple(prompts)
        with torch.inference_mode():
            text = self._prompt_embeddings(tuple((k, tuple(prompts[k])) for k in labels))
            image = self._stored_or_computed(rgb, keys)
            scale = self._model.logit_scale.float().exp()
            probs = (scale * image @ text.T).softmax(dim=-1).cpu().tolist()
        return [dict(zip(labels, row, strict=True)) for row in probs]

    def _prompt_embeddings(self, prompts: tuple[tuple[str, tuple[str, ...]], ...]) -> torch.Tensor:
        """One normalised text embedding per label: the mean of its prompts' (kept)."""
        import torch

        with self._lock:
            cached = self._prompts.get(prompts)
            if cached is None:
                texts = [text for _, group in prompts for text in group]
                inputs = self._processor.tokenizer(
                    texts,
                    padding=True,
                    truncation=True,
                    max_length=self._model.config.text_config.max_position_embeddings,
                    return_tensors="pt",
                ).to(self._model.device)
                every = _normalise(_pooled(self._model.get_text_features(**inputs)))
                rows, start = [], 0
                for _, group in prompts:
                    rows.append(every[start : start + len(group)].mean(dim=0))
                    start += len(group)
                cached = _normalise(torch.stack(rows))
                self._prompts[prompts] = cached
        return cached

    def _text_embeddings(self, domain: str) -> tuple[tuple[Term, ...], torch.Tensor]:
        cached = self._text.get(domain)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._text.get(domain)
            if cached is None:
                terms = load_vocabulary(domain)
                tokenizer = self._processor.tokenizer
                inputs = tokenizer(
                    [t.prompt for t in terms],
                    padding=True,
                    truncation=True,
                    max_length=self._model.config.text_config.max_position_embeddings,
                    return_tensors="pt",
                ).to(self._model.device)
                features = _pooled(self._model.get_text_features(**inputs))
                cached = (terms, _normalise(features))
                self._text[domain] = cached
        return cached

    def _image_embeddings(self, images: list[Image.Image]) -> torch.Tensor:
        pixels = self._processor.image_processor(images=images, return_tensors="pt")
        if self.image_encoder is not None:
            import torch

            encoded = self.image_encoder.encode(pixels["pixel_values"].float().numpy())
            if encoded is not None:  # None: the encoder refused its files; torch below
                return _normalise(torch.from_numpy(encoded).to(self._model.device))
        pixel_values = pixels["pixel_values"].to(self._model.device, self._model.dtype)
        return _normalise(_pooled(self._model.get_image_features(pixel_values=pixel_values)))

    # ---- per-photo embeddings on disk (the feature store)

    def _stored_or_computed(
        self, images: list[Image.Image], keys: Sequence[str | None] | None
    ) -> torch.Tensor:
        """Image embeddings: those the store holds for ``keys``, the rest computed (one batch)
        and stored. Kept in float32 (2-3 KB a photo): a stored one equals a fresh one."""
        import numpy as np
        import torch

        store = self.features
        if store is None or keys is None or len(keys) != len(images):
            self.images_embedded += len(images)
            return self._image_embeddings(images)
        revision = self.feature_revision()
        width = self.embedding_width
        rows: list[torch.Tensor | None] = []
        for key in keys:
            found = store.load(key, "clip", revision, "image") if key else None
            vector = None if found is None else found.get("embedding")
            if vector is not None and vector.shape != (width,):
                store.discard(store.path(key, "clip", revision, "image"), "wrong shape")
                vector = None
            rows.append(None if vector is None else torch.from_numpy(vector.astype(np.float32)))
        todo = [i for i, row in enumerate(rows) if row is None]
        if todo:
            self.images_embedded += len(todo)
            computed = self._image_embeddings([images[i] for i in todo]).float().cpu()
            for i, vector in zip(todo, computed, strict=True):
                rows[i] = vector
                if keys[i]:
                    store.save(keys[i], "clip", revision, "image", {"embedding": vector.numpy()})
        return torch.stack([row for row in rows if row is not None]).to(self._model.device)

    # ---- the library (/find, /groups): text embeddings, and image embeddings as numpy

    @property
    def embedding_width(self) -> int:
        return int(self._model.config.projection_dim)

    def feature_revision(self) -> str:
        """The tag image embeddings of this model are stored under in the feature store
        (loaded model): the folder's revision, device, dtype and the image tower's runtime,
        so embeddings of two runtimes never mix."""
        from services.features import tag as feature_tag
        from services.weights.revision import folder_revision

        encoder = self.image_encoder
        runtime = "onnx" if encoder is not None and encoder.usable else "torch"
        return feature_tag(
            folder_revision(self.model_dir), self._model.device, self._model.dtype, runtime
        )

    @in_use
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length CLIP text embeddings (float32 numpy, one row per text)."""
        self.load()
        import torch

        with torch.inference_mode():
            inputs = self._processor.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=self._model.config.text_config.max_position_embeddings,
                return_tensors="pt",
            ).to(self._model.device)
            features = _normalise(_pooled(self._model.get_text_features(**inputs)))
        return features.float().cpu().numpy()

    @in_use
    def embed_images(
        self, images: Sequence[Image.Image], keys: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Unit-length image embeddings (float32 numpy), read from and kept in the feature
        store under ``keys`` like /tag's."""
        self.load()
        import torch

        with torch.inference_mode():
            rows = self._stored_or_computed([to_rgb(image) for image in images], keys)
        return rows.float().cpu().numpy()


def _tag(term: Term, probability: float) -> Tag:
    return Tag(term.en, term.ru, probability, term.group)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of any PIL mode; transparent areas become white, like a product card."""
    if not isinstance(image, Image.Image):
        raise BadImage(f"expected a PIL image, got {type(image).__name__}")
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16/32-bit greyscale: scale to 8 bits instead of letting convert() clip at 255.
        image = image if image.mode == "F" else image.convert("I").convert("F")
        high = max(image.getextrema()[1], 255.0)
        image = image.point(lambda v: v * (255.0 / high)).convert("L")
    return image.convert("RGB")


def _pooled(output: Any) -> torch.Tensor:
    """transformers 5 returns a BaseModelOutputWithPooling; 4.x returned the tensor."""
    return output if not hasattr(output, "pooler_output") else output.pooler_output


def _normalise(features: torch.Tensor) -> torch.Tensor:
    features = features.float()
    return features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
