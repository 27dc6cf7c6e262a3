"""Ordering a hotel set (services/hotel): room types classified from generated CLIP-like
embeddings, Ostrovok's order, the cover, the advice missed; near-duplicates measured on real
photos (skimage) re-encoded as near-copies; rooms.toml's validation."""

from __future__ import annotations

import io
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from services.hotel.ordering import (
    MAX_HASH_DISTANCE,
    MIN_COSINE,
    Missing,
    RoomPhoto,
    cover_quality,
    hash_distance,
    near_duplicates,
    order_gallery,
    photo_hash,
    quality_terms,
    room_type,
)
from services.hotel.rooms import DEFAULT_PATH, DataError, load_rooms, parse

ROOMS = load_rooms()
ORDER = ROOMS.ids
WIDTH = 512


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def hotel_set(
    sizes: dict[str, int], seed: int = 0, spread: float = 0.45
) -> tuple[list[RoomPhoto], list[str]]:
    """A hotel set with known room types, shuffled. As tests/test_grouping.py's catalogue:
    unit vectors around one random centre per type; each type's "text" embedding is its centre
    moved by noise of the same size (cosine to the centre ≈ 0.7, as CLIP's text and image
    towers differ), and the zero-shot probabilities are softmax(100 × cosine) over the text
    embeddings, so the type comes out of classification, not out of an injected label."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(ORDER), WIDTH))
    texts = unit(centres + rng.normal(size=centres.shape))
    rows, truth = [], []
    for room, size in sizes.items():
        k = ORDER.index(room)
        for _ in range(size):
            rows.append(
                centres[k]
                + spread * rng.normal(size=WIDTH) * np.linalg.norm(centres[k]) / np.sqrt(WIDTH)
            )
            truth.append(room)
    embeddings = unit(np.array(rows))
    logits = 100 * embeddings @ texts.T
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    photos = [
        RoomPhoto(
            name=f"IMG_{i:03d}.jpg",
            probabilities=dict(zip(ORDER, map(float, probabilities[i]), strict=True)),
            embedding=embeddings[i],
            phash=f"{int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2)):016x}",
            quality=float(rng.uniform(0.2, 0.9)),
        )
        for i in range(len(rows))
    ]
    shuffle = rng.permutation(len(photos))
    return [photos[i] for i in shuffle], [truth[i] for i in shuffle]


FULL = {
    "facade": 2,
    "reception": 1,
    "lobby": 1,
    "bedroom": 5,
    "bathroom": 2,
    "restaurant": 2,
    "wellness": 1,
    "conference": 1,
    "grounds": 1,
    "view": 1,
}


def test_a_generated_set_is_classified_and_ordered_as_ostrovok_publishes() -> None:
    photos, truth = hotel_set(FULL)
    assert [room_type(p.probabilities) for p in photos] == truth  # classification, measured
    # the best photo overall is a facade, better than every bedroom: it is not the cover
    best_facade = next(i for i, room in enumerate(truth) if room == "facade")
    photos[best_facade] = replace(photos[best_facade], quality=0.99)
    ordering = order_gallery(photos)

    assert near_duplicates(photos) == []  # random pHashes are far apart
    bedrooms = [p for p, room in zip(photos, truth, strict=True) if room == "bedroom"]
    best_bedroom = max(bedrooms, key=lambda p: p.quality)
    first = ordering.placed[0]
    assert (first.photo, first.position, first.cover, first.room) == (
        best_bedroom,
        1,
        True,
        "bedroom",
    )
    assert ordering.cover == best_bedroom.name
    assert [p.cover for p in ordering.placed].count(True) == 1
    assert [p.position for p in ordering.placed] == list(range(1, len(photos) + 1))
    rest = ordering.placed[1:]
    assert [p.room for p in rest] == [r for r in ORDER for _ in range(FULL[r] - (r == "bedroom"))]
    for room in ORDER:  # best first within a type
        qualities = [p.photo.quality for p in rest if p.room == room]
        assert qualities == sorted(qualities, reverse=True)
    assert rest[0].photo is photos[best_facade]
    assert dict(ordering.counts) == FULL
    assert ordering.missing == ()
    assert all(p.duplicate_of is None for p in ordering.placed)


def test_the_advice_missed_is_counted_from_the_kept_photos() -> None:
    sizes = {"facade": 1, "lobby": 1, "bedroom": 2, "restaurant": 2, "view": 1}
    photos, truth = hotel_set(sizes, seed=3)
    ordering = order_gallery(photos)
    assert [room_type(p.probabilities) for p in photos] == truth
    assert dict(ordering.counts) == {room: sizes.get(room, 0) for room in ORDER}
    sources = {a.type: a.source for a in ROOMS.advice}
    assert ordering.missing == (
        Missing("bedroom", 2, 4, sources["bedroom"]),
        Missing("bathroom", 0, 1, sources["bathroom"]),
    )
    assert ordering.placed[0].room == "bedroom" and ordering.placed[0].cover

    # no bedroom at all: the cover is the best photo overall, still first
    photos, truth = hotel_set({"facade": 2, "bathroom": 1, "grounds": 2}, seed=4)
    ordering = order_gallery(photos)
    best = max(photos, key=lambda p: p.quality)
    assert ordering.cover == best.name and ordering.placed[0].photo is best
    assert [m.room for m in ordering.missing] == ["lobby", "bedroom"]
    assert ordering.missing[1] == Missing("bedroom", 0, 4, sources["bedroom"])


def test_an_empty_set_has_no_cover_and_misses_all_the_advice() -> None:
    ordering = order_gallery([])
    assert ordering.placed == () and ordering.cover is None
    assert [(m.room, m.have, m.need) for m in ordering.missing] == [
        ("facade", 0, 1),
        ("lobby", 0, 1),
        ("bedroom", 0, 4),
        ("bathroom", 0, 1),
    ]


def test_room_type_ties_go_to_the_earlier_type_and_unknown_types_fail() -> None:
    assert room_type({"bathroom": 0.4, "lobby": 0.4, "view": 0.2}) == "lobby"
    assert room_type({"view": 0.5, "facade": 0.5}) == "facade"
    with pytest.raises(ValueError, match="unknown room type 'kitchen'"):
        room_type({"kitchen": 1.0})


# --- near-duplicates on real photos -------------------------------------------------------

PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "immunohistochemistry",
    "hubble_deep_field",
    "moon",
    "coins",
    "text",
)


def skimage_photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def near_copy(image: Image.Image) -> Image.Image:
    """Trimmed by 5 % of its width and height (2.5 % each edge), resized back, JPEG q70."""
    w, h = image.size
    dx, dy = round(w * 0.025), round(h * 0.025)
    copy = image.crop((dx, dy, w - dx, h - dy)).resize((w, h), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "JPEG", quality=70)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@pytest.fixture(scope="module")
def hashes() -> dict[str, tuple[str, str]]:
    """Each photo's pHash and its near-copy's."""
    return {
        name: (photo_hash(image), photo_hash(near_copy(image)))
        for name, image in ((n, skimage_photo(n)) for n in PHOTOS)
    }


def test_phash_distances_separate_near_copies_from_distinct_photos(hashes) -> None:
    copies = {name: hash_distance(a, b) for name, (a, b) in hashes.items()}
    distinct = {
        (m, n): hash_distance(hashes[m][0], hashes[n][0])
        for m, n in itertools.combinations(PHOTOS, 2)
    }
    across = {  # a copy against every other original
        (m, n): hash_distance(hashes[m][1], hashes[n][0])
        for m, n in itertools.permutations(PHOTOS, 2)
    }
    # measured: a near-copy is 4..12 bits from its original; distinct photos 24.. apart
    # (chelsea/moon, coffee/immunohistochemistry), a copy and another original 26..
    assert copies == {
        "astronaut": 6,
        "coffee": 10,
        "chelsea": 4,
        "rocket": 12,
        "camera": 4,
        "immunohistochemistry": 4,
        "hubble_deep_field": 6,
        "moon": 8,
        "coins": 8,
        "text": 6,
    }
    assert (min(distinct.values()), min(across.values())) == (24, 26)
    assert max(copies.values()) < MAX_HASH_DISTANCE < min(distinct.values())
    assert len(hashes["coffee"][0]) == 16  # 64 bits


def test_a_near_copy_is_grouped_and_the_weaker_marked_duplicate(hashes) -> None:
    rooms = {"astronaut": "lobby", "coffee": "restaurant", "chelsea": "bedroom", "rocket": "view"}

    def photo(name: str, phash: str, quality: float) -> RoomPhoto:
        return RoomPhoto(name, {rooms[name.split(".")[0]]: 1.0}, None, phash, quality)

    photos = [photo(f"{n}.jpg", hashes[n][0], 0.5 + 0.1 * i) for i, n in enumerate(rooms)]
    photos.append(photo("coffee.copy.jpg", hashes["coffee"][1], 0.4))  # weaker than coffee's 0.6
    assert near_duplicates(photos) == [[1, 4]]
    ordering = order_gallery(photos)
    assert [(p.photo.name, p.duplicate_of) for p in ordering.placed] == [
        ("chelsea.jpg", None),  # the only bedroom: the cover
        ("astronaut.jpg", None),
        ("coffee.jpg", None),
        ("rocket.jpg", None),
        ("coffee.copy.jpg", "coffee.jpg"),  # duplicates last, naming the stronger photo
    ]
    assert ordering.counts["restaurant"] == 1

    # the copy is the better photo: the original is the duplicate
    photos[4] = photo("coffee.copy.jpg", hashes["coffee"][1], 0.95)
    placed = {p.photo.name: p for p in order_gallery(photos).placed}
    assert placed["coffee.jpg"].duplicate_of == "coffee.copy.jpg"
    assert placed["coffee.jpg"].position == 5 and placed["coffee.copy.jpg"].duplicate_of is None


def test_clip_cosine_is_the_second_gate(hashes) -> None:
    rng = np.random.default_rng(7)
    original = unit(rng.normal(size=WIDTH))
    copy = unit(original + 0.1 * rng.normal(size=WIDTH) / np.sqrt(WIDTH))  # a re-encode
    other = unit(rng.normal(size=WIDTH))
    assert float(copy @ original) > 0.99 > MIN_COSINE > abs(float(other @ original))
    a, b = hashes["rocket"]

    def photo(name: str, phash: str, embedding: np.ndarray | None) -> RoomPhoto:
        return RoomPhoto(name, {"view": 1.0}, embedding, phash, 0.5)

    assert near_duplicates([photo("a", a, original), photo("b", b, copy)]) == [[0, 1]]
    # pHashes close, CLIP says different photos: not duplicates
    assert near_duplicates([photo("a", a, original), photo("b", b, other)]) == []
    # one embedding missing: pHash alone decides
    assert near_duplicates([photo("a", a, original), photo("b", b, None)]) == [[0, 1]]
    # CLIP alike, pHashes far (another photo): not duplicates
    c = hashes["coffee"][0]
    assert near_duplicates([photo("a", a, original), photo("c", c, copy)]) == []
    # no pHash: never a duplicate
    assert near_duplicates([photo("a", a, original), photo("b", None, original)]) == []


def test_near_duplicate_groups_are_transitive() -> None:
    # a–b 2 bits, b–c 2 bits, a–c 4 bits; d far from all; with a tight limit of 2 the chain holds
    photos = [
        RoomPhoto(n, {"lobby": 1.0}, None, h, 0.5)
        for n, h in (
            ("a", "0000000000000000"),
            ("b", "0000000000000003"),
            ("c", "000000000000000f"),
            ("d", "ffffffffffffffff"),
        )
    ]
    assert near_duplicates(photos, max_hash_distance=2) == [[0, 1, 2]]


# --- cover quality --------------------------------------------------------------------------

GOOD = dict(
    mean_l=58.0, shadows=0.0, highlights=0.0, sharpness=200.0, tilt=0.0, width=3000, height=2000
)


def test_cover_quality_prefers_exposed_sharp_level_big_landscape_photos() -> None:
    assert cover_quality(**GOOD) == 1.0
    worse = {
        "dark": {"mean_l": 30.0},
        "bright": {"mean_l": 80.0},
        "blown": {"highlights": 0.12},
        "blurred": {"sharpness": 30.0},
        "tilted": {"tilt": -5.0},
        "small": {"width": 1000, "height": 700},
        "too small": {"width": 800, "height": 600},
        "portrait": {"width": 2000, "height": 3000},
    }
    scores = {name: cover_quality(**{**GOOD, **change}) for name, change in worse.items()}
    assert all(0 < score < 1 for score in scores.values()), scores
    assert scores["small"] > scores["too small"]
    # measured with the documented weights: a blurred photo loses more than a portrait one
    assert round(scores["blurred"], 3) == round(0.05**0.30, 3)
    assert round(scores["portrait"], 3) == round(0.6**0.10, 3)
    assert cover_quality(**{**GOOD, "tilt": None}) == 1.0  # an unknown tilt costs nothing
    assert cover_quality(**{**GOOD, "tilt": 2.5}) < 1.0
    assert quality_terms(**{**GOOD, "width": 840, "height": 460})["size"] == pytest.approx(0.3)
    assert quality_terms(**{**GOOD, "mean_l": 50.0, "shadows": 0.02})["exposure"] == 1.0


# --- rooms.toml ------------------------------------------------------------------------------


def test_rooms_toml_loads_in_ostrovoks_order_with_sourced_advice() -> None:
    assert ORDER == (
        "facade",
        "reception",
        "lobby",
        "bedroom",
        "bathroom",
        "restaurant",
        "wellness",
        "conference",
        "grounds",
        "view",
    )
    assert all(3 <= len(t.prompts) <= 5 for t in ROOMS.types)
    assert {(a.type, a.min) for a in ROOMS.advice} == {
        ("facade", 1),
        ("lobby", 1),
        ("bedroom", 4),
        ("bathroom", 1),
    }
    assert all("Booking" in a.source or "Expedia" in a.source for a in ROOMS.advice)


def test_rooms_toml_mistakes_fail_clearly(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "rooms.toml"
    bad.write_text(text.replace('id = "lobby"', 'id = "lobby"\nlabel = "Лобби"'), encoding="utf-8")
    with pytest.raises(DataError, match=r"room\[2\]: unknown key 'label'; known: id, prompts"):
        load_rooms(bad)
    bad.write_text(text.replace('type = "lobby"', 'type = "kitchen"'), encoding="utf-8")
    with pytest.raises(DataError, match=r"advice\[1\].type: unknown room type 'kitchen'"):
        load_rooms(bad)
    bad.write_text(text + '\n[[advice]]\ntype = "view"\nmin = 1\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"advice\[4\]: missing key 'source'"):
        load_rooms(bad)
    with pytest.raises(DataError, match="unknown key 'rooms'"):
        parse({"schema": 1, "rooms": [], "room": [], "advice": []})
    with pytest.raises(DataError, match="not valid TOML"):
        bad.write_text("room = [", encoding="utf-8")
        load_rooms(bad)
