"""The cut's pieces that need no model: the working copy of a photo (RGB at WORK_SIDE, its
own alpha as a hint), the candidates a saliency map gives (the product alone first, when
services/imaging/separate.py tells it apart), and `Cutout`, what a cut hands back with the
notes its source carries. `ObjectCutter` (cutout.py) runs the models around them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from services.imaging import masks as M
from services.imaging import separate as S

#: The cut is computed with the long side at most this (SAM and ISNet see 1024 anyway),
#: then the alpha is resized to the photo's size.
WORK_SIDE = 1024


@dataclass(frozen=True)
class Cutout:
    alpha: np.ndarray  # float32 H×W at the image's size, 0..1, 1 = the object; cleaned
    candidate: int  # which candidate this is (0 = best)
    candidates: int  # how many distinct candidates exist (>= 1)
    source: str  # "isnet+sam" | "isnet" | "sam-auto" (+ ":note")
    foreground_share: float  # alpha mean
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def objects(self) -> int:
        """How many salient objects the photo holds (":objects<n>"; 1 when not noted)."""
        for note in self.source.split(":"):
            if note.startswith("objects") and note[7:].isdigit():
                return int(note[7:])
        return 1

    @property
    def needs_look(self) -> bool:
        """Several objects, and none clearly the product or the product split off what
        stands behind it by colour edges alone: the card must be looked at."""
        return "look" in self.source.split(":")


def product_alone(saliency: np.ndarray, pixels: np.ndarray) -> tuple[np.ndarray, str]:
    """The saliency of the product alone (``saliency`` itself when there is one object or
    no clear one) and the source's note (":objects<n>", ":look")."""
    separation = S.separate(saliency, pixels)
    note = f":objects{separation.objects}" if separation.objects > 1 else ""
    note += ":look" if separation.needs_look else ""
    if separation.ambiguous or separation.objects <= 1:
        return saliency, note
    return S.focus(saliency, separation), note


def saliency_candidates(
    saliency: np.ndarray, focused: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    # holes stay open where the model is sure they are background (a part's holes are zeroed
    # in its own map: the whole map judges them); the product alone first, when told apart
    alphas = [] if focused is None else [M.clean_alpha(focused, saliency=saliency)]
    alphas.append(M.clean_alpha(saliency, saliency=saliency))
    alphas.extend(
        M.clean_alpha(np.where(part, saliency, 0.0), saliency=saliency)
        for part in M.saliency_components(saliency)
    )
    return distinct_alphas(alphas) or (alphas[0],)


def distinct_alphas(alphas: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    keep = M.distinct([a >= M.THRESHOLD for a in alphas])
    return tuple(alphas[i] for i in keep)


def working_copy(image: Image.Image) -> tuple[Image.Image, np.ndarray | None]:
    """RGB at the working size, and the image's own alpha (0..1) when it is not opaque."""
    hint = None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema()[0] < 255:
            hint = alpha
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        rgb = image.convert("RGB")
    scale = WORK_SIDE / max(rgb.size)
    if scale < 1:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.BILINEAR)
        hint = hint.resize(size, Image.Resampling.BILINEAR) if hint is not None else None
    hint_array = None if hint is None else np.asarray(hint, dtype=np.float32) / 255.0
    return rgb, hint_array
