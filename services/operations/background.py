"""`background`: the product cut out and put on a colour, a gradient, a preset, the user's
own photo, a transparent PNG, or a scene Stable Diffusion paints around it.

The cut comes from the ObjectCutter (saliency + SAM, services/operations/cutout.py); this
module decides the background, lays out the marketplace card and composites
(services/imaging/). The photo's whole object pixels are never changed.

A catalogue of cards (a set in the chat, `vitrina process DIR --card`) runs twice: first with
``measure`` (the object's box, an `ObjectMeasure`), then with ``card_share``, the one object
height share of the card computed across the set (services/catalogue.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

from services.errors import BadImage, JobCancelled, ModelUnavailable, ServiceError
from services.imaging import backgrounds
from services.imaging.card import alpha_bbox, card_size, place
from services.imaging.colours import DEFAULT_GRADIENT, dominant_colour, hex_colour, normalise_hex
from services.imaging.compositing import fill_outward, over, transparent
from services.imaging.decode import load_rgb
from services.jobs import JobRequest
from services.models.inpaint import BackgroundPainter
from services.operations import LANE_DIFFUSION, LANE_QUICK, Op, Operation, Outcome, RunContext
from services.results import ImageResult, ObjectMeasure
from services.weights.digest import sha256_file

KINDS = ("colour", "gradient", "transparent", "preset", "prompt", "photo")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
PROMPT_STYLE = "{scene}, product photography, professional lighting, high detail"


class BadBackground(ServiceError):
    """The job's background parameters cannot be used (the bot validates before queueing)."""


class Cut(Protocol):
    alpha: np.ndarray
    candidate: int
    candidates: int
    source: str
    foreground_share: float
    timings: dict[str, float]


class Cutter(Protocol):
    def missing_weights(self) -> list[str]: ...

    def warm_up(self) -> None: ...

    def cut(
        self,
        image: Image.Image,
        *,
        candidate: int = 0,
        cache_key: str | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Cut: ...


class BackgroundOperation(Operation):
    """One photo per run (max_batch 1): a cut is per image, and a prompt job is a diffusion."""

    name = Op.BACKGROUND
    lanes = (LANE_QUICK, LANE_DIFFUSION)
    max_batch = 1

    def __init__(
        self,
        cutter: Cutter,
        painter: BackgroundPainter | None = None,
        *,
        painter_missing: Callable[[], list[str]] = list,
        steps: int = 25,
        work_side: int | None = None,
        translate_to_english: Callable[[str], str] | None = None,
    ) -> None:
        self.cutter = cutter
        self.painter = painter
        self._painter_missing = painter_missing
        self.steps = steps
        self.work_side = work_side
        self.translate_to_english = translate_to_english

    # ---- the Operation contract

    def missing_weights(self) -> list[str]:
        """The cutter's: colours, presets, photos and transparent need only the cut."""
        return self.cutter.missing_weights()

    def missing_weights_for(self, params: Mapping[str, Any]) -> list[str]:
        """What this job lacks beyond the cut: a prompt job needs the inpainting model."""
        if params.get("kind") != "prompt":
            return []
        return ["inpaint"] if self.painter is None else self._painter_missing()

    def lane(self, request: JobRequest) -> str:
        """A generated scene is a diffusion; a colour, preset or photo (or measuring the cut
        for a catalogue) is a quick cut."""
        params = request.params
        painted = params.get("kind") == "prompt" and not params.get("measure")
        return LANE_DIFFUSION if painted else LANE_QUICK

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, str(request.image_path))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Every param counts (the seed too: "Again" is never a cached repeat), but the
        background photo by its content, not by its row or path. Presets and generated
        scenes are seeded (0 unless "Again" drew one), so they are deterministic."""
        kind = str(params.get("kind", ""))
        if kind not in KINDS:
            return None
        identity = {
            k: v for k, v in params.items() if k not in ("background_path", "background_photo_id")
        }
        if kind == "photo":
            source = params.get("background_path")
            if not source:
                return None
            name = Path(str(source)).stem
            identity["background"] = name if len(name) == 64 else _sha_or_none(source)
        models = ["isnet", "sam"]
        if kind == "prompt":
            models.append("inpaint")
            identity["steps"] = max(1, int(params.get("steps", self.steps) or self.steps))
            identity["style"], identity["work_side"] = PROMPT_STYLE, self.work_side
            if self.translate_to_english is not None and _CYRILLIC.search(
                str(params.get("value", ""))
            ):
                models.append("opus-mt-ru-en")
        identity["cutter"] = getattr(self.cutter, "identity", None)
        identity["models"] = models
        return identity

    def warm_up(self) -> None:
        self.cutter.warm_up()

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for request in requests:
            make = self.measure if request.params.get("measure") else self.make
            try:
                outcomes.append(
                    make(request.image_path, request.params, context, photo=request.photo_sha256)
                )
            except ServiceError as exc:
                outcomes.append(exc)
        return outcomes

    # ---- the work

    def make(
        self, path: Any, params: Mapping[str, Any], context: RunContext, photo: str | None = None
    ) -> ImageResult:
        """One background job: cut, lay out, build the background, composite. ``photo``
        (the file's sha256; hashed here when not given) keys the cut's stored features."""
        kind = str(params.get("kind", ""))
        if kind not in KINDS:
            raise BadBackground(f"unknown background kind {kind!r}; one of {', '.join(KINDS)}")
        ratio = params.get("card")
        try:
            card = card_size(str(ratio)) if ratio else None
        except ValueError as exc:
            raise BadBackground(str(exc)) from None
        share = _card_share(params)
        if kind == "prompt":  # before the cut: no point cutting for a model that is absent
            self._check_painter(params)
        started = time.perf_counter()
        image, rgba, cut = self._cut(path, params, context, photo)
        context.progress(0.3)
        cut_s = time.perf_counter() - started
        if card is not None:
            rgba = place(rgba, card, height_share=share)
        facts: dict[str, Any] = {
            "kind": kind,
            "candidate": cut.candidate,
            "candidates": cut.candidates,
            "source": cut.source,
            "foreground_share": round(float(cut.foreground_share), 4),
            "cut_s": round(cut_s, 3),
        }
        if ratio:
            facts["card"] = str(ratio)
        if ratio and share is not None:
            facts["card_share"] = round(share, 4)
        seed = int(params.get("seed", 0) or 0)
        if kind == "transparent":
            result = rgba
        elif kind == "prompt":
            result = self._painted(rgba, image, params, seed, facts, context)
        else:
            back = self._background(kind, params, rgba.size, seed, facts)
            shadow = bool(params.get("shadow", kind in ("colour", "gradient", "preset")))
            result = over(rgba, back, shadow=shadow)
        facts["seconds"] = round(time.perf_counter() - started, 3)
        context.progress(1.0)
        return ImageResult(result, facts, document=kind == "transparent" or bool(ratio))

    def measure(
        self, path: Any, params: Mapping[str, Any], context: RunContext, photo: str | None = None
    ) -> ObjectMeasure:
        """A catalogue's first pass: the cut object's box, exactly as `make` would place it
        on a card (the cut's features are kept per photo: the second pass cuts nothing)."""
        image, rgba, _ = self._cut(path, params, context, photo)
        box = alpha_bbox(np.asarray(rgba.getchannel("A")))
        context.progress(1.0)
        if box is None:
            return ObjectMeasure(0, 0, image.width, image.height)
        left, top, right, bottom = box
        colour = dominant_colour(np.asarray(rgba))
        return ObjectMeasure(
            right - left,
            bottom - top,
            image.width,
            image.height,
            hex_colour(colour) if colour is not None else None,
        )

    def _cut(
        self, path: Any, params: Mapping[str, Any], context: RunContext, photo: str | None
    ) -> tuple[Image.Image, Image.Image, Cut]:
        """The photo, the object on transparency, and the cut."""
        image = load_rgb(path)
        context.progress(0.05)
        cut = self.cutter.cut(
            _with_alpha(path) or image,
            candidate=int(params.get("candidate", 0) or 0),
            cache_key=photo or _sha_or_none(path) or str(path),
            cancelled=context.cancelled,
        )
        if context.cancelled():
            raise JobCancelled("cancelled after the cut")
        return image, transparent(image, cut.alpha), cut

    def _background(
        self,
        kind: str,
        params: Mapping[str, Any],
        size: tuple[int, int],
        seed: int,
        facts: dict[str, Any],
    ) -> Image.Image:
        if kind == "colour":
            colour = normalise_hex(str(params.get("value", "")))
            if colour is None:
                raise BadBackground(f"not a colour: {params.get('value')!r}")
            facts["value"] = colour
            if params.get("name"):
                facts["name"] = str(params["name"])
            return backgrounds.solid(size, colour)
        if kind == "gradient":
            colours = [normalise_hex(str(c)) for c in params.get("colours") or DEFAULT_GRADIENT]
            if None in colours:
                raise BadBackground(f"not colours: {params.get('colours')!r}")
            facts["colours"] = colours
            return backgrounds.gradient(size, [c for c in colours if c])
        if kind == "preset":
            name = str(params.get("value", ""))
            try:
                image = backgrounds.preset(name, size, seed)
            except KeyError:
                raise BadBackground(f"unknown preset {name!r}") from None
            facts["value"], facts["seed"] = name, seed
            return image
        # kind == "photo": the user's second photo, cover-fit to the result's size
        source = params.get("background_path")
        if not source:
            raise BadBackground("a photo background needs background_path")
        try:
            photo = load_rgb(source)
        except BadImage as exc:
            raise BadImage(f"background photo: {exc}") from None
        return backgrounds.cover(photo, size)

    # ---- the generated scene

    def _prompt_for_model(self, prompt: str, facts: dict[str, Any]) -> str:
        english = prompt
        if _CYRILLIC.search(prompt) and self.translate_to_english is not None:
            english = self.translate_to_english(prompt)
            facts["prompt_en"] = english
        return PROMPT_STYLE.format(scene=english)

    def working_size(
        self, size: tuple[int, int], multiple: int = 8, side: int | None = None
    ) -> tuple[int, int]:
        """The photo's aspect with the long side `side` (default: `work_side`, else 512),
        both sides multiples of 8."""
        width, height = size
        scale = (side or self.work_side or 512) / max(width, height)
        step = max(8, multiple)
        return (
            max(step, round(width * scale / step) * step),
            max(step, round(height * scale / step) * step),
        )

    def _check_painter(self, params: Mapping[str, Any]) -> None:
        if self.painter is None:
            raise ModelUnavailable("inpaint", Path("inpaint"), "not configured")
        if self._painter_missing():
            raise ModelUnavailable("inpaint", self.painter.model_dir, "missing")
        if not str(params.get("value", "")).strip():
            raise BadBackground("a generated background needs a prompt")

    def _painted(
        self,
        rgba: Image.Image,
        photo: Image.Image,
        params: Mapping[str, Any],
        seed: int,
        facts: dict[str, Any],
        context: RunContext,
    ) -> Image.Image:
        """Repaint everything but the (slightly dilated) object at a working size, fill the
        thin ring around the object from the new scene, scale up, put the object back."""
        assert self.painter is not None  # _check_painter ran before the cut
        prompt = str(params.get("value", "")).strip()
        steps = max(1, int(params.get("steps", self.steps) or self.steps))
        facts.update(prompt=prompt, seed=seed, steps=steps)
        side = self.work_side or self.painter.native_side  # 512 for SD 1.5
        size = self.working_size(rgba.size, self.painter.vae_scale, side)
        alpha = np.asarray(rgba.getchannel("A").resize(size, Image.Resampling.BILINEAR))
        grow = max(1, round(max(size) * 0.006))  # keep a few px round the object: no bleed
        keep = ndimage.binary_dilation(alpha > 127, iterations=grow)
        mask = Image.fromarray(np.where(keep, 0, 255).astype(np.uint8), "L")
        grey = Image.new("RGB", rgba.size, (128, 128, 128))
        base = photo if photo.size == rgba.size else over(rgba, grey, shadow=False)
        work = base.resize(size, Image.Resampling.LANCZOS)

        def step(done: int, total: int) -> None:
            context.progress(0.3 + 0.65 * done / max(total, 1), done, total)

        painted = self.painter.paint(
            work,
            mask,
            self._prompt_for_model(prompt, facts),
            seed=seed,
            steps=steps,
            progress=step,
            cancelled=context.cancelled,
        )
        facts["paint_s"] = round(painted.seconds, 3)
        scene = fill_outward(np.asarray(painted.image, dtype=np.float32), ~keep)
        scene_image = Image.fromarray(np.clip(scene + 0.5, 0, 255).astype(np.uint8), "RGB")
        return over(rgba, scene_image.resize(rgba.size, Image.Resampling.LANCZOS), shadow=False)


def _card_share(params: Mapping[str, Any]) -> float | None:
    """A catalogue's common object height share of the card (`card_share`), checked."""
    raw = params.get("card_share")
    if raw is None:
        return None
    try:
        share = float(raw)
    except (TypeError, ValueError):
        raise BadBackground(f"card_share must be a number, not {raw!r}") from None
    if not 0.01 <= share <= 1.0:
        raise BadBackground(f"card_share must be between 0.01 and 1, not {share}")
    return share


def _sha_or_none(path: Any) -> str | None:
    try:
        return sha256_file(path)
    except (OSError, TypeError):
        return None


def _with_alpha(path: Any) -> Image.Image | None:
    """The photo as RGBA when the file itself is transparent (a PNG cut out before): its
    alpha tells the cutter what is surely background. None for opaque files."""
    try:
        with Image.open(path) as opened:
            if opened.mode in ("RGBA", "LA", "PA") or (
                opened.mode == "P" and "transparency" in opened.info
            ):
                return ImageOps.exif_transpose(opened).convert("RGBA")
    except (OSError, ValueError):
        return None  # load_rgb has read it already; a second failure is not ours to report
    return None
