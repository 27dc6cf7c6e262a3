"""The hotelier's operations that change or describe a room photo (issue 29) on tiny weights
and the real Tesseract: "Fix for Booking", straighten, enhance, room (tiny CLIP), and
`vitrina process --domain hotel ... --order`. The check itself: tests/test_hotel_check.py."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage import data as skdata
from skimage.io import imread

from bot.cli import main
from services.config import ServiceConfig
from services.errors import ServiceError
from services.hotel.gallery_files import ORDER_COLUMNS
from services.hotel.ordering import RoomPhoto, order_gallery
from services.hotel.rooms import load_rooms
from services.imaging.enhance import exposure
from services.jobs import JobRequest
from services.marketplace.facts import read_facts
from services.marketplace.summary import CheckSummary
from services.models.clip import ClipTagger
from services.models.ocr_reader import TextReader
from services.models.residency import ModelResidency
from services.operations import Operation, RunContext
from services.operations.cutout import ObjectCutter
from services.results import ImageResult
from services.results.room import RoomFacts
from services.wiring import hotel_operations, marketplace_operations
from tests.marketplace_photos import font
from tests.test_straighten import camera_warp, warped

CONTEXT = RunContext(report=lambda fraction, step, total: None, is_cancelled=lambda: False)
LINK = "www.hotel-sochi.ru"
_READER = TextReader()
needs_tesseract = pytest.mark.skipif(
    not _READER.available, reason=f"{_READER.unavailable_reason()} (make test installs it)"
)


@pytest.fixture(scope="module")
def tagger(tiny_weights: Path) -> ClipTagger:
    return ClipTagger(tiny_weights / "clip")


@pytest.fixture(scope="module")
def ops(tiny_weights: Path, tagger: ClipTagger) -> dict[str, Operation]:
    """check, clean, fix as wired (tiny CLIP, no SD painter: clean fills by Telea)."""
    config = ServiceConfig(weights_dir=tiny_weights)
    cutter = ObjectCutter(tiny_weights)
    return marketplace_operations(config, ModelResidency.from_gb(0, 0), cutter, tagger, None)


@pytest.fixture(scope="module")
def hotel(tiny_weights: Path, tagger: ClipTagger) -> dict[str, Operation]:
    return hotel_operations(tagger, tiny_weights)


def outcome(op: Operation, path: Path, **params: object):
    return op.run([JobRequest(op.name, 1, path, params)], CONTEXT)[0]


def run(op: Operation, path: Path, **params: object):
    done = outcome(op, path, **params)
    if isinstance(done, Exception):
        raise done
    return done


def save(image: Image.Image, path: Path) -> Path:
    image.save(path, format="JPEG", quality=95)
    return path


def coffee(size: tuple[int, int] = (1200, 800)) -> Image.Image:
    return Image.fromarray(skdata.coffee()).resize(size, Image.Resampling.BICUBIC)


def garage() -> np.ndarray:
    """A motorcycle in a garage (shelves, boards, a door: long straight lines)."""
    return imread(Path(skdata.__file__).parent / "motorcycle_left.png")[..., :3]


def tilted_garage(converge: float = 4.0, roll: float = 2.0) -> Image.Image:
    """The garage shot with the camera tilted up `converge`° and rolled `roll`°."""
    image = garage()
    h, w = image.shape[:2]
    return Image.fromarray(warped(image, camera_warp(w, h, converge, roll))).resize((1200, 810))


def mean_l(image: Image.Image) -> float:
    return exposure(np.asarray(image.convert("RGB"))).mean_l


# ---- 8. Fix for Booking


@needs_tesseract
def test_fix_for_booking_straightens_brightens_and_removes_the_link(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    dark = Image.fromarray((np.asarray(tilted_garage()) * 0.45).astype(np.uint8))
    draw = ImageDraw.Draw(dark)
    x0, y0, x1, y1 = draw.textbbox((350, 380), LINK, font=font(40))
    draw.rectangle((x0 - 12, y0 - 12, x1 + 12, y1 + 12), fill=(20, 20, 20))
    draw.text((350, 380), LINK, font=font(40), fill="white")
    path = save(dark, tmp_path / "garage.jpg")
    before = run(ops["check"], path, profile="booking")
    assert LINK in next(r.measured for r in before.failures if r.rule == "contacts")
    assert next(r for r in before.rules if r.rule == "exposure").passed is False

    result = run(ops["fix"], path, profile="booking")
    assert isinstance(result, ImageResult) and result.document and result.extension == "jpg"
    fixed = Image.open(io.BytesIO(result.data))
    assert fixed.format == "JPEG" and fixed.width >= 840 and fixed.height >= 460
    assert read_facts(result.data).colour_space == "sRGB"
    assert result.facts["straightened"] > 0 and result.facts["straighten_reason"] is None
    assert result.facts["cleaned"]["regions"] >= 1 and result.facts["cleaned"]["fill"] == "telea"
    recheck = CheckSummary.from_payload(result.facts["check"])
    assert recheck.domain == "hotel" and recheck.ready
    assert not [r.rule for r in recheck.failures if r.level == "required"]
    assert next(r for r in recheck.rules if r.rule == "contacts").passed is True
    # the light moved toward the normal range (L* 35..85): from about 20 to about 47
    assert mean_l(dark) < 35 <= mean_l(fixed.convert("RGB"))


def test_fix_for_booking_scales_a_small_photo_up_keeping_its_aspect(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    result = run(ops["fix"], save(coffee((600, 400)), tmp_path / "small.jpg"), profile="booking")
    width, height = Image.open(io.BytesIO(result.data)).size
    assert width >= 840 and height >= 460
    assert abs(width * 400 / 600 - height) <= 1  # 3:2 kept
    assert (result.facts["width"], result.facts["height"]) == (width, height)
    recheck = CheckSummary.from_payload(result.facts["check"])
    assert next(r for r in recheck.rules if r.rule == "min_size").passed is True


# ---- 9. straighten and enhance


def test_straighten_corrects_a_tilted_photo_and_leaves_a_flat_one(
    hotel: dict[str, Operation], tmp_path: Path
) -> None:
    result = run(hotel["straighten"], save(tilted_garage(), tmp_path / "tilted.jpg"))
    assert result.facts["changed"] and abs(result.facts["angle"]) > 1
    assert result.facts["reason"] is None and result.facts["lines"] > 10
    assert result.preview is not None and result.preview.height > result.preview.width
    assert result.image.size == (1200, 810)  # cropped back to the photo's aspect and size
    original = np.asarray(Image.open(tmp_path / "tilted.jpg").convert("RGB")).astype(int)
    assert np.abs(np.asarray(result.image).astype(int) - original).mean() > 5

    flat = Image.new("RGB", (800, 600), (120, 140, 160))
    ImageDraw.Draw(flat).ellipse((200, 150, 600, 450), fill=(200, 180, 150))
    path = tmp_path / "flat.png"
    flat.save(path)
    same = run(hotel["straighten"], path)
    assert same.facts["changed"] is False and same.facts["reason"] == "few_lines"
    assert same.preview is None
    assert np.array_equal(np.asarray(same.image), np.asarray(flat))


def test_enhance_brightens_refuses_a_bad_strength_and_keys_by_strength(
    hotel: dict[str, Operation], tmp_path: Path
) -> None:
    dark = Image.fromarray((np.asarray(coffee()) * 0.4).astype(np.uint8))
    path = save(dark, tmp_path / "dark.jpg")
    result = run(hotel["enhance"], path, strength="strong")
    assert result.facts["strength"] == "strong"
    assert result.facts["mean_l_before"] < 35 < result.facts["mean_l_after"]
    assert abs(mean_l(result.image) - result.facts["mean_l_after"]) < 1
    assert result.preview is not None and result.preview.height > result.preview.width
    bad = outcome(hotel["enhance"], path, strength="wild")
    assert isinstance(bad, ServiceError) and "unknown strength 'wild'" in str(bad)
    enhance = hotel["enhance"]
    keys = [enhance.cache_identity({"strength": s}) for s in ("gentle", "normal", "strong")]
    assert len({str(k) for k in keys}) == 3
    assert enhance.cache_identity({}) == keys[1]  # the default is normal
    assert enhance.cache_identity({"strength": "wild"}) is None
    gentle = run(enhance, path, strength="gentle")
    assert gentle.facts["mean_l_after"] < result.facts["mean_l_after"]


# ---- 10. room types on tiny CLIP


def test_room_facts_on_tiny_clip(hotel: dict[str, Operation], tmp_path: Path) -> None:
    big = save(coffee((1600, 1200)), tmp_path / "big.jpg")
    small = save(coffee((600, 400)), tmp_path / "small.jpg")
    requests = [
        JobRequest("room", 1, big, {"profile": "booking"}),
        JobRequest("room", 2, small, {"profile": "booking"}),
    ]
    facts = hotel["room"].run(requests, CONTEXT)
    assert all(isinstance(f, RoomFacts) for f in facts)
    first, second = facts
    rooms = load_rooms().ids
    assert set(first.probabilities) == set(rooms) and len(rooms) == 10
    assert abs(sum(first.probabilities.values()) - 1.0) < 1e-3
    assert first.room == max(first.probabilities, key=first.probabilities.get)
    assert len(first.phash) == 16 and int(first.phash, 16) >= 0
    assert (first.width, first.height) == (1600, 1200)  # the file's size, not the 1024 read
    assert (second.width, second.height) == (600, 400)
    assert "min_size" in second.problems and "min_size" not in first.problems
    assert 0.0 <= first.quality <= 1.0 and len(first.embedding) > 0
    assert RoomFacts.from_payload(first.to_payload()).to_payload() == first.to_payload()
    photo = first.photo("big.jpg")
    assert isinstance(photo, RoomPhoto) and photo.name == "big.jpg"
    ordering = order_gallery([photo, second.photo("small.jpg")])
    assert sorted(p.photo.name for p in ordering.placed) == ["big.jpg", "small.jpg"]
    assert [p.position for p in ordering.placed] == [1, 2]


# ---- 11. the command line


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tiny_weights: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("WEIGHTS_DIR", str(tiny_weights))
    monkeypatch.setenv("DEVICE", "cpu")
    monkeypatch.setenv("MODEL_WORKER", "thread")
    monkeypatch.chdir(tmp_path)  # no env/.env of the checkout


def hotel_folder(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    coffee().save(folder / "coffee.jpg", quality=92)
    tilted_garage().save(folder / "garage.jpg", quality=92)
    coffee((600, 400)).save(folder / "small.jpg", quality=92)
    return ["coffee.jpg", "garage.jpg", "small.jpg"]


def test_process_a_hotel_folder_checks_fixes_and_orders_it(env: None, tmp_path: Path) -> None:
    names = hotel_folder(tmp_path / "in")
    out = tmp_path / "out"
    args = ["process", str(tmp_path / "in"), "--domain", "hotel", "--check", "booking"]
    args += ["--straighten", "--enhance", "--order", "-o", str(out)]
    assert main(args) == 0
    with (out / "check.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(row["file"]).name for row in rows] == names
    assert {row["profile"] for row in rows} == {"booking"}
    small = rows[2]
    assert (small["min_size"], small["min_size_value"]) == ("fail", "600×400")
    assert rows[0]["min_size"] == "pass"
    for stem in ("coffee", "garage", "small"):
        assert Image.open(out / f"{stem}-straighten.png").size[0] > 0
        assert Image.open(out / f"{stem}-enhance.png").size[0] > 0
    assert Image.open(out / "garage-straighten.png").size == (1200, 810)
    order = out / "order"
    with (order / "order.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        table = list(reader)
    assert tuple(reader.fieldnames or ()) == ORDER_COLUMNS
    assert sorted(row["source"] for row in table) == names
    assert [row["position"] for row in table] == ["1", "2", "3"]
    files = sorted(p.name for p in order.glob("*.jpg"))
    assert files == sorted(row["file"] for row in table) and files[0].startswith("01-")
    for row in table:  # each file is its source photo, copied
        source = (tmp_path / "in" / row["source"]).read_bytes()
        assert (order / row["file"]).read_bytes() == source
    by_source = {row["source"]: row for row in table}
    assert "min_size" in by_source["small.jpg"]["problems"].split()
    assert sum(row["cover"] == "yes" for row in table) == 1


def test_a_bare_check_in_the_hotel_domain_is_for_booking(env: None, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    coffee((600, 400)).save(folder / "small.jpg", quality=92)
    out = tmp_path / "out"
    assert main(["process", str(folder), "--domain", "hotel", "--check", "-o", str(out)]) == 0
    with (out / "check.csv").open(encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["profile"] == "booking" and row["min_size_value"] == "600×400"
    assert row["min_size"] == "fail"
