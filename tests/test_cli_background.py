"""`vitrina process --background X [--card] -o OUT` writes the result images to OUT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tiny_weights: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("WEIGHTS_DIR", str(tiny_weights))
    monkeypatch.setenv("DEVICE", "cpu")
    monkeypatch.chdir(tmp_path)  # no env/.env of the checkout


def test_process_writes_cards_and_transparent_pngs(
    env: None, tmp_path: Path, photos: dict[str, bytes]
) -> None:
    folder = tmp_path / "in"
    (folder / "more").mkdir(parents=True)
    (folder / "coffee.jpg").write_bytes(photos["coffee"])
    (folder / "more" / "coffee.jpg").write_bytes(photos["chelsea"])  # the same name twice
    out = tmp_path / "out"
    assert main(["process", str(folder), "--background", "pink", "--card", "-o", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert [row["status"] for row in rows] == ["done", "done"]
    written = sorted(p.name for p in out.glob("*.png"))
    assert written == ["coffee-background-2.png", "coffee-background.png"]
    for name in written:
        with Image.open(out / name) as card:
            assert card.size == (900, 1200)
    assert rows[0]["result"]["card"] == "3:4" and rows[0]["result"]["value"] == "#ffc0cb"

    clear = tmp_path / "clear"
    single = folder / "coffee.jpg"
    assert main(["process", str(single), "--background", "прозрачный", "-o", str(clear)]) == 0
    with Image.open(clear / "coffee-background.png") as png, Image.open(single) as source:
        assert png.mode == "RGBA" and png.size == source.size


def test_process_refuses_an_unknown_background(env: None, tmp_path: Path, capsys) -> None:
    image = tmp_path / "x.png"
    Image.new("RGB", (32, 32)).save(image)
    assert main(["process", str(image), "--background", "pnik", "-o", str(tmp_path / "o")]) == 2
    assert "cannot understand 'pnik'" in capsys.readouterr().err
    assert main(["process", str(image), "--card", "-o", str(tmp_path / "o")]) == 2
