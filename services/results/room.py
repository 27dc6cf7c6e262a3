"""What the `room` operation hands back for one photo of a hotel set: its room type (CLIP
zero-shot over services/hotel/rooms.toml), how good a cover it would make, and what the
gallery order needs to find near-duplicates (its pHash and CLIP embedding)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.hotel.ordering import RoomPhoto


@dataclass(frozen=True)
class RoomFacts:
    room: str  # the most probable room type (rooms.toml's id)
    probabilities: Mapping[str, float]
    quality: float  # 0..1: how good a cover (services/hotel/ordering.cover_quality)
    phash: str  # 16 hex digits (imagehash.phash)
    width: int
    height: int
    #: the measures the quality is made of (mean_l, shadows, highlights, sharpness, tilt)
    measures: Mapping[str, float | None] = field(default_factory=dict)
    embedding: tuple[float, ...] = ()  # unit-length CLIP image embedding (empty: none)
    #: the profile's size, orientation, exposure, tilt and sharpness rules it fails
    problems: tuple[str, ...] = ()

    def vector(self) -> np.ndarray | None:
        return np.asarray(self.embedding, dtype=np.float32) if self.embedding else None

    def to_payload(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "probabilities": {k: round(float(v), 4) for k, v in self.probabilities.items()},
            "quality": round(float(self.quality), 4),
            "phash": self.phash,
            "width": self.width,
            "height": self.height,
            "measures": dict(self.measures),
            "embedding": [round(float(v), 5) for v in self.embedding],
            "problems": list(self.problems),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> RoomFacts:
        return cls(
            room=str(payload["room"]),
            probabilities=dict(payload.get("probabilities", {})),
            quality=float(payload.get("quality", 0.0)),
            phash=str(payload.get("phash", "")),
            width=int(payload.get("width", 0)),
            height=int(payload.get("height", 0)),
            measures=dict(payload.get("measures", {})),
            embedding=tuple(float(v) for v in payload.get("embedding", ())),
            problems=tuple(str(p) for p in payload.get("problems", ())),
        )

    def photo(self, name: str) -> RoomPhoto:
        """This photo as the gallery ordering takes it (services/hotel/ordering.py)."""
        return RoomPhoto(
            name=name,
            probabilities=dict(self.probabilities),
            embedding=self.vector(),
            phash=self.phash or None,
            quality=self.quality,
            problems=self.problems,
        )
