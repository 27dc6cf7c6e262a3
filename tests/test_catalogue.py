"""The catalogue look: the objects of a set's cards have the same height share of the card
and the same centre, whatever their size and place in the photos (services/catalogue.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import main
from services.imaging.card import CARD_SIZES, MARGIN_SHARE, alpha_bbox, catalogue_share, place
from tests.set_photos import product_photo


def card_box(card: Image.Image) -> tuple[float, float, float]:
    """(object height share of the card, centre x, centre y) from the card's alpha."""
    box = alpha_bbox(np.asarray(card.getchannel("A")))
    assert box is not None, "an empty card"
    left, top, right, bottom = box
    return (bottom - top) / card.height, (left + right) / 2, (top + bottom) / 2


def assert_one_look(boxes: list[tuple[float, float, float]], size: tuple[int, int]) -> None:
    shares = [share for share, _, _ in boxes]
    assert max(shares) - min(shares) <= 0.02 * max(shares), shares  # within 2 %
    for axis, side in ((1, size[0]), (2, size[1])):
        centres = [box[axis] for box in boxes]
        assert max(centres) - min(centres) <= 0.005 * side, centres  # the same centre


def test_one_share_fits_every_object_and_places_them_alike() -> None:
    objects = []
    for width, height in ((40, 300), (300, 80), (120, 120), (10, 12)):
        rgba = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
        rgba.paste(Image.new("RGBA", (width, height), (200, 0, 0, 255)), (5, 7))
        objects.append(rgba)
    size = CARD_SIZES["3:4"]
    share = catalogue_share([40 / 300, 300 / 80, 1.0, 10 / 12], size)
    # the widest object decides: it just fits between the side margins
    assert share == pytest.approx(size[0] * (1 - 2 * MARGIN_SHARE) / (300 / 80) / size[1])
    cards = [place(rgba, size, height_share=share) for rgba in objects]
    assert_one_look([card_box(card) for card in cards], size)
    for card in cards:  # and nothing is cut off: every object inside the margins
        left, top, right, bottom = alpha_bbox(np.asarray(card.getchannel("A")))  # type: ignore[misc]
        assert left >= size[0] * MARGIN_SHARE - 1 and right <= size[0] * (1 - MARGIN_SHARE) + 1
    assert catalogue_share([], size) == pytest.approx(1 - 2 * MARGIN_SHARE)


def test_vitrina_process_lays_a_series_of_cards_out_as_one_catalogue(
    monkeypatch: pytest.MonkeyPatch, tiny_weights: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("WEIGHTS_DIR", str(tiny_weights))
    monkeypatch.setenv("DEVICE", "cpu")
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(6):
        (folder / f"item-{index}.png").write_bytes(product_photo(index * 7))
    out = tmp_path / "out"
    args = ["process", str(folder), "--background", "transparent", "--card", "-o", str(out)]
    assert main(args) == 0
    rows = json.loads((out / "results.json").read_text())
    assert [row["status"] for row in rows] == ["done"] * 6
    shares = {row["result"]["card_share"] for row in rows}
    assert len(shares) == 1  # one scale for the whole series
    boxes = []
    for row in rows:
        with Image.open(row["output"]) as card:
            assert card.size == (900, 1200) and card.mode == "RGBA"
            boxes.append(card_box(card))
    assert_one_look(boxes, (900, 1200))
    with (out / "results.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == [
        "file",
        "op",
        "status",
        "tags",
        "description",
        "grade",
        "note",
        "result_file",
        "error",
    ]
    assert [row["result_file"] for row in table] == [f"item-{i}-background.png" for i in range(6)]


def test_a_sets_galleries_share_one_brand_colour_unless_the_user_chose_one() -> None:
    from services.catalogue import shared_params
    from services.results import ObjectMeasure

    measures = [
        ObjectMeasure(100, 200, 400, 400, "#aa2211"),
        ObjectMeasure(100, 150, 400, 400, None),  # a grey product: no colour of its own
        ObjectMeasure(120, 200, 400, 400, "#2255aa"),
        ObjectMeasure(120, 200, 400, 400, "#2255aa"),
    ]
    shared = shared_params({"profile": "wb"}, iter(measures))  # any iterable, read once
    assert shared["brand"] == "#2255aa" and 0 < shared["share"] < 1
    assert "brand" not in shared_params({"profile": "wb", "brand": "#000000"}, measures)
    assert "brand" not in shared_params({"profile": "wb"}, [ObjectMeasure(1, 1, 4, 4)])
