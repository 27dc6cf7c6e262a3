"""Products in front of other salient things, with the product's truth known: the test set of
"the product alone on the card" (services/imaging/separate.py).

A product is cut from a real photo by a hand-made mask (the espresso cup of scikit-image's
``coffee``) or drawn (a bottle, a box textured from a photo), then pasted, overlapping, in front
of a person (``astronaut``), an animal (``chelsea``) or a busy scene (``rocket``,
``immunohistochemistry``). `Composite.product` is exactly the pasted pixels; `Composite.behind`
is left to the caller (what stands behind is measured on the scene without the product).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw
from skimage import data as skdata


@dataclass(frozen=True)
class Composite:
    name: str
    image: np.ndarray  # uint8 H×W×3
    product: np.ndarray  # bool H×W: the pasted product's pixels
    scene: np.ndarray  # uint8 H×W×3: the same scene without the product


def _scene(name: str) -> np.ndarray:
    image = getattr(skdata, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


@lru_cache(maxsize=1)
def cup() -> tuple[np.ndarray, np.ndarray]:
    """The espresso cup of ``coffee()`` (rim, body, handle; no saucer) and its mask, cropped."""
    photo = _scene("coffee")
    mask = Image.new("L", (photo.shape[1], photo.shape[0]), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse((172, 17, 408, 207), fill=255)  # the rim
    draw.polygon([(175, 112), (405, 112), (365, 282), (218, 282)], fill=255)  # the body
    draw.ellipse((195, 228, 262, 306), fill=255)  # the handle
    truth = np.asarray(mask) > 127
    rows, cols = np.flatnonzero(truth.any(1)), np.flatnonzero(truth.any(0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return photo[box].copy(), truth[box].copy()


@lru_cache(maxsize=1)
def bottle() -> tuple[np.ndarray, np.ndarray]:
    """A drawn bottle (green glass, a label), 120×300."""
    width, height = 120, 300
    image = Image.new("RGB", (width, height), (0, 0, 0))
    mask = Image.new("L", (width, height), 0)
    for target, colour in ((image, (30, 120, 60)), (mask, 255)):
        draw = ImageDraw.Draw(target)
        draw.rounded_rectangle((0, 90, width - 1, height - 1), radius=22, fill=colour)
        draw.polygon([(10, 100), (width - 11, 100), (78, 40), (42, 40)], fill=colour)
        draw.rectangle((42, 0, 78, 45), fill=colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 150, width - 9, 230), fill=(235, 220, 160))
    draw.rectangle((42, 0, 78, 14), fill=(200, 170, 40))
    pixels = np.asarray(image).astype(np.float32)
    shade = 0.65 + 0.35 * np.sin(np.linspace(0.2, np.pi - 0.2, width))[None, :, None]
    return np.clip(pixels * shade, 0, 255).astype(np.uint8), np.asarray(mask) > 127


def paste(
    name: str,
    scene_name: str,
    product: tuple[np.ndarray, np.ndarray],
    *,
    height_share: float,
    centre: tuple[float, float] = (0.5, 0.55),
) -> Composite:
    """``product`` scaled to ``height_share`` of the scene's height, its box centred at
    ``centre`` (x, y shares of the scene), pasted over the scene."""
    scene = _scene(scene_name)
    pixels, mask = product
    height = max(8, round(height_share * scene.shape[0]))
    width = max(8, round(pixels.shape[1] * height / pixels.shape[0]))
    pixels = np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS))
    small = np.asarray(
        Image.fromarray(mask.astype(np.uint8) * 255).resize(
            (width, height), Image.Resampling.NEAREST
        )
    )
    small = small > 127
    x0 = round(centre[0] * scene.shape[1] - width / 2)
    y0 = round(centre[1] * scene.shape[0] - height / 2)
    truth = np.zeros(scene.shape[:2], bool)
    truth[y0 : y0 + height, x0 : x0 + width] = small
    image = scene.copy()
    image[truth] = pixels[small]
    return Composite(name, image, truth, scene)


def composites() -> list[Composite]:
    """The set: a cup held up before an astronaut, before a cat, a bottle before the
    astronaut, the cup before a rocket on its pad and over a busy microscope slide."""
    return [
        paste("cup-astronaut", "astronaut", cup(), height_share=0.42, centre=(0.5, 0.6)),
        paste("cup-chelsea", "chelsea", cup(), height_share=0.5, centre=(0.5, 0.6)),
        paste("bottle-astronaut", "astronaut", bottle(), height_share=0.55, centre=(0.5, 0.6)),
        paste("cup-rocket", "rocket", cup(), height_share=0.45, centre=(0.5, 0.55)),
        paste(
            "cup-immunohistochemistry",
            "immunohistochemistry",
            cup(),
            height_share=0.45,
            centre=(0.5, 0.5),
        ),
    ]
