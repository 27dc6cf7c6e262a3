"""Ordering a hotelier's gallery: pure functions over per-photo facts (no models here).

The facts of each photo (its CLIP zero-shot probabilities over the room types of
``rooms.toml``, its CLIP image embedding, its pHash and its cover quality) are measured
elsewhere; this module turns them into the new gallery:

* each photo's room type is the argmax of its probabilities (ties: the earlier type in order);
* near-duplicates (pHash Hamming distance ≤ ``MAX_HASH_DISTANCE`` and, where both photos have
  an embedding, CLIP cosine ≥ ``MIN_COSINE``) are grouped; the best-quality photo of a group
  is kept, the others are marked ``duplicate_of`` it (Booking rejects duplicates) and go last;
* kept photos follow Ostrovok's published order (facade → reception → lobby → bedroom →
  bathroom → restaurant → wellness → conference → grounds → view), within a type best first;
* the cover, placed first because Booking treats the first photo as the main one, is the
  best-quality kept bedroom (without one: the best kept photo overall);
* the advice of rooms.toml (Booking, Expedia) is checked against the kept photos' counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import imagehash
import numpy as np
from PIL import Image

from services.hotel.rooms import Rooms, default_rooms

#: pHash (64-bit) Hamming distance at or below which two photos may be near-duplicates.
#: Measured (tests/test_hotel_order.py) on skimage's photos: a copy trimmed by 5 % of its
#: width and height, resized back and re-encoded as JPEG q70 is 4..12 bits from its original
#: (astronaut 6, coffee 10, chelsea 4, rocket 12, camera 4 ...); ten distinct photos are
#: ≥ 24 apart (20 for the closest pair among 21 skimage images, textures included). A harder
#: copy, trimmed by 5 % at EACH edge, drifts to 6..18 bits (coffee 18): pHash is not
#: crop-robust, so a heavily recropped shot is not caught by this gate.
MAX_HASH_DISTANCE = 14
#: CLIP image-embedding cosine at or above which two photos may be near-duplicates (the second
#: gate, used when both photos have an embedding). A re-encoded or slightly cropped copy stays
#: ≥ 0.95 in CLIP space; two different shots of one room type sit far lower (about 0.8 in the
#: generated set of the tests). Not yet measured on real CLIP weights.
MIN_COSINE = 0.95


@dataclass(frozen=True)
class RoomPhoto:
    name: str  # file name or photo id for the ZIP/CSV
    probabilities: Mapping[str, float]  # room type -> CLIP zero-shot probability (sums ~1)
    embedding: np.ndarray | None  # L2-normalised CLIP image embedding (may be None)
    phash: str | None  # imagehash.phash hex string (64-bit)
    quality: float  # 0..1 cover quality score (see cover_quality)
    problems: tuple[str, ...] = ()  # rule ids that failed (from /check), for the CSV


@dataclass(frozen=True)
class Placed:
    photo: RoomPhoto
    position: int  # 1-based position in the new gallery
    room: str
    cover: bool
    duplicate_of: str | None  # the name of the stronger photo of its near-duplicate group


@dataclass(frozen=True)
class Missing:
    room: str
    have: int
    need: int
    source: str


@dataclass(frozen=True)
class Ordering:
    placed: tuple[Placed, ...]  # in the new order; duplicates go last, each still listed
    counts: Mapping[str, int]  # kept (non-duplicate) photos per room type, every type listed
    missing: tuple[Missing, ...]  # advice not met
    cover: str | None  # name of the cover photo


def photo_hash(image: Image.Image) -> str:
    """The photo's 64-bit perceptual hash (imagehash.phash) as its 16-digit hex string."""
    return str(imagehash.phash(image))


def hash_distance(a: str, b: str) -> int:
    """Hamming distance between two pHash hex strings of the same length."""
    if len(a) != len(b):
        raise ValueError(f"pHashes of different sizes: {a!r}, {b!r}")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _ramp(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high`, linear between (either direction), clipped."""
    return min(1.0, max(0.0, (value - low) / (high - low)))


#: cover_quality's terms and their weights (a weighted geometric mean; weights sum to 1).
QUALITY_WEIGHTS = MappingProxyType(
    {"exposure": 0.30, "sharpness": 0.30, "tilt": 0.15, "size": 0.15, "orientation": 0.10}
)
#: a term's floor in the geometric mean: one bad term drags the score down, never to 0, so
#: two poor photos are still told apart by their other terms.
QUALITY_FLOOR = 0.05


def quality_terms(
    *,
    mean_l: float,
    shadows: float,
    highlights: float,
    sharpness: float,
    tilt: float | None,
    width: int,
    height: int,
) -> dict[str, float]:
    """The terms of `cover_quality`, each 0..1 (1 = best):

    exposure     mean L* within 50..65 → 1, falling to 0 at 20 and at 90; times the share of
                 pixels not crushed/blown: 1 up to 2 % (shadows + highlights), 0 at 22 %
    sharpness    Laplacian variance at a 1024 px long side: 0 at ≤ 30 (blurred), 1 at ≥ 150
    tilt         |degrees|: 1 at 0°, 0 at ≥ 5°; unknown (None) → 1 (no evidence of a tilt)
    size         0 below 840×460 (Booking's least shown; turned for portraits), then 0.3 at
                 an 840 px long side rising to 1 at ≥ 2048
    orientation  landscape (or square) 1, portrait 0.6
    """
    if mean_l < 50:
        exposure_mean = _ramp(mean_l, 20, 50)
    elif mean_l > 65:
        exposure_mean = 1 - _ramp(mean_l, 65, 90)
    else:
        exposure_mean = 1.0
    clipped = max(0.0, shadows) + max(0.0, highlights)
    exposure = exposure_mean * (1 - _ramp(clipped, 0.02, 0.22))
    long_side, short_side = max(width, height), min(width, height)
    too_small = long_side < 840 or short_side < 460
    size = 0.0 if too_small else 0.3 + 0.7 * _ramp(long_side, 840, 2048)
    return {
        "exposure": exposure,
        "sharpness": _ramp(sharpness, 30, 150),
        "tilt": 1.0 if tilt is None else 1 - _ramp(abs(tilt), 0, 5),
        "size": size,
        "orientation": 1.0 if width >= height else 0.6,
    }


def cover_quality(
    *,
    mean_l: float,
    shadows: float,
    highlights: float,
    sharpness: float,
    tilt: float | None,
    width: int,
    height: int,
) -> float:
    """How good a photo is as the gallery's cover, 0..1: the weighted geometric mean
    Π max(term, QUALITY_FLOOR) ** weight over `quality_terms` with `QUALITY_WEIGHTS`
    (exposure .30, sharpness .30, tilt .15, size .15, orientation .10). A perfect photo
    scores 1; all terms at the floor score 0.05. Pure arithmetic on measured signals:
    `shadows`/`highlights` are the fractions (0..1) of crushed / blown pixels."""
    terms = quality_terms(
        mean_l=mean_l,
        shadows=shadows,
        highlights=highlights,
        sharpness=sharpness,
        tilt=tilt,
        width=width,
        height=height,
    )
    log = sum(w * math.log(max(terms[k], QUALITY_FLOOR)) for k, w in QUALITY_WEIGHTS.items())
    return min(1.0, math.exp(log))


def room_type(probabilities: Mapping[str, float], order: Sequence[str] | None = None) -> str:
    """The most probable room type; ties go to the earlier type in the gallery order."""
    order = tuple(order) if order is not None else default_rooms().ids
    unknown = sorted(set(probabilities) - set(order))
    if unknown:
        raise ValueError(f"unknown room type {unknown[0]!r}; known: {', '.join(order)}")
    if not probabilities:
        raise ValueError("no room-type probabilities")
    best = max(probabilities.values())
    return next(room for room in order if probabilities.get(room) == best)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norms if norms > 0 else 0.0


def near_duplicates(
    photos: Sequence[RoomPhoto],
    *,
    max_hash_distance: int = MAX_HASH_DISTANCE,
    min_cosine: float = MIN_COSINE,
) -> list[list[int]]:
    """Groups (lists of indices, each sorted, groups by their first index) of two or more
    photos linked by near-duplicate pairs: pHash distance ≤ `max_hash_distance` AND, when both
    have an embedding, cosine ≥ `min_cosine`. Linked pairs are joined transitively
    (union-find). A photo without a pHash is never a near-duplicate."""
    parent = list(range(len(photos)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(photos):
        if a.phash is None:
            continue
        for j in range(i + 1, len(photos)):
            b = photos[j]
            if b.phash is None or hash_distance(a.phash, b.phash) > max_hash_distance:
                continue
            if (
                a.embedding is not None
                and b.embedding is not None
                and _cosine(a.embedding, b.embedding) < min_cosine
            ):
                continue
            ri, rj = root(i), root(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(photos)):
        groups.setdefault(root(i), []).append(i)
    return [members for _, members in sorted(groups.items()) if len(members) > 1]


def order_gallery(
    photos: Sequence[RoomPhoto],
    rooms: Rooms | None = None,
    *,
    max_hash_distance: int = MAX_HASH_DISTANCE,
    min_cosine: float = MIN_COSINE,
) -> Ordering:
    """The new gallery: the cover first, then the kept photos in the room types' order (best
    quality first within a type), then the near-duplicates (each naming the photo it
    duplicates); the kept photos' counts per type and the advice they miss."""
    rooms = rooms or default_rooms()
    order = rooms.ids
    rooms_of = [room_type(p.probabilities, order) for p in photos]

    def strength(i: int) -> tuple[float, int]:  # higher quality first, then the earlier photo
        return (-photos[i].quality, i)

    duplicate_of: dict[int, str] = {}
    for group in near_duplicates(
        photos, max_hash_distance=max_hash_distance, min_cosine=min_cosine
    ):
        keeper = min(group, key=strength)
        for i in group:
            if i != keeper:
                duplicate_of[i] = photos[keeper].name

    def in_order(i: int) -> tuple[int, float, int]:
        return (order.index(rooms_of[i]), *strength(i))

    kept = sorted((i for i in range(len(photos)) if i not in duplicate_of), key=in_order)
    bedrooms = [i for i in kept if rooms_of[i] == "bedroom"]
    cover = min(bedrooms or kept, key=strength) if kept else None
    sequence = ([cover] if cover is not None else []) + [i for i in kept if i != cover]
    sequence += sorted(duplicate_of, key=in_order)
    placed = tuple(
        Placed(
            photo=photos[i],
            position=position,
            room=rooms_of[i],
            cover=i == cover,
            duplicate_of=duplicate_of.get(i),
        )
        for position, i in enumerate(sequence, start=1)
    )
    counts = dict.fromkeys(order, 0)
    for i in kept:
        counts[rooms_of[i]] += 1
    missing = tuple(
        Missing(a.type, counts[a.type], a.min, a.source)
        for a in rooms.advice
        if counts[a.type] < a.min
    )
    return Ordering(
        placed=placed,
        counts=MappingProxyType(counts),
        missing=missing,
        cover=photos[cover].name if cover is not None else None,
    )
