"""`vitrina process DIR --check [--profile P]` grades a catalogue into OUT/check.csv;
`--fix P` writes OUT/<name>-fix-<P>.jpg (tiny weights: the plumbing and the file rules)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from tests.marketplace_photos import DRAW


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tiny_weights: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("WEIGHTS_DIR", str(tiny_weights))
    monkeypatch.setenv("DEVICE", "cpu")
    monkeypatch.setenv("MODEL_WORKER", "thread")
    monkeypatch.chdir(tmp_path)  # no env/.env of the checkout


def catalogue(folder: Path) -> Path:
    folder.mkdir(parents=True)
    DRAW["good_infographic"](0).image.save(folder / "info.jpg", quality=92)
    DRAW["clean_good_background"](0).image.resize((600, 400)).save(folder / "small.png")
    return folder


def test_check_writes_one_row_per_photo_with_each_rule(env: None, tmp_path: Path) -> None:
    folder = catalogue(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["process", str(folder), "--check", "--profile", "озон", "-o", str(out)]) == 0
    with (out / "check.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(row["file"]).name for row in rows] == ["info.jpg", "small.png"]
    info, small = rows
    assert {info["profile"], small["profile"]} == {"ozon"}
    for row in rows:
        assert row["status"] == "done" and row["grade"] in (
            "good_infographic",
            "bad_infographic",
            "other_infographic",
            "clean_good_background",
            "clean_bad_background",
        )
        assert row["deciding"]  # the signals that decided it, with their values
    assert (small["min_size"], small["min_size_value"]) == ("fail", "600×400")
    assert (small["aspect"], small["aspect_value"]) == ("fail", "3:2")
    assert (info["formats"], info["formats_value"]) == ("pass", "JPEG")
    assert small["jpeg_quality"] == "-"  # not measured on a PNG
    assert {"text", "banned", "banned_words", "object_fill_value"} <= set(info)


def test_fix_writes_the_cards(env: None, tmp_path: Path) -> None:
    folder = catalogue(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["process", str(folder), "--fix", "wb", "-o", str(out)]) == 0
    written = sorted(p.name for p in out.glob("*.jpg"))
    assert written == ["info-fix-wb.jpg", "small-fix-wb.jpg"]
    for name in written:
        card = Image.open(io.BytesIO((out / name).read_bytes()))
        assert card.format == "JPEG" and card.size == (1200, 1600) and card.mode == "RGB"
    assert not (out / "check.csv").exists()


def test_unknown_marketplaces_are_refused(env: None, tmp_path: Path, capsys) -> None:
    image = tmp_path / "x.png"
    Image.new("RGB", (64, 64)).save(image)
    out = str(tmp_path / "o")
    assert main(["process", str(image), "--check", "--profile", "amazon", "-o", out]) == 2
    assert (
        "--check: unknown marketplace or hotel site 'amazon'; known: wb, ozon, ym, generic, "
        "booking, ostrovok, vrbo, expedia, tripadvisor, airbnb, hotel"
    ) in capsys.readouterr().err
    assert main(["process", str(image), "--fix", "ebay", "-o", out]) == 2
    assert main(["process", str(image), "--profile", "wb", "-o", out]) == 2  # without --check
