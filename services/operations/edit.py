"""`night`, `tulips`, `edit`: instruct-pix2pix edits that keep the room recognisable.

Params: ``{"preset": name}`` or ``{"prompt": text}`` (``night`` and ``tulips`` default to
their own preset), optional ``seed`` and ``steps``. The model works at the photo's aspect
with the long side EDIT_MAX_SIDE; the result comes back at the photo's original size,
blended into the original (services/imaging/structure.py) so what was not meant to change
stays as it was.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from services.edit_presets import Preset, load_presets
from services.errors import JobCancelled, ServiceError
from services.imaging import structure
from services.imaging.decode import load_rgb
from services.imaging.resize import working_size
from services.jobs import JobRequest
from services.models.pix2pix import MAX_BATCH, EditOutput, Pix2PixEditor
from services.operations import LANE_DIFFUSION, Operation, Outcome, RunContext
from services.results import ImageResult

log = logging.getLogger("vitrina.jobs")

#: A free-text instruction is cut here (CLIP reads 77 tokens anyway, about 300 characters).
MAX_PROMPT_CHARS = 300
MAX_STEPS = 100
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
#: the user's edit strength (/settings) -> a factor on the image guidance: a higher image
#: guidance keeps the result closer to the photo, a lower one lets the edit go further
STRENGTH_IMAGE_GUIDANCE = {"gentle": 1.25, "normal": 1.0, "strong": 0.8}
Translate = Callable[[str], str]


@dataclass(frozen=True)
class EditDefaults:
    steps: int = 20
    guidance: float = 7.5
    image_guidance: float = 1.5
    max_side: int = 512


@dataclass(frozen=True)
class Plan:
    """What one request asks for, before any model runs (cheap: batch keys use it)."""

    instruction: str  # the preset's prompt, or the user's text (bounded, maybe Russian)
    preset: str | None
    steps: int
    guidance: float
    image_guidance: float
    keep_structure: bool


def bound_prompt(text: str) -> str:
    """One line, at most MAX_PROMPT_CHARS characters."""
    return " ".join(str(text).split())[:MAX_PROMPT_CHARS].strip()


def _image_size(request: JobRequest) -> tuple[int, int] | None:
    """The photo's upright size from its header (no decoding); None if unreadable."""
    try:
        with Image.open(request.image_path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError):
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


class EditOperation(Operation):
    """One of the edit ops; the three share one Pix2PixEditor (one model in memory)."""

    max_batch = MAX_BATCH
    lanes = (LANE_DIFFUSION,)

    def __init__(
        self,
        name: str,
        editor: Pix2PixEditor,
        missing: Callable[[], list[str]],
        defaults: EditDefaults | None = None,
        translate_to_english: Translate | None = None,
    ) -> None:
        self.name = name
        self.editor = editor
        self._missing = missing
        self.defaults = defaults or EditDefaults()
        self.translate_to_english = translate_to_english

    def missing_weights(self) -> list[str]:
        return self._missing()

    def warm_up(self) -> None:
        self.editor.load()

    # ---- planning

    def plan(self, params: dict[str, Any] | Any) -> Plan:
        params = dict(params or {})
        preset: Preset | None = None
        prompt = bound_prompt(params.get("prompt") or "")
        presets = load_presets()
        own = self.name if self.name in presets else None  # /night, /tulips: their preset
        name = params.get("preset") or (None if prompt else own)
        if name is not None:
            preset = presets.get(str(name).strip().lower())
            if preset is None:
                raise ServiceError(f"unknown edit preset {name!r}; known: {', '.join(presets)}")
        if preset is None and not prompt:
            raise ServiceError("an edit needs a preset or an instruction")
        d = self.defaults
        steps = params.get("steps") or (preset.steps if preset else None) or d.steps
        image_guidance = (
            preset.image_guidance if preset and preset.image_guidance else d.image_guidance
        )
        strength = STRENGTH_IMAGE_GUIDANCE.get(str(params.get("strength") or "normal"), 1.0)
        return Plan(
            instruction=preset.prompt if preset else prompt,
            preset=preset.name if preset else None,
            steps=max(1, min(MAX_STEPS, int(steps))),
            guidance=(preset.guidance if preset and preset.guidance else d.guidance),
            image_guidance=round(max(1.0, image_guidance * strength), 3),
            keep_structure=preset.keep_structure
            if preset
            else bool(params.get("keep_structure", True)),
        )

    def lane(self, request: JobRequest) -> str:
        return LANE_DIFFUSION

    def batch_key(self, request: JobRequest) -> Hashable:
        try:
            plan = self.plan(request.params)
        except ServiceError:
            return (self.name, "invalid", request.job_id, id(request))
        size = _image_size(request)
        if size is None:
            return (self.name, "unreadable", request.job_id, id(request))
        return (self.name, plan, working_size(size, self.defaults.max_side))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Cacheable only with a seed: without one the worker draws a random seed, and a
        repeated /night means "another one". "Again" asks with a new seed: a new key."""
        seed = dict(params or {}).get("seed")
        if seed is None:
            return None
        try:
            plan = self.plan(params)
        except ServiceError:
            return None
        models = ["pix2pix"]
        if self.translate_to_english is not None and _CYRILLIC.search(plan.instruction):
            models.append("opus-mt-ru-en")
        return {
            "plan": asdict(plan),
            "seed": _seed(params),
            "max_side": self.defaults.max_side,
            "models": models,
        }

    def english(self, instruction: str) -> str:
        """The instruction in English: translated when it is Russian and a translator exists."""
        if self.translate_to_english is None or not _CYRILLIC.search(instruction):
            return instruction
        try:
            return bound_prompt(self.translate_to_english(instruction)) or instruction
        except Exception as exc:  # the edit still runs on the original text
            log.warning("translation failed, using the instruction as written: %s", exc)
            return instruction

    # ---- running

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(requests)
        originals: dict[int, Image.Image] = {}
        for index, request in enumerate(requests):
            try:
                self.plan(request.params)
                originals[index] = load_rgb(request.image_path)
            except ServiceError as exc:
                outcomes[index] = exc
        if not originals:
            return outcomes
        indices = list(originals)
        plan = self.plan(requests[indices[0]].params)
        prompt = self.english(plan.instruction)
        seeds = {i: _seed(requests[i].params) for i in indices}
        context.progress(0.02)
        try:
            edited = self._edit(
                [originals[i] for i in indices], prompt, [seeds[i] for i in indices], plan, context
            )
            pairs: list[tuple[int, Outcome]] = list(zip(indices, edited, strict=True))
        except JobCancelled:
            raise
        except ServiceError:
            raise
        except Exception:
            if len(indices) == 1:
                raise
            # One bad input must not fail its neighbours: run them one by one.
            log.exception("edit batch of %d failed; running each alone", len(indices))
            pairs = [
                (i, self._alone(originals[i], prompt, seeds[i], plan, context)) for i in indices
            ]
        for index, output in pairs:
            if isinstance(output, BaseException):
                outcomes[index] = output
            else:
                outcomes[index] = self._result(originals[index], output, plan, prompt)
        context.progress(1.0)
        return outcomes

    def _edit(
        self,
        images: list[Image.Image],
        prompt: str,
        seeds: list[int],
        plan: Plan,
        context: RunContext,
    ) -> list[EditOutput]:
        return self.editor.edit(
            images,
            prompt,
            seeds,
            steps=plan.steps,
            guidance=plan.guidance,
            image_guidance=plan.image_guidance,
            max_side=self.defaults.max_side,
            progress=context.progress,
            cancelled=context.cancelled,
        )

    def _alone(
        self, image: Image.Image, prompt: str, seed: int, plan: Plan, context: RunContext
    ) -> Outcome:
        try:
            return self._edit([image], prompt, [seed], plan, context)[0]
        except JobCancelled:
            raise
        except Exception as exc:
            return exc

    def _result(
        self, original: Image.Image, output: EditOutput, plan: Plan, prompt: str
    ) -> ImageResult:
        started = time.perf_counter()
        kept = (structure.keep_structure if plan.keep_structure else structure.full_frame)(
            original, output.working_input, output.image
        )
        timings = {**output.timings, "blend_s": round(time.perf_counter() - started, 3)}
        facts: dict[str, Any] = {
            "preset": plan.preset,
            "prompt": prompt,
            "seed": output.seed,
            "steps": output.steps,
            "guidance": plan.guidance,
            "image_guidance": plan.image_guidance,
            "keep_structure": plan.keep_structure,
            "changed_share": round(kept.changed_share, 4),
            "working_size": list(output.working_size),
            "size": list(original.size),
            "oom_retry": output.oom_retry,
            "timings": timings,
        }
        if plan.preset is None and prompt != plan.instruction:
            facts["instruction"] = plan.instruction
        # a result made smaller after running out of memory is not what a repeat should get
        return ImageResult(image=kept.image, facts=facts, cacheable=not output.oom_retry)


def _seed(params: Any) -> int:
    seed = dict(params or {}).get("seed")
    if seed is None:
        return secrets.randbelow(2**31)
    return int(seed) % 2**32
