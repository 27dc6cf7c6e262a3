"""`describe`: a Russian selling text from the photo.

Local path, all on the worker and batched across waiting jobs: CLIP tags (the same tagger
instance /tag uses) and a BLIP caption -> English from templates -> Russian by opus-mt.
GPT path (an API key is set): the worker only tags the photo and prepares a JPEG; the network
call happens in ``finish`` on the event loop, so the worker goes on with the next batch.
If GPT fails, ``finish`` runs the local path on the worker and the result says why.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from services.describer.local import TEMPLATES_PATH, facts_from, write_english
from services.describer.result import Copy, DescriptionResult
from services.errors import BadImage, ServiceError
from services.imaging.decode import load_rgb
from services.jobs import JobRequest, Stage
from services.models.blip import Captioner
from services.models.clip import ClipTagger, TagResult
from services.models.gpt import GptCopywriter, GptFailed
from services.operations import FinishContext, Op, Operation, Outcome, RunContext
from services.translation import Translators
from services.vocabulary import DEFAULT_DIRECTORY, DOMAINS
from services.weights.digest import sha256_file
from services.weights.revision import file_digest

GPT_MAX_SIDE = 1024


@dataclass(frozen=True)
class Prepared:
    """One photo, ready for either path."""

    domain: str
    variant: int
    seed: str  # sha256 of the photo file: picks the template variant
    image: Image.Image
    items: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]  # (group, English term)

    @property
    def tag_text(self) -> str:
        parts = [", ".join(self.items)] if self.items else []
        parts += [f"{group}: {term}" for group, term in self.attributes]
        return "; ".join(parts)


@dataclass(frozen=True)
class PendingGpt:
    """What ``run`` hands to ``finish`` on the GPT path."""

    prepared: Prepared
    jpeg_b64: str


class DescribeOperation(Operation):
    name = Op.DESCRIBE
    max_batch = 8
    max_side = 1024
    #: what `finish` runs back on the worker: the local path when GPT fails, and opus-mt
    worker_calls = Operation.worker_calls | {"local", "to_russian"}

    def __init__(
        self,
        captioner: Captioner,
        tagger: ClipTagger,
        translators: Translators,
        missing: Callable[[list[str]], list[str]],
        gpt: GptCopywriter | None = None,
    ) -> None:
        self.captioner = captioner
        self.tagger = tagger
        self.translators = translators
        self._missing = missing
        self.gpt = gpt

    def needed_models(self) -> list[str]:
        if self.gpt is None:
            return ["clip", "blip", "opus-mt-en-ru"]
        return ["clip"] if self.gpt.language == "ru" else ["clip", "opus-mt-en-ru"]

    def missing_weights(self) -> list[str]:
        return self._missing(self.needed_models())

    def _options(self, params: Mapping[str, Any]) -> tuple[str, int]:
        domain = str(params.get("domain", "product"))
        return (domain if domain in DOMAINS else "product"), int(params.get("variant", 0))

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, self._options(request.params)[0])

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The local path is deterministic (the variant picks the templates). The GPT path
        is cached too, per variant, model and server: a repeat costs no API call and
        "Another variant" (variant + 1) still asks GPT anew. A reply GPT failed to give
        (the local fallback) is not cached: ``DescriptionResult.cacheable``."""
        domain, variant = self._options(params)
        identity: dict[str, Any] = {
            "domain": domain,
            "variant": variant,
            "models": self.needed_models(),
            "vocabulary": file_digest(DEFAULT_DIRECTORY / f"{domain}.tsv"),
        }
        if self.gpt is None:
            identity["templates"] = file_digest(TEMPLATES_PATH)
        else:
            client = getattr(self.gpt, "_client", None)
            identity["gpt"] = [
                self.gpt.model,
                self.gpt.language,
                str(getattr(client, "base_url", "")),
            ]
        return identity

    def warm_up(self) -> None:
        self.tagger.prepare(DOMAINS)
        if self.gpt is None:
            self.captioner.load()

    # ---- on the worker

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        outcomes: list[Outcome] = []
        loaded: list[tuple[int, Image.Image, str]] = []
        for index, request in enumerate(requests):
            try:
                seed = request.photo_sha256 or sha256_file(request.image_path)
                loaded.append((index, load_rgb(request.image_path, self.max_side), seed))
                outcomes.append(None)
            except OSError:
                outcomes.append(BadImage(f"cannot read {request.image_path.name}"))
            except ServiceError as exc:
                outcomes.append(exc)
        if not loaded:
            return outcomes
        domain = self._options(requests[0].params)[0]
        keys = [requests[index].photo_sha256 for index, _, _ in loaded]
        images = [image for _, image, _ in loaded]
        tags = self.tagger.tag(images, domain, top_k=5, keys=keys)
        context.progress(0.3)
        prepared = [
            _prepare(domain, self._options(requests[index].params)[1], seed, image, tag)
            for (index, image, seed), tag in zip(loaded, tags, strict=True)
        ]
        if self.gpt is not None:
            results: list[Outcome] = [PendingGpt(p, _jpeg_b64(p.image)) for p in prepared]
        else:
            results = list(self.local(prepared, "local", context))
        for (index, _, _), result in zip(loaded, results, strict=True):
            outcomes[index] = result
        return outcomes

    def local(
        self, prepared: Sequence[Prepared], path: str, context: RunContext | None = None
    ) -> list[DescriptionResult]:
        """Caption all photos in one batch, write English, translate every field in one."""
        captions = self.captioner.caption([p.image for p in prepared])
        if context is not None:
            context.progress(0.6)
        written = []
        for item, caption in zip(prepared, captions, strict=True):
            facts = facts_from(item.domain, caption.text, list(item.items), dict(item.attributes))
            copy, template = write_english(facts, item.seed, item.variant)
            written.append((item, caption.text, facts.tags, copy, template))
        russian = self.to_russian([copy for *_, copy, _ in written])
        return [
            _result(item, ru, copy, path, template=template, caption=caption, tags=tags)
            for (item, caption, tags, copy, template), ru in zip(written, russian, strict=True)
        ]

    def to_russian(self, copies: Sequence[Copy]) -> list[Copy]:
        fields = [field for copy in copies for field in copy.fields()]
        # a field the model returned empty keeps its English: never an empty line
        translated = iter(
            ru or en
            for ru, en in zip(self.translators.to_russian_many(fields), fields, strict=True)
        )
        return [Copy.from_fields([next(translated) for _ in c.fields()]) for c in copies]

    # ---- on the event loop

    async def finish(
        self, request: JobRequest, outcome: Outcome, context: FinishContext
    ) -> Outcome:
        if not isinstance(outcome, PendingGpt) or self.gpt is None:
            return outcome
        prepared = outcome.prepared
        context.progress(0.5, stage=Stage.GPT)
        try:
            reply = await self.gpt.write(
                outcome.jpeg_b64, prepared.tag_text, prepared.domain, prepared.variant
            )
        except GptFailed as exc:
            path = f"local (GPT failed: {exc.reason})"
            context.progress(0.7)
            return (await context.on_worker("local", [prepared], path))[0]
        russian = reply.russian
        if russian is None:  # DESCRIBE_GPT_LANGUAGE=en: opus-mt writes the Russian
            russian = (await context.on_worker("to_russian", [reply.english]))[0]
        tags = (*prepared.items, *(term for _, term in prepared.attributes))
        return _result(prepared, russian, reply.english, "gpt", tags=tags)


def _prepare(
    domain: str, variant: int, seed: str, image: Image.Image, tags: TagResult
) -> Prepared:
    return Prepared(
        domain=domain,
        variant=variant,
        seed=seed,
        image=image,
        items=tuple(tag.en for tag in tags.tags),
        attributes=tuple((tag.group, tag.en) for tag in tags.attributes),
    )


def _result(
    item: Prepared,
    russian: Copy,
    english: Copy,
    path: str,
    *,
    template: str = "",
    caption: str = "",
    tags: tuple[str, ...] = (),
) -> DescriptionResult:
    return DescriptionResult(
        domain=item.domain,
        title=russian.title,
        benefits=russian.benefits,
        closing=russian.closing,
        english=english,
        path=path,
        variant=item.variant,
        template=template,
        caption=caption,
        tags=tuple(tags),
    )


def _jpeg_b64(image: Image.Image) -> str:
    """The photo as GPT gets it: JPEG, at most GPT_MAX_SIDE px on its long side."""
    small = image.copy()
    small.thumbnail((GPT_MAX_SIDE, GPT_MAX_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.convert("RGB").save(buffer, format="JPEG", quality=85)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
