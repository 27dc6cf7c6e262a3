"""`room`: a hotel photo's room type and how good a cover it makes — the per-photo pass of a
hotel set's "Order the gallery". CLIP zero-shot over the room-type prompts of
services/hotel/rooms.toml gives the type; exposure, sharpness, tilt and size give the cover
score (services/hotel/ordering.cover_quality); the pHash and the CLIP embedding let the
set's ordering find near-duplicates (the bot orders the set: bot/sets/room_order.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from services.errors import BadImage, ServiceError
from services.hotel.ordering import cover_quality, photo_hash, room_type
from services.hotel.rooms import DEFAULT_PATH as ROOMS_PATH
from services.hotel.rooms import Rooms, load_rooms
from services.hotel.rules import RoomMeasured, pixel_problems
from services.hotel.signals import sharpness
from services.imaging.decode import load_rgb
from services.imaging.enhance import exposure
from services.imaging.straighten import measure_tilt
from services.jobs import JobRequest
from services.marketplace.profiles import HOTEL_PATH, Profile, load_profiles
from services.models.clip import ClipTagger
from services.operations import Op, Operation, Outcome, RunContext
from services.results.room import RoomFacts
from services.weights.revision import file_digest

#: Bump when a change of code changes a room's facts (part of its cache key).
ROOM_VERSION = 1


def original_size(path: Path) -> tuple[int, int]:
    """The photo's upright size from its header (no decode of a 12 MP photo)."""
    with Image.open(path) as image:
        width, height = image.size
        turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
    return (height, width) if turned else (width, height)


def room_facts(
    image: Image.Image,
    size: tuple[int, int],
    probabilities: Mapping[str, float],
    embedding: np.ndarray | None,
    rooms: Rooms,
    profile: Profile | None = None,
) -> RoomFacts:
    """One photo's facts from its (downscaled) pixels and CLIP's outputs; `profile`: the
    hotel platform whose size, exposure, tilt and sharpness rules name its problems."""
    rgb = np.asarray(image)
    light = exposure(rgb)
    tilt = measure_tilt(rgb)
    leans = [abs(v) for v in (tilt.vertical, tilt.horizon) if v is not None]
    measures = {
        "mean_l": round(light.mean_l, 2),
        "shadows": round(light.shadows, 4),
        "highlights": round(light.highlights, 4),
        "sharpness": round(sharpness(rgb), 1),
        "tilt": round(max(leans), 2) if leans else None,
    }
    quality = cover_quality(
        mean_l=light.mean_l,
        shadows=light.shadows,
        highlights=light.highlights,
        sharpness=float(measures["sharpness"] or 0.0),
        tilt=measures["tilt"],
        width=size[0],
        height=size[1],
    )
    problems: tuple[str, ...] = ()
    if profile is not None:
        measured = RoomMeasured(
            mean_l=light.mean_l,
            shadows=light.shadows,
            highlights=light.highlights,
            tilt=measures["tilt"],
            sharpness=measures["sharpness"],
        )
        problems = pixel_problems(profile, size[0], size[1], measured)
    return RoomFacts(
        room=room_type(probabilities, rooms.ids),
        problems=problems,
        probabilities=dict(probabilities),
        quality=quality,
        phash=photo_hash(image),
        width=size[0],
        height=size[1],
        measures=measures,
        embedding=tuple(float(v) for v in embedding) if embedding is not None else (),
    )


class RoomOperation(Operation):
    """CLIP over a batch of photos (as /tag), the measures per photo."""

    name = Op.ROOM
    max_batch = 16
    max_side = 1024  # CLIP sees 224 px; the measures are made at a 1024 px long side

    def __init__(
        self,
        tagger: ClipTagger,
        missing: Callable[[], list[str]],
        rooms_path: Path | None = None,
    ) -> None:
        self.tagger = tagger
        self._missing = missing
        self.rooms_path = Path(rooms_path or ROOMS_PATH)

    @property
    def rooms(self) -> Rooms:
        return load_rooms(self.rooms_path)

    def missing_weights(self) -> list[str]:
        return self._missing()

    def batch_key(self, request: JobRequest) -> Hashable:
        return (self.name, str(request.params.get("profile") or ""))

    def profile(self, params: Mapping[str, Any]) -> Profile | None:
        """The hotel platform the problems are judged for (None: not a hotel one)."""
        profiles = load_profiles()
        found = profiles.profiles.get(str(params.get("profile") or profiles.default_for("hotel")))
        return found if found is not None and found.domain == "hotel" else None

    def cache_identity(self, params: Mapping[str, Any]) -> dict[str, Any]:
        profile = self.profile(params)
        return {
            "profile": profile.id if profile else None,
            "profiles": file_digest(HOTEL_PATH),
            "rooms": file_digest(self.rooms_path),
            "version": ROOM_VERSION,
            "models": ["clip"],
        }

    def warm_up(self) -> None:
        self.tagger.load()

    def run(self, requests: Sequence[JobRequest], context: RunContext) -> list[Outcome]:
        outcomes: list[Outcome] = []
        images, sizes, keys = [], [], []
        for request in requests:
            try:
                images.append(load_rgb(request.image_path, self.max_side))
                sizes.append(original_size(Path(request.image_path)))
                keys.append(request.photo_sha256)
                outcomes.append(None)
            except (ServiceError, OSError) as exc:
                outcomes.append(exc if isinstance(exc, ServiceError) else _unreadable(exc))
        context.progress(0.2)
        if not images:
            return outcomes
        rooms, profile = self.rooms, self.profile(requests[0].params)
        prompts = {room.id: room.prompts for room in rooms.types}
        probabilities = self.tagger.zero_shot(images, prompts, keys=keys)
        embeddings = self.tagger.embed_images(images, keys)
        context.progress(0.6)
        facts = iter(
            room_facts(image, size, probs, vector, rooms, profile)
            for image, size, probs, vector in zip(
                images, sizes, probabilities, embeddings, strict=True
            )
        )
        outcomes = [next(facts) if outcome is None else outcome for outcome in outcomes]
        context.progress(1.0)
        return outcomes


def _unreadable(exc: OSError) -> ServiceError:
    return BadImage(f"cannot read the photo: {exc}")
