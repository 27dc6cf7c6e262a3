"""`tag`: CLIP zero-shot tags from the user's domain vocabulary."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from services.errors import ServiceError
from services.imaging.decode import load_rgb
from services.jobs import JobRequest
from services.models.clip import ClipTagger
from services.operations import Op, Operation, Outcome, RunContext
from services.vocabulary import DEFAULT_DIRECTORY, DOMAINS
from services.weights.revision import file_digest


class TagOperation(Operation):
    """CLIP zero-shot tags from the user's domain vocabulary."""

    name = Op.TAG
    max_batch = 16  # the bare model's best CPU batch for ViT-B/32 (benchmarks/batching.py)
    max_side = 1024  # CLIP sees 224 px; no need to keep a 12 MP photo in memory

    def __init__(
        self,
        tagger: ClipTagger,
        missing: Callable[[], list[str]],
        top_k: int = 5,
        min_probability: float | None = None,
    ) -> None:
        self.tagger = tagger
        self._missing = missing
        self.top_k = top_k
        self.min_probability = min_probability

    def missing_weights(self) -> list[str]:
        return self._missing()

    def _options(self, params: Mapping[str, Any]) -> tuple[str, int, float | None]:
        domain = str(params.get("domain", "product"))
        if domain not in DOMAINS:
            domain = "product"
        top_k = int(params.get("top_k", self.top_k))
        min_probability = params.get("min_probability", self.min_probability)
        return domain, top_k, (float(min_probability) if min_probability is not None else None)

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, *self._options(request.params))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Deterministic: the options, the vocabulary's content and the CLIP weights."""
        domain, top_k, min_probability = self._options(params)
        return {
            "domain": domain,
            "top_k": top_k,
            "min_probability": min_probability,
            "vocabulary": file_digest(DEFAULT_DIRECTORY / f"{domain}.tsv"),
            "models": ["clip"],
        }

    def warm_up(self) -> None:
        self.tagger.prepare(DOMAINS)

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        outcomes: list[Outcome] = []
        images = []
        for request in requests:
            try:
                images.append(load_rgb(request.image_path, self.max_side))
                outcomes.append(None)
            except ServiceError as exc:
                outcomes.append(exc)
        context.progress(0.2)
        domain, top_k, min_probability = self._options(requests[0].params)
        keys = [r.photo_sha256 for r, o in zip(requests, outcomes, strict=True) if o is None]
        if images:
            results = iter(
                self.tagger.tag(
                    images, domain, top_k=top_k, min_probability=min_probability, keys=keys
                )
            )
            outcomes = [next(results) if outcome is None else outcome for outcome in outcomes]
        context.progress(1.0)
        return outcomes
