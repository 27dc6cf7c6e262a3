"""Image checks and loading. CPU-heavy: callers run these in a thread, never on the loop."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from services.errors import BadImage

#: File names we treat as images (folders in `vitrina process`, documents users send).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
# Pillow refuses bigger images as decompression bombs; we refuse them as bad input instead.
MAX_PIXELS = 60_000_000
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp",
              "TIFF": "tiff", "MPO": "jpg", "HEIF": "heic"}  # fmt: skip


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    extension: str


def inspect_image(data: bytes) -> ImageInfo:
    """Check that `data` is a whole, decodable image of a sane size."""
    if not data:
        raise BadImage("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                fmt = image.format or "unknown"
                if width * height > MAX_PIXELS:
                    raise BadImage(f"image too large: {width}x{height}")
                image.load()  # decodes fully: catches truncated files
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadImage(f"not a readable image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("image too large") from None
    if width < 8 or height < 8:
        raise BadImage(f"image too small: {width}x{height}")
    return ImageInfo(width, height, fmt, EXTENSIONS.get(fmt, "img"))


def load_rgb(path: Path, max_side: int | None = None) -> Image.Image:
    """Open a stored photo upright (EXIF) in RGB, optionally shrunk so its long side fits."""
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image = image.convert("RGB") if image.mode != "RGB" else image.copy()
    except FileNotFoundError:
        raise BadImage(f"photo file is gone: {path.name}") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BadImage(f"not a readable image: {exc}") from None
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image
