"""/gallery: a product card's slides from one photo (issue 28). The photo is read and cut
ONCE (the ObjectCutter through `product_alpha`, features cached by the photo's sha256, as
"Fix for" does) and the cut serves every slide: main (the Fix card), hero, benefits,
detail, scene (services/gallery). Each slide then goes through the project's own check
(`CheckOperation.inspect`, the product's mask known from the layout) and Tesseract reads
every drawn line back; a slide that fails is redrawn with bigger text on plates, at most
twice, and what still fails is returned with passed=False and its reasons."""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.errors import GalleryRefused, JobCancelled
from services.gallery.selfcheck import SelfCheck
from services.gallery.slides import Drawn, Page, TooLong, draw_slide, main_card
from services.gallery.style import FONTS, find_font, make_style
from services.gallery.templates import DEFAULT_PATH as TEMPLATES_PATH
from services.gallery.templates import load_templates
from services.imaging.compositing import transparent
from services.imaging.decode import load_rgb
from services.jobs import JobRequest
from services.marketplace.banned import find_banned
from services.marketplace.profiles import Profile
from services.operations import LANE_QUICK, Op, Operation, Outcome, RunContext
from services.operations.base import each_photo
from services.operations.check import BadProfile, CheckOperation
from services.operations.fix import scaled
from services.operations.text_regions import object_mask, product_alpha, with_alpha
from services.results.gallery import GalleryResult, GallerySlide
from services.weights.digest import sha256_file
from services.weights.revision import file_digest

#: Bump when a change of code changes a gallery (part of its cache key).
GALLERY_VERSION = 1
#: A cut smaller than this share of the photo found no product.
MIN_PRODUCT = 0.005
MAX_BENEFITS = 5
MAX_REDRAWS = 2
TITLE_ONLY = ("hero", "scene")
INFOGRAPHICS = ("hero", "benefits", "detail", "scene")


def gallery_texts(params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The title and the benefits (at most five, blanks left out), spaces collapsed."""
    title = " ".join(str(params.get("title") or "").split())
    benefits = tuple(
        " ".join(str(b).split()) for b in params.get("benefits") or () if str(b).strip()
    )
    return title, benefits[:MAX_BENEFITS]


def gallery_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params that decide a gallery, normalised (part of its cache key)."""
    title, benefits = gallery_texts(params)
    return {
        "title": title,
        "benefits": list(benefits),
        "style": _number(params.get("style"), int) or 0,
        "brand": str(params["brand"]).lower() if params.get("brand") else None,
        "share": _share(params.get("share")),
        "font": params.get("font") if params.get("font") in FONTS else None,
    }


def _number(value: Any, kind: type) -> Any:
    try:
        return kind(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _share(value: Any) -> float | None:
    """A set's product share of the card, 0..1 (anything else: the profile's own fill)."""
    share = _number(value, float)
    return round(share, 6) if share is not None and 0.0 < share <= 1.0 else None


class GalleryOperation(Operation):
    """One photo per run; quick lane (no diffusion): a cut, drawing, checks and OCR."""

    name = Op.GALLERY
    lanes = (LANE_QUICK,)
    max_batch = 1

    def __init__(self, checker: CheckOperation, templates_path: Path | None = None) -> None:
        self.checker = checker
        self.templates_path = Path(templates_path or TEMPLATES_PATH)

    # ---- the Operation contract

    def missing_weights(self) -> list[str]:
        """The detector (the self-check reads every slide) and the cut, as for Fix."""
        return self.checker.missing_weights()

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, request.job_id, str(request.image_path))

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        checked = self.checker.cache_identity(params)
        if checked is None:
            return None
        models = list(checked.pop("models"))
        fonts = [find_font(bold) or "-" for _pkg, bold, _m in FONTS.values()]
        return {
            "check": checked,
            "params": gallery_params(params),
            "templates": file_digest(self.templates_path),
            "fonts": fonts,
            "version": GALLERY_VERSION,
            "models": models,
        }

    def warm_up(self) -> None:
        self.checker.warm_up()

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        return each_photo(requests, self.gallery_file, context)

    # ---- the work

    def refuse_texts(self, params: Mapping[str, Any], profile: Profile) -> None:
        """no_text without a title; banned with the profile's banned words, as written."""
        title, benefits = gallery_texts(params)
        if not title:
            raise GalleryRefused("no_text")
        rule = profile.rule("banned_words")
        extra = rule["extra"] if rule else ()
        hits = find_banned([title, *benefits], self.checker.profiles.banned, extra)
        if hits:
            raise GalleryRefused("banned", words=tuple(dict.fromkeys(h.found for h in hits)))

    def cut(
        self, path: Path | str, context: RunContext, photo: str | None
    ) -> tuple[Image.Image, np.ndarray]:
        """The photo (RGB) and its product's alpha: the one cut every slide uses."""
        image = load_rgb(Path(path))
        reading = self.checker.finder.find(image, read=False)  # text is kept out of the cut
        alpha = product_alpha(
            self.checker.cutter,
            image,
            reading,
            source=with_alpha(path, image),
            key=photo or _sha_or_none(path),
            cancelled=context.cancelled,
        )
        if object_mask(alpha).mean() < MIN_PRODUCT:
            raise GalleryRefused("no_product")
        return image, alpha

    def gallery_file(
        self,
        path: Path | str,
        params: Mapping[str, Any],
        context: RunContext,
        *,
        photo: str | None = None,
    ) -> GalleryResult:
        started = time.perf_counter()
        profile = self.checker.profile(params)
        if profile.card is None:  # a hotel site's profile: the bot never asks for one
            raise BadProfile(f"{profile.id} is a hotel site's profile, not a marketplace's")
        self.refuse_texts(params, profile)
        title, benefits = gallery_texts(params)
        wanted = gallery_params(params)
        context.progress(0.05)
        image, alpha = self.cut(path, context, photo)
        if context.cancelled():
            raise JobCancelled("cancelled after the cut")
        seconds = {"cut": time.perf_counter() - started}
        context.progress(0.25)
        rgba = transparent(image, alpha)
        box = rgba.getchannel("A").point(lambda v: 255 if v >= 128 else 0).getbbox()
        cut = rgba.crop(box) if box else rgba
        templates = load_templates(self.templates_path)
        style = make_style(
            wanted["style"], templates, np.asarray(cut), font=wanted["font"], brand=wanted["brand"]
        )
        size = (profile.card.width, profile.card.height)
        page = Page(size, profile.gallery.min_text_px, style, templates, wanted["share"])
        kinds = INFOGRAPHICS if benefits else TITLE_ONLY
        drawn_at = time.perf_counter()
        try:  # everything at boost 0 first: a text too long refuses before any check
            first = {kind: draw_slide(kind, page, cut, title, benefits) for kind in kinds}
        except TooLong as exc:
            raise GalleryRefused("too_long", line=exc.line, limit=exc.limit) from None
        seconds["draw"] = time.perf_counter() - drawn_at
        checker = SelfCheck(self.checker, profile)
        slides: list[GallerySlide] = []
        steps = len(kinds) + (1 if benefits else 0)
        if benefits:
            card = main_card(image, alpha, profile, wanted["share"])
            slides.append(checker.main(card, scaled(context, 0.25, 0.25 + 0.75 / steps)))
        for index, kind in enumerate(kinds):
            done = len(slides)
            stage = scaled(context, 0.25 + 0.75 * done / steps, 0.25 + 0.75 * (done + 1) / steps)

            def redraw(boost: int, kind: str = kind) -> Drawn | None:
                try:
                    return draw_slide(kind, page, cut, title, benefits, boost)
                except TooLong:
                    return None  # bigger text no longer fits: the last drawing stays

            slides.append(checker.infographic(first[kind], redraw, stage, MAX_REDRAWS))
            if context.cancelled():
                raise JobCancelled(f"cancelled after slide {index + 1}")
        seconds["check"] = time.perf_counter() - drawn_at - seconds["draw"]
        seconds["total"] = time.perf_counter() - started
        return GalleryResult(
            profile=profile.id,
            style=style.index,
            title=title,
            benefits=benefits,
            slides=tuple(slides),
            notes=() if benefits else ("title_only",),
            facts={
                "font": style.font,
                "brand": "#{:02x}{:02x}{:02x}".format(*style.brand),
                "variant": style.variant.title_at,
                "scene": style.variant.scene,
                "share": wanted["share"],
                "size": list(size),
                "min_text_px": profile.gallery.min_text_px,
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
            },
        )


def _sha_or_none(path: Any) -> str | None:
    try:
        return sha256_file(path)
    except (OSError, TypeError):
        return None
