"""The self-check before a gallery is sent: every slide through the project's own check
(`CheckOperation.inspect` with the product's mask known from the layout), the main slide
graded clean on a good background, the others good infographics with no failed required
rule, and each drawn line read back by Tesseract at ≥ 90 % character accuracy. A slide
that fails is redrawn (bigger text, plates) at most `redraws` times; what still fails
keeps its reasons."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from PIL import Image

from services.errors import ServiceError
from services.gallery.readback import accuracy
from services.gallery.slides import Drawn
from services.imaging.marketplace_card import CardImage, encode
from services.marketplace.facts import read_facts
from services.marketplace.profiles import Profile
from services.marketplace.summary import CheckSummary
from services.models.ocr_boxes import TextRegion
from services.results.gallery import GallerySlide

if TYPE_CHECKING:
    from services.operations.check import CheckOperation
    from services.operations.context import RunContext

#: the grade behind «Чистое фото, хороший фон» (services/marketplace/grading.py GRADES)
CLEAN_GOOD = "clean_good_background"
GOOD_INFOGRAPHIC = "good_infographic"
MIN_ACCURACY = 0.9


def encoded(image: Image.Image, profile: Profile) -> bytes:
    """The slide's file as it goes to the user: the profile's card format and quality."""
    return encode(image, profile.card.format, profile.card.quality)


def region(box: tuple[int, int, int, int]) -> TextRegion:
    left, top, right, bottom = box
    points = ((left, top), (right, top), (right, bottom), (left, bottom))
    return TextRegion(points, 1.0, box)  # type: ignore[arg-type]


def failed_rules(summary: CheckSummary) -> list[str]:
    return [f"rule:{r.rule}" for r in summary.failures if r.level == "required"]


class SelfCheck:
    def __init__(self, checker: CheckOperation, profile: Profile) -> None:
        self.checker = checker
        self.profile = profile

    def main(self, card: CardImage, context: RunContext) -> GallerySlide:
        with Image.open(io.BytesIO(card.data)) as opened:
            image = opened.convert("RGB")
        summary = self.checker.inspect(
            read_facts(card.data), image, self.profile, context, mask=card.mask
        )
        reasons = failed_rules(summary)
        if summary.grade != CLEAN_GOOD:
            reasons.insert(0, f"grade:{summary.grade}")
        return GallerySlide(
            "main", image, card.data, summary.grade, not reasons, None, tuple(reasons)
        )

    def read_back(self, drawn: Drawn) -> tuple[float | None, list[str]]:
        """The lowest accuracy of the drawn lines, and the lines read below MIN_ACCURACY."""
        reader = self.checker.finder.reader
        if not drawn.ledger.lines:
            return None, []
        if reader is None or not reader.available:
            return None, ["unread"]
        try:
            words = reader.read(drawn.image, [region(b) for b in drawn.ledger.boxes])
        except ServiceError:
            return None, ["unread"]
        found: dict[int, list[str]] = {}
        for word in words:
            found.setdefault(word.region, []).append(word.text)
        scores = [
            accuracy(line, " ".join(found.get(i, []))) for i, line in enumerate(drawn.ledger.lines)
        ]
        low = [
            f"unread_line:{drawn.ledger.lines[i]}"
            for i, s in enumerate(scores)
            if s < MIN_ACCURACY
        ]
        return round(min(scores), 4), low

    def judge(self, drawn: Drawn, context: RunContext) -> GallerySlide:
        data = encoded(drawn.image, self.profile)
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")  # what the user gets, JPEG artefacts and all
        summary = self.checker.inspect(
            read_facts(data), image, self.profile, context, mask=drawn.mask
        )
        reasons = failed_rules(summary)
        if summary.grade != GOOD_INFOGRAPHIC:
            reasons.insert(0, f"grade:{summary.grade}")
        score, unread = self.read_back(Drawn(drawn.kind, image, drawn.mask, drawn.ledger))
        reasons += unread
        return GallerySlide(
            drawn.kind,
            image,
            data,
            summary.grade,
            not reasons,
            score,
            tuple(reasons),
            0,
            tuple(drawn.ledger.boxes),  # one per line, as `lines`
            tuple(drawn.ledger.lines),
        )

    def infographic(
        self,
        first: Drawn,
        redraw: Callable[[int], Drawn | None],
        context: RunContext,
        redraws: int,
    ) -> GallerySlide:
        """`first` checked; while it fails, redrawn with boost 1, 2 (at most `redraws`)."""
        slide = self.judge(first, context)
        boost = 0
        while not slide.passed and boost < redraws:
            again = redraw(boost + 1)
            if again is None:
                break
            boost += 1
            slide = self.judge(again, context)
            slide.redraws = boost
        return slide
