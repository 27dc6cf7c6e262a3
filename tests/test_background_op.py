"""BackgroundOperation on synthetic cuts (exact masks) and the tiny inpainting pipeline.

The cut here comes from `MaskCutter`, a stand-in for the ObjectCutter that returns known
masks so the pixels can be checked exactly; the real cutter runs in test_e2e_background.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.errors import JobCancelled, ModelUnavailable
from services.models.inpaint import BackgroundPainter
from services.operations import RunContext
from services.operations.background import BackgroundOperation, BadBackground
from services.weights.digest import sha256_file

W, H = 120, 90


@dataclass(frozen=True)
class Cut:
    alpha: np.ndarray
    candidate: int
    candidates: int
    source: str = "synthetic"
    foreground_share: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


class MaskCutter:
    """Two known objects: candidate 0 is the big square, candidate 1 the small one."""

    def __init__(self) -> None:
        big = np.zeros((H, W), np.float32)
        big[20:70, 20:70] = 1.0
        small = np.zeros((H, W), np.float32)
        small[30:50, 85:105] = 1.0
        self.masks = [big, small]
        self.calls: list[tuple[int, str | None]] = []

    def missing_weights(self) -> list[str]:
        return []

    def warm_up(self) -> None:
        pass

    def cut(self, image, *, candidate=0, cache_key=None, cancelled=None) -> Cut:
        self.calls.append((candidate, cache_key))
        index = candidate % len(self.masks)
        alpha = self.masks[index]
        return Cut(alpha, index, len(self.masks), foreground_share=float(alpha.mean()))


class Context(RunContext):
    def __init__(self, cancel_after_notes: int | None = None) -> None:
        self.notes: list[tuple[float, tuple[int, int] | None]] = []  # (fraction, (step, total))
        self.cancel_after = cancel_after_notes
        super().__init__(report=self._report, is_cancelled=self._cancelled)

    def _report(self, fraction: float, step: int | None, total: int | None) -> None:
        self.notes.append((fraction, None if step is None or total is None else (step, total)))

    def _cancelled(self) -> bool:
        steps = sum(1 for _, note in self.notes if note)
        return self.cancel_after is not None and steps >= self.cancel_after


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)  # every pixel distinct-ish
    path = tmp_path_factory.mktemp("photo") / "product.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def painter(tiny_weights: Path) -> BackgroundPainter:
    return BackgroundPainter(tiny_weights / "inpaint")  # loaded by the production loader


def run(op: BackgroundOperation, photo: Path, context: RunContext | None = None, **params):
    return op.make(photo, params, context or Context())


def test_colour_keeps_the_object_and_the_size(photo: Path) -> None:
    cutter = MaskCutter()
    op = BackgroundOperation(cutter)
    result = run(op, photo, kind="colour", value="#ffc0cb", name="pink")
    out, source = np.asarray(result.image), np.asarray(Image.open(photo))
    assert result.image.size == (W, H) and result.image.mode == "RGB" and not result.document
    assert np.array_equal(out[22:68, 22:68], source[22:68, 22:68])
    assert (out[:5, :5] == (255, 192, 203)).all() and (out[:5, -5:] == (255, 192, 203)).all()
    assert result.facts["candidate"] == 0 and result.facts["candidates"] == 2
    assert result.facts["name"] == "pink" and cutter.calls == [(0, sha256_file(photo))]


def test_wrong_object_cuts_the_other_candidate(photo: Path) -> None:
    op = BackgroundOperation(MaskCutter())
    first = np.asarray(run(op, photo, kind="colour", value="#ffffff", shadow=False).image)
    second = run(op, photo, kind="colour", value="#ffffff", shadow=False, candidate=1)
    out, source = np.asarray(second.image), np.asarray(Image.open(photo))
    assert second.facts["candidate"] == 1
    assert (out[40, 40] == 255).all() and np.array_equal(out[35:45, 90:100], source[35:45, 90:100])
    assert not np.array_equal(first, out)


def test_transparent_and_card_are_documents(photo: Path) -> None:
    op = BackgroundOperation(MaskCutter())
    clear = run(op, photo, kind="transparent")
    assert clear.document and clear.image.mode == "RGBA" and clear.image.size == (W, H)
    alpha = np.asarray(clear.image.getchannel("A"))
    assert alpha[45, 45] == 255 and alpha[5, 5] == 0
    card = run(op, photo, kind="preset", value="marble", card="3:4")
    assert card.document and card.image.size == (900, 1200) and card.facts["card"] == "3:4"
    square = run(op, photo, kind="transparent", card="1:1")
    box = np.argwhere(np.asarray(square.image.getchannel("A")) > 0)
    top, left = box.min(axis=0)
    bottom, right = box.max(axis=0) + 1
    assert square.image.size == (1200, 1200)
    assert min(top, left, 1200 - bottom, 1200 - right) >= 90  # the margin
    assert abs((top + bottom) / 2 - 600) <= 2 and abs((left + right) / 2 - 600) <= 2


def test_presets_gradients_and_photo_backgrounds(photo: Path, tmp_path: Path) -> None:
    op = BackgroundOperation(MaskCutter())
    one = run(op, photo, kind="preset", value="wood", seed=3).image
    again = run(op, photo, kind="preset", value="wood", seed=3).image
    assert np.array_equal(np.asarray(one), np.asarray(again))
    fade = np.asarray(run(op, photo, kind="gradient", colours=["#ff0000", "#0000ff"]).image)
    assert fade[0, 0, 0] > 240 and fade[-1, 0, 2] > 240
    scenery = tmp_path / "scenery.png"
    Image.new("RGB", (400, 100), (10, 120, 230)).save(scenery)
    placed = run(op, photo, kind="photo", background_path=str(scenery))
    assert placed.image.size == (W, H)
    assert (np.asarray(placed.image)[:5, :5] == (10, 120, 230)).all()
    with pytest.raises(BadBackground):
        run(op, photo, kind="photo")
    with pytest.raises(BadBackground):
        run(op, photo, kind="preset", value="lava")
    with pytest.raises(BadBackground):
        run(op, photo, kind="sparkles")
    with pytest.raises(BadBackground, match="3:4"):
        run(op, photo, kind="colour", value="#ffffff", card="16:9")


def test_prompt_repaints_around_the_object_and_keeps_its_pixels(
    photo: Path, painter: BackgroundPainter
) -> None:
    asked: list[str] = []

    def translate(text: str) -> str:
        asked.append(text)
        return "on a marble table"

    op = BackgroundOperation(
        MaskCutter(), painter, steps=2, work_side=32, translate_to_english=translate
    )
    context = Context()
    result = run(op, photo, context, kind="prompt", value="на мраморном столе", seed=7)
    out, source = np.asarray(result.image), np.asarray(Image.open(photo))
    assert result.image.size == (W, H)
    assert np.array_equal(out[22:68, 22:68], source[22:68, 22:68])  # the object, exactly
    assert not np.array_equal(out[:10, :10], source[:10, :10])  # the rest repainted
    assert asked == ["на мраморном столе"] and result.facts["prompt_en"] == "on a marble table"
    notes = [note for _, note in context.notes if note]
    assert notes and all(0 < step <= total for step, total in notes)
    assert notes[0][0] == 1
    fractions = [f for f, _ in context.notes]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    same = run(op, photo, kind="prompt", value="на мраморном столе", seed=7)
    assert np.array_equal(np.asarray(same.image), out)  # seeded


def test_prompt_cancel_lands_within_one_step(photo: Path, painter: BackgroundPainter) -> None:
    op = BackgroundOperation(MaskCutter(), painter, steps=6, work_side=32)
    context = Context(cancel_after_notes=1)
    with pytest.raises(JobCancelled):
        run(op, photo, context, kind="prompt", value="a sunny beach")
    assert sum(1 for _, note in context.notes if note) == 1


def test_availability_of_a_prompt_without_the_inpainting_weights(
    photo: Path, tmp_path: Path
) -> None:
    painter = BackgroundPainter(tmp_path / "inpaint")
    op = BackgroundOperation(MaskCutter(), painter, painter_missing=lambda: ["inpaint"])
    assert op.missing_weights() == []
    assert op.missing_weights_for({"kind": "colour"}) == []
    assert op.missing_weights_for({"kind": "prompt", "value": "on a table"}) == ["inpaint"]
    cutter = op.cutter
    calls = len(cutter.calls)
    with pytest.raises(ModelUnavailable, match="inpaint"):
        run(op, photo, kind="prompt", value="on a table")
    assert len(cutter.calls) == calls  # refused before cutting
    assert run(op, photo, kind="colour", value="#000000").image.size == (W, H)


@pytest.mark.parametrize(
    ("size", "work"),
    [((4000, 3000), (512, 384)), ((90, 120), (384, 512)), ((1000, 333), (512, 168))],
)
def test_working_size_keeps_the_aspect_in_multiples_of_8(size, work) -> None:
    assert BackgroundOperation(MaskCutter()).working_size(size) == work


def test_a_transparent_png_guides_the_real_cutter(tiny_weights: Path, tmp_path: Path) -> None:
    """The real ObjectCutter (tiny ISNet + SAM: noisy cuts) is handed the file's own alpha,
    so whatever it cuts, the transparent surround becomes the new colour."""
    from services.operations.cutout import ObjectCutter

    pixels = np.zeros((90, 120, 4), np.uint8)
    pixels[20:70, 30:90] = (200, 50, 50, 255)
    path = tmp_path / "cut-before.png"
    Image.fromarray(pixels, "RGBA").save(path)
    op = BackgroundOperation(ObjectCutter(tiny_weights))
    result = run(op, path, kind="colour", value="#00ff00", shadow=False)
    out = np.asarray(result.image)
    assert result.facts["source"].endswith("alpha-hint")
    assert (out[:10] == (0, 255, 0)).all() and (out[:, :15] == (0, 255, 0)).all()
