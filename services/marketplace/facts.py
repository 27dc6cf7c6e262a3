"""What a photo file says about itself: size, format, transparency, colour space, JPEG
quality (estimated from its quantisation tables) and file size. Pure Pillow."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms

# The IJG (libjpeg) base tables, natural (row-major) order, as Pillow reports them:
# quality q scales them by 5000/q % below 50 and by (200 - 2q) % from 50 up.
_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
).ravel()
_CHROMA = np.full((8, 8), 99.0)
_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]
_CHROMA = _CHROMA.ravel()
_QUALITIES = np.arange(1, 101)


def _ijg_tables(base: np.ndarray) -> np.ndarray:
    """100×64: the table libjpeg writes for quality 1..100 (baseline: capped at 255)."""
    scale = np.where(_QUALITIES < 50, 5000 // _QUALITIES, 200 - 2 * _QUALITIES)[:, None]
    return np.clip((base[None, :] * scale + 50) // 100, 1, 255)


_TABLES = (_ijg_tables(_LUMA), _ijg_tables(_CHROMA))


def estimate_jpeg_quality(quantization: Mapping[int, Sequence[int]]) -> int | None:
    """The IJG quality (1..100) whose tables come closest to the file's (Pillow's
    ``image.quantization``). Exact for libjpeg-written files (cameras' own tables land
    near the quality they resemble); None without tables."""
    if not quantization:
        return None
    error = np.zeros(len(_QUALITIES))
    for index, table in sorted(quantization.items())[:2]:
        actual = np.asarray(table, dtype=np.float64)
        if actual.size != 64:
            continue
        expected = _TABLES[min(index, 1)]
        error += np.abs(np.log(expected) - np.log(actual)[None, :]).sum(axis=1)
    best = np.flatnonzero(error == error.min())
    return int(_QUALITIES[best[-1]])  # ties (q 98-100 all give ones): the highest


def colour_space(image: Image.Image) -> str:
    """ "sRGB" for sRGB-tagged and untagged RGB/grey pictures (the web's assumption),
    "CMYK" for CMYK, else the embedded ICC profile's description (e.g. "Display P3")."""
    if image.mode == "CMYK":
        return "CMYK"
    icc = image.info.get("icc_profile")
    if not icc:
        return "sRGB"
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile).strip()
    except (OSError, ImageCms.PyCMSError):
        return "unknown ICC profile"
    return "sRGB" if "srgb" in description.casefold().replace(" ", "") else description


def transparent_share(image: Image.Image) -> float:
    """Share of pixels not fully opaque (0.0 for a picture without alpha)."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return 0.0
    alpha = np.asarray(image.convert("RGBA").getchannel("A"))
    return float(np.count_nonzero(alpha < 255)) / alpha.size


@dataclass(frozen=True)
class PhotoFacts:
    width: int  # as shown: after the EXIF orientation
    height: int
    format: str  # Pillow's name; MPO (a camera JPEG) reads as JPEG
    mode: str
    transparent_share: float
    colour_space: str
    jpeg_quality: int | None
    file_bytes: int | None

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def read_facts(data: bytes) -> PhotoFacts:
    """The facts of a photo file as the user sent it (raises PIL's errors on non-images:
    the intake gate has refused those before)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        width, height = image.size
        if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # rotated a quarter turn
            width, height = height, width
        fmt = "JPEG" if image.format == "MPO" else (image.format or "unknown")
        quality = estimate_jpeg_quality(getattr(image, "quantization", None) or {})
        return PhotoFacts(
            width=width,
            height=height,
            format=fmt,
            mode=image.mode,
            transparent_share=transparent_share(image),
            colour_space=colour_space(image),
            jpeg_quality=quality if fmt == "JPEG" else None,
            file_bytes=len(data),
        )
