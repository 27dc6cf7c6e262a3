"""Two photos of a batch at once (services/operations/side_by_side.py, issue 31 C1): they
really overlap, only the serving thread runs other jobs between steps, each photo keeps its
own outcome and progress is the batch's mean; Fix batches its quick-lane photos by two and
gives each the card it gives alone."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from services.config import ServiceConfig
from services.errors import BadImage
from services.jobs import JobRequest
from services.models.clip import ClipTagger
from services.models.inpaint import BackgroundPainter
from services.models.residency import ModelResidency
from services.operations import LANE_DIFFUSION, Op, RunContext
from services.operations.cutout import ObjectCutter
from services.operations.side_by_side import PHOTOS_AT_ONCE, side_by_side
from services.results import ImageResult
from services.wiring import marketplace_operations
from tests.marketplace_photos import draw_clean_bad_background, draw_good_infographic


def requests(count: int, tmp_path: Path) -> list[JobRequest]:
    return [JobRequest("fix", 1, tmp_path / f"{i}.jpg", {"i": i}) for i in range(count)]


def test_the_photos_of_a_batch_overlap(tmp_path: Path) -> None:
    started = [threading.Event(), threading.Event()]

    def work(path: Path, params: dict, context: RunContext, *, photo: str | None) -> int:
        index = params["i"]
        started[index].set()
        # each waits for the other to have started: one at a time would never get here
        assert started[1 - index].wait(timeout=60), "the photos ran one after the other"
        return index

    context = RunContext(lambda *a: None, lambda: False)
    assert side_by_side(requests(2, tmp_path), work, context) == [0, 1]


def test_only_the_serving_thread_runs_jobs_between_steps(tmp_path: Path) -> None:
    serving = threading.current_thread()
    ran_on: list[threading.Thread] = []
    reports: list[float] = []
    lock = threading.Lock()

    def work(path: Path, params: dict, context: RunContext, *, photo: str | None) -> object:
        context.progress(0.5)
        context.cancelled()
        context.progress(1.0)
        if params["i"] == 1:
            raise BadImage("not a photo")
        return params["i"]

    def between_steps() -> None:
        ran_on.append(threading.current_thread())

    def report(fraction: float, step: int | None, total: int | None) -> None:
        with lock:
            reports.append(fraction)

    context = RunContext(report, lambda: False, between_steps)
    outcomes = side_by_side(requests(3, tmp_path), work, context)
    assert outcomes[0] == 0 and outcomes[2] == 2
    assert isinstance(outcomes[1], BadImage)  # that photo's own outcome; the others go on
    assert ran_on == [serving]
    assert all(0.0 < r <= 1.0 for r in reports) and max(reports) == 1.0
    assert reports[-1] == 1.0 or sorted(reports)[-1] == 1.0


def test_a_lone_photo_runs_on_the_serving_thread(tmp_path: Path) -> None:
    threads: list[threading.Thread] = []

    def work(path: Path, params: dict, context: RunContext, *, photo: str | None) -> int:
        threads.append(threading.current_thread())
        return 7

    context = RunContext(lambda *a: None, lambda: False)
    assert side_by_side(requests(1, tmp_path), work, context) == [7]
    assert threads == [threading.current_thread()]


@pytest.fixture(scope="module")
def fix_ops(tiny_weights: Path) -> dict:
    config = ServiceConfig(weights_dir=tiny_weights, background_steps=2)
    residency = ModelResidency.from_gb(0, 0)
    cutter = ObjectCutter(tiny_weights)
    tagger = ClipTagger(tiny_weights / "clip")
    plain = marketplace_operations(config, residency, cutter, tagger, None)
    painter = BackgroundPainter(tiny_weights / "inpaint")
    painted = marketplace_operations(config, residency, cutter, tagger, painter)
    return {"plain": plain[Op.FIX], "painted": painted[Op.FIX]}


def test_fix_batches_its_quick_photos_by_two(fix_ops: dict, tmp_path: Path) -> None:
    fix = fix_ops["plain"]
    assert fix.max_batch == PHOTOS_AT_ONCE == 2
    wb = JobRequest("fix", 1, tmp_path / "a.jpg", {"profile": "wb"}, job_id=1)
    ozon = JobRequest("fix", 2, tmp_path / "b.jpg", {"profile": "ozon"}, job_id=2)
    assert fix.batch_key(wb) == fix.batch_key(ozon)
    painted = fix_ops["painted"]  # with SD, WB's text-free main photo is a diffusion
    heavy = [
        JobRequest("fix", 1, tmp_path / f"{i}.jpg", {"profile": "wb"}, job_id=i) for i in (1, 2)
    ]
    assert painted.lane(heavy[0]) == LANE_DIFFUSION != fix.lane(wb)
    assert painted.batch_key(heavy[0]) != painted.batch_key(heavy[1])


def test_two_cards_at_once_are_the_cards_made_alone(fix_ops: dict, tmp_path: Path) -> None:
    fix = fix_ops["plain"]
    paths = []
    for index, photo in enumerate([draw_clean_bad_background(3), draw_good_infographic(1)]):
        path = tmp_path / f"photo-{index}.jpg"
        photo.image.resize((480, 640)).save(path, quality=92)
        paths.append(path)
    batch = [JobRequest("fix", 1, path, {"profile": "wb"}) for path in paths]
    context = RunContext(lambda *a: None, lambda: False)
    together = fix.run(batch, context)
    alone = [fix.run([request], context)[0] for request in batch]
    for pair, single in zip(together, alone, strict=True):
        assert isinstance(pair, ImageResult) and isinstance(single, ImageResult)
        assert np.array_equal(np.asarray(pair.image), np.asarray(single.image))
        assert pair.facts["profile"] == single.facts["profile"] == "wb"
