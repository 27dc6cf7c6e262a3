"""`vitrina process DIR --gallery wb --texts texts.csv -o OUT`: each photo's slides as
OUT/<name>/01-main.jpg… (tiny weights: the plumbing, the sizes and the rows)."""

from __future__ import annotations

import csv
import io
import json
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


def test_gallery_with_texts_writes_a_folder_of_slides_per_photo(env: None, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    DRAW["clean_good_background"](1).image.save(folder / "mug.jpg", quality=92)
    DRAW["clean_good_background"](2).image.save(folder / "vase.jpg", quality=92)
    texts = tmp_path / "texts.csv"
    texts.write_text(
        "file,title,benefits\n"
        "mug.jpg,Кружка керамическая,Объём 350 мл|Можно в посудомойку|Не нагревается\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["process", str(folder), "--gallery", "wb", "--texts", str(texts), "-o", str(out)]
    assert main(args) == 0
    slides = sorted(p.name for p in (out / "mug").iterdir())
    assert slides == [
        "01-main.jpg",
        "02-hero.jpg",
        "03-benefits.jpg",
        "04-detail.jpg",
        "05-scene.jpg",
    ]
    for name in slides:
        with Image.open(out / "mug" / name) as slide:
            assert slide.format == "JPEG" and slide.size == (1200, 1600)
    rows = {row["file"]: row for row in json.loads((out / "results.json").read_text())}
    mug, vase = rows[str(folder / "mug.jpg")], rows[str(folder / "vase.jpg")]
    assert mug["status"] == "done" and mug["kind"] == "gallery"
    assert mug["result"]["title"] == "Кружка керамическая"
    assert vase["status"] == "failed" and "no_text" in vase["error"]  # not in texts.csv
    table = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert any(row["grade"].startswith("main: ") for row in table)


def test_texts_without_gallery_is_refused(env: None, tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    DRAW["clean_good_background"](1).image.save(image)
    assert main(["process", str(image), "--texts", "t.csv", "-o", str(tmp_path / "o")]) == 2
