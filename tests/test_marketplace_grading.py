"""The grade of generated photos whose truth is known (tests/marketplace_photos.py), fed
the text boxes and the product mask that were drawn; the signals behind it; the scoring
file's checks."""

from __future__ import annotations

import copy
import io
import tomllib

import numpy as np
import pytest
from PIL import Image

from services.marketplace.check import check
from services.marketplace.facts import read_facts
from services.marketplace.grading import (
    DEFAULT_PATH,
    GRADES,
    INFOGRAPHICS,
    grade,
    load_grading,
    parse_grading,
)
from services.marketplace.profiles import load_profiles
from services.marketplace.schema import DataError
from services.marketplace.signals import (
    TextBox,
    background_class,
    count_colours,
    measure,
    text_place,
)
from tests.marketplace_photos import DRAW, draw_clean_good_background, photo_set

#: Features that may decide each grade (one of them must be among the top three).
EXPECTED_REASONS = {
    "good_infographic": {"much_text", "text_large", "text_clear", "has_text"},
    "bad_infographic": {"text_small", "text_faint", "many_colours", "many_labels"},
    "other_infographic": {"little_text", "one_line"},
    "clean_good_background": {"no_text", "bg_even", "bg_light", "fill_ok"},
    "clean_bad_background": {"bg_busy", "bg_uneven", "bg_dark", "bg_coloured"},
}


def _graded(photo, profile="wb"):
    signals = measure(photo.array, photo.object_mask, photo.boxes)
    return signals, grade(signals, load_profiles().get(profile))


@pytest.mark.parametrize("grade_id", GRADES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_each_drawn_grade_is_graded_as_drawn(grade_id: str, seed: int) -> None:
    photo = DRAW[grade_id](seed)
    _, result = _graded(photo)
    assert result.label == grade_id, (result.scores, result.deciding)
    assert result.scores[grade_id] == max(result.scores.values()) or result.rule
    top = {c.feature for c in result.deciding[:3]}
    assert top & EXPECTED_REASONS[grade_id], [c.feature for c in result.deciding]
    contributions = [abs(c.contribution) for c in result.deciding]
    assert contributions == sorted(contributions, reverse=True)


def test_the_deciding_signals_carry_their_values() -> None:
    photo = DRAW["bad_infographic"](5)
    signals, result = _graded(photo)
    small = next(c for c in result.deciding if c.feature == "text_small")
    assert small.signal == "text_small" and small.value == signals.text_small > 0.5
    assert small.evidence == pytest.approx(
        load_grading().features["text_small"].evidence(small.value)
    )
    assert small.contribution == pytest.approx(small.weight * small.evidence)


def test_a_confusion_table_of_a_larger_set_is_diagonal() -> None:
    wrong = [
        (photo.grade, photo.seed, result.label)
        for photo in photo_set(per_grade=6, seed=40)
        for _, result in [_graded(photo)]
        if result.label != photo.grade
    ]
    assert wrong == []


def test_no_text_is_never_an_infographic_whatever_the_weights() -> None:
    document = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    document["grades"]["other_infographic"]["bias"] = 50.0
    biased = parse_grading(document)
    photo = DRAW["clean_bad_background"](1)
    signals = measure(photo.array, photo.object_mask, photo.boxes)
    result = grade(signals, grading=biased)
    assert result.scores["other_infographic"] > 40
    assert result.label == "clean_bad_background" and result.rule == "no_text"
    assert not result.infographic


def test_plain_white_within_the_range_is_clean_good_background() -> None:
    photo = draw_clean_good_background(2, fill=0.85)
    _, result = _graded(photo)
    assert result.label == "clean_good_background"
    assert result.rule == "plain_light_background"
    # too small for the profile's range: the scores decide (still a good background)
    small = draw_clean_good_background(2, fill=0.4)
    signals, result = _graded(small)
    assert signals.object_fill == pytest.approx(0.4, abs=0.02)
    assert result.rule == "no_text" and result.label == "clean_good_background"


def test_text_on_the_product_itself_is_not_an_infographic() -> None:
    photo = draw_clean_good_background(3, fill=0.85)
    ys, xs = np.nonzero(photo.object_mask)
    cx, cy = int(xs.mean()), int(ys.mean())
    label = TextBox((cx - 40, cy - 10, cx + 40, cy + 10), "Arabica", 0.9)
    signals = measure(photo.array, photo.object_mask, [label])
    assert signals.text_count == 1 and signals.text_outside == 0
    assert signals.boxes[0].place == "over_product"
    assert grade(signals).label == "clean_good_background"


def test_clip_is_one_more_signal() -> None:
    photo = DRAW["good_infographic"](0)
    plain = measure(photo.array, photo.object_mask, photo.boxes)
    with_clip = measure(photo.array, photo.object_mask, photo.boxes, clip={"bad_infographic": 0.9})
    before, after = grade(plain), grade(with_clip)
    assert after.scores["bad_infographic"] == pytest.approx(before.scores["bad_infographic"] + 1)
    assert after.scores["good_infographic"] == before.scores["good_infographic"]
    assert "clip_bad_infographic" in with_clip.values()


def test_signals_of_a_known_picture() -> None:
    image = np.full((400, 300, 3), 255, np.uint8)
    mask = np.zeros((400, 300), bool)
    mask[50:350, 60:240] = True  # 180×300: spans 75 % of the height
    image[mask] = (40, 90, 160)
    image[10:40, 20:120] = (20, 20, 20)  # a dark plate with white "text"
    image[18:32, 30:110:6] = 250
    box = TextBox((20, 10, 120, 40), "Бренд")
    signals = measure(image, mask, [box])
    assert signals.object_fill == pytest.approx(0.75)
    assert signals.object_share == pytest.approx(180 * 300 / (300 * 400))
    assert signals.touches_border == 0
    assert signals.background_class == "white"
    assert signals.background_std < 1 and signals.background_edges == 0
    assert signals.text_height == pytest.approx(30 / 400)
    assert signals.text_contrast > 200
    assert signals.boxes[0].place == "top"
    assert signals.label_colours == 2
    cut = np.zeros((400, 300), bool)
    cut[200:, :] = True  # the product runs off the bottom and both sides
    assert measure(image, cut).touches_border == 3


def test_signals_do_not_depend_on_the_resolution() -> None:
    photo = DRAW["bad_infographic"](2, (600, 800))
    big = photo.image.resize((1800, 2400), Image.Resampling.LANCZOS)
    mask = np.asarray(
        Image.fromarray(photo.object_mask).resize((1800, 2400), Image.Resampling.NEAREST)
    )
    boxes = [TextBox(tuple(3 * v for v in b.bbox), b.text) for b in photo.boxes]
    small, large = (
        measure(photo.array, photo.object_mask, photo.boxes),
        measure(np.asarray(big), mask, boxes),
    )
    assert large.width == 1800
    assert large.text_height == pytest.approx(small.text_height, rel=0.05)
    assert large.text_share == pytest.approx(small.text_share, rel=0.1)
    assert large.object_fill == pytest.approx(small.object_fill, rel=0.02)
    assert grade(large).label == grade(small).label == "bad_infographic"


def test_helpers() -> None:
    assert background_class(99, 1) == "white"
    assert background_class(85, 3) == "light"
    assert background_class(40, 5) == "neutral"
    assert background_class(60, 40) == "colour"
    assert count_colours([(255, 255, 255), (250, 250, 252), (0, 0, 0), (200, 30, 30)]) == 3
    mask = np.zeros((100, 100), bool)
    mask[40:90, 30:70] = True
    assert text_place((35, 50, 65, 60), mask, 100) == "over_product"
    assert text_place((0, 5, 20, 15), mask, 100) == "top"
    assert text_place((0, 85, 20, 95), mask, 100) == "bottom"


def test_the_check_report_in_one_call() -> None:
    photo = DRAW["good_infographic"](1)
    photo.boxes[0] = TextBox(photo.boxes[0].bbox, "ХИТ ПРОДАЖ", 0.9)
    buffer = io.BytesIO()
    photo.image.save(buffer, "JPEG", quality=90)
    report = check(read_facts(buffer.getvalue()), photo.array, photo.object_mask, photo.boxes)
    assert report.profile.id == load_profiles().default
    assert report.grade.label == "good_infographic"
    failed = {r.rule for r in report.failures}
    assert {"min_size", "text", "banned_words"} <= failed
    assert report.texts[0].place == "top" and not report.texts[0].own_print
    assert [hit.found for hit in report.banned] == ["ХИТ ПРОДАЖ"]
    assert report.failures[0].level == "required"


def test_the_packaged_grading_file_and_its_checks() -> None:
    grading = load_grading()
    assert set(grading.weights) == set(GRADES)
    assert set(INFOGRAPHICS) < set(GRADES)
    document = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    cases = [
        (lambda d: d["features"]["has_text"].update(signal="text_cnt"), "unknown signal"),
        (lambda d: d["features"]["has_text"].update(ramp=[1, 1]), "the two ends must differ"),
        (lambda d: d["grades"]["bad_infographic"].update(shiny=1.0), "unknown feature 'shiny'"),
        (lambda d: d["grades"].pop("other_infographic"), "must have exactly"),
        (lambda d: d["hard"].update(plain_backgrounds=["pink"]), "unknown background 'pink'"),
        (lambda d: d["hard"].update(extra=1), "unknown key 'extra'"),
    ]
    for change, message in cases:
        broken = copy.deepcopy(document)
        change(broken)
        with pytest.raises(DataError, match=message):
            parse_grading(broken)


def test_the_photos_are_seeded_and_a_missing_mask_is_no_evidence() -> None:
    for grade_id, draw in DRAW.items():
        first, again = draw(7), draw(7)
        assert np.array_equal(first.array, again.array), grade_id
        assert np.array_equal(first.object_mask, again.object_mask)
        assert [b.bbox for b in first.boxes] == [b.bbox for b in again.boxes]
    photo = DRAW["clean_bad_background"](0)
    signals = measure(photo.array, None, [])
    result = grade(signals)
    assert signals.object_share == 0 and result.label in (
        "clean_good_background",
        "clean_bad_background",
    )
    assert all(c.signal != "fill_gap" for c in result.deciding)
