""" "Fix for <marketplace>": the product cut from its photo, centred on a plain background
so its longer side spans a set share of the card, encoded as the marketplace wants (sRGB
JPEG at quality ≥ 90 by default, PNG where asked). The product's pixels are the photo's,
only scaled (card.place resamples, compositing keeps the inside of the cut exact).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageCms

from services.imaging.card import alpha_bbox, place
from services.imaging.compositing import over, transparent

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
SRGB_ICC = _SRGB.tobytes()
MIME = {"JPEG": "image/jpeg", "PNG": "image/png"}
EXTENSION = {"JPEG": "jpg", "PNG": "png"}
#: A small product is enlarged at most this much (beyond it, it would look soft).
MAX_UPSCALE = 4.0


@dataclass(frozen=True)
class CardImage:
    data: bytes
    format: str  # JPEG or PNG
    size: tuple[int, int]
    fill: float  # the product's longer span as placed (may fall short: MAX_UPSCALE)
    #: the product as placed on the card (bool, the card's size): its mask for a re-check
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def mime(self) -> str:
        return MIME[self.format]

    @property
    def extension(self) -> str:
        return EXTENSION[self.format]


def to_srgb(image: Image.Image) -> Image.Image:
    """RGB in sRGB: converted through the embedded ICC profile when there is one (Display
    P3, Adobe RGB, CMYK...), else taken as sRGB already. Transparency is dropped here;
    the cut's alpha comes separately."""
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA", "P"):
        image = image.convert("RGBA").convert("RGB") if image.mode != "P" else image.convert("RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode not in ("RGB", "CMYK", "L"):
                image = image.convert("RGB")
            converted = ImageCms.profileToProfile(
                image,
                source,
                _SRGB,
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
            if converted is not None:
                return converted
        except (OSError, ImageCms.PyCMSError):
            pass  # a broken profile: the pixels as they are beat no card at all
    return image.convert("RGB")


def span(alpha: np.ndarray, size: tuple[int, int]) -> float:
    """The object's longer span in a canvas of `size`: max(bbox w / W, bbox h / H)."""
    box = alpha_bbox(alpha)
    if box is None:
        return 0.0
    left, top, right, bottom = box
    return max((right - left) / size[0], (bottom - top) / size[1])


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 92) -> bytes:
    """sRGB-tagged bytes without EXIF (nothing left to rotate it twice); JPEG without
    chroma subsampling, so thin coloured edges stay crisp."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(
            buffer, "JPEG", quality=quality, subsampling=0, optimize=True, icc_profile=SRGB_ICC
        )
    elif fmt == "PNG":
        image.convert("RGB").save(buffer, "PNG", optimize=True, icc_profile=SRGB_ICC)
    else:
        raise ValueError(f"a card is JPEG or PNG, not {fmt!r}")
    return buffer.getvalue()


def marketplace_card(
    image: Image.Image,
    alpha: np.ndarray,
    *,
    size: tuple[int, int],
    fill: float,
    background: tuple[int, int, int] = (255, 255, 255),
    fmt: str = "JPEG",
    quality: int = 92,
    shadow: bool = False,
) -> CardImage:
    """The card: `image` (upright: decode.py has applied its EXIF orientation) cut by
    `alpha` (the cutter's mask at the image's size: float, uint8 or bool), its longer
    side spanning `fill` of the card `size` on a plain `background`."""
    if np.asarray(alpha).shape != (image.height, image.width):
        raise ValueError(f"alpha {np.asarray(alpha).shape} does not match the image {image.size}")
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill is a share of the card, not {fill}")
    rgb = to_srgb(image)
    rgba = transparent(rgb, np.asarray(alpha))
    placed = place(rgba, size, margin=(1.0 - fill) / 2.0, max_upscale=MAX_UPSCALE)
    canvas = Image.new("RGB", size, tuple(background))
    card = over(placed, canvas, shadow=shadow)
    placed_alpha = np.asarray(placed.getchannel("A"))
    achieved = span(placed_alpha, size)
    return CardImage(encode(card, fmt, quality), fmt, size, achieved, placed_alpha >= 128)
