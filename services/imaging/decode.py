"""The intake gate for pixels: what we accept, and loading it upright in a sane mode.

CPU-heavy: callers run these in a thread, never on the event loop. Every refusal is a
`BadImage` whose `reason` the bot turns into one short message in the user's language.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from services.errors import BadImage

try:  # HEIC/HEIF (iPhone photos); AVIF is built into Pillow
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - the dependency is declared; a trimmed install works
    HEIF = False

#: File names we treat as images (folders in `vitrina process`, documents users send).
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".webp",
        ".bmp",
        ".gif",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
        ".apng",
    }
)
#: Pillow format names we accept; anything else Pillow can open (PSD, ICO, PDF...) is refused.
FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF", "AVIF"})
EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tiff",
    "MPO": "jpg",
    "HEIF": "heic",
    "AVIF": "avif",
}
#: Default pixel budget (MAX_PIXELS setting); 50 MP is a full-frame camera's photo.
MAX_PIXELS = 50_000_000
MIN_SIDE = 32
# Pillow's own decompression-bomb guard, set explicitly: it raises at twice this, warns at
# once; we turn both into a clear refusal below before decoding any pixel.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class ImageInfo:
    width: int  # upright (after EXIF orientation)
    height: int
    format: str
    extension: str
    mode: str
    has_alpha: bool
    frames: int


def inspect_image(
    data: bytes, max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE
) -> ImageInfo:
    """Check that `data` is a whole, decodable image we support, of a sane size."""
    if not data:
        raise BadImage("empty file", "empty")
    # Our budget decides (checked below, before any pixel is decoded); Pillow's own guard
    # must not refuse what an operator allowed with a bigger MAX_PIXELS.
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or "unknown"
                if fmt not in FORMATS:
                    raise BadImage(f"unsupported format {fmt}", "format", format=fmt)
                width, height = image.size
                if width * height > max_pixels:
                    raise BadImage(
                        f"image too large: {width}x{height}",
                        "too_many_pixels",
                        width=width,
                        height=height,
                        megapixels=max_pixels / 1e6,
                    )
                frames = getattr(image, "n_frames", 1)
                image.seek(0)
                image.load()  # decodes the first frame fully: catches truncated files
                upright = ImageOps.exif_transpose(image)
                width, height = upright.size
                mode = image.mode
                has_alpha = _has_alpha(image)
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("image too large", "too_many_pixels", megapixels=max_pixels / 1e6) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise BadImage(f"not a readable image: {exc}") from None
    if width < min_side or height < min_side:
        raise BadImage(
            f"image too small: {width}x{height}",
            "too_small",
            width=width,
            height=height,
            min_side=min_side,
        )
    return ImageInfo(width, height, fmt, EXTENSIONS.get(fmt, "img"), mode, has_alpha, frames)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def normalise(image: Image.Image, keep_alpha: bool = False) -> Image.Image:
    """Any mode Pillow decodes (CMYK, 16-bit, palette, grey, LA, I;16...) -> RGB or RGBA."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: scale to 8 bits
        array = image.point(lambda value: value * (1 / 256)).convert("L")
        image = array
    if keep_alpha and _has_alpha(image):
        return image.convert("RGBA")
    if _has_alpha(image) and image.mode != "RGB":  # transparent areas over white, not black
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB") if image.mode != "RGB" else image.copy()


def load_image(
    path: Path, max_side: int | None = None, *, keep_alpha: bool = False
) -> Image.Image:
    """A stored photo: first frame, upright (EXIF), RGB (or RGBA when asked and it has
    alpha), optionally shrunk so its long side fits `max_side`."""
    try:
        with Image.open(path) as opened:
            opened.seek(0)
            image = normalise(ImageOps.exif_transpose(opened), keep_alpha)
    except FileNotFoundError:
        raise BadImage(f"photo file is gone: {path.name}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise BadImage(f"not a readable image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("image too large", "too_many_pixels") from None
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def load_rgb(path: Path, max_side: int | None = None) -> Image.Image:
    """A stored photo upright in RGB (see `load_image`)."""
    return load_image(path, max_side)
