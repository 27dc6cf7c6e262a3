"""A picture result as files to keep and send: the PNG (or the result's own bytes, e.g. a
card's JPEG) and a JPEG preview Telegram accepts as a photo. Encoding a 12 MP PNG takes a
second: callers run these in a thread, never on the event loop."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from services.results import ImageResult

#: Telegram refuses photos over 10 MB or with width + height over 10 000.
PREVIEW_MAX_SIDE = 2560
PREVIEW_QUALITY = 90


@dataclass(frozen=True)
class EncodedImage:
    png: bytes  # the file kept and sent as a document: a PNG, or the result's own bytes
    preview: bytes  # JPEG, for sendPhoto
    width: int
    height: int
    mode: str
    extension: str = "png"


def encode_stored(path: Path, preview: Path | None = None) -> EncodedImage:
    """A stored result PNG again ready to send ("Show again", a cache hit). With its stored
    JPEG preview nothing is encoded again (a 12 MP PNG takes a second): the files are read."""
    extension = path.suffix.lstrip(".") or "png"
    if preview is not None and preview.is_file():
        data = path.read_bytes()
        with Image.open(path) as image:  # the header only
            width, height, mode = image.width, image.height, image.mode
        return EncodedImage(data, preview.read_bytes(), width, height, mode, extension)
    if extension != "png":  # a result's own file (a card's JPEG): sent as it is
        with Image.open(path) as image:
            image.load()
            encoded = encode(ImageResult(image=image))
        return EncodedImage(
            path.read_bytes(),
            encoded.preview,
            encoded.width,
            encoded.height,
            encoded.mode,
            extension,
        )
    with Image.open(path) as image:
        image.load()
        return encode(ImageResult(image=image))


def encode(result: ImageResult) -> EncodedImage:
    """PNG of the whole result (or the result's own file, `result.data`) and a JPEG
    preview that Telegram accepts as a photo (of `result.preview` when it has one)."""
    image = result.image
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    if result.data is not None:
        data, extension = result.data, result.extension
    else:
        png = io.BytesIO()
        image.save(png, format="PNG", compress_level=3)
        data, extension = png.getvalue(), "png"
    preview_image = image if result.preview is None else result.preview.convert("RGB")
    if max(image.size) > PREVIEW_MAX_SIDE:
        preview_image = image.copy()
        preview_image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS)
    if preview_image.mode == "RGBA":  # JPEG has no alpha: show it over white
        flat = Image.new("RGB", preview_image.size, (255, 255, 255))
        flat.paste(preview_image, mask=preview_image.getchannel("A"))
        preview_image = flat
    preview = io.BytesIO()
    preview_image.save(preview, format="JPEG", quality=PREVIEW_QUALITY, optimize=True)
    return EncodedImage(data, preview.getvalue(), image.width, image.height, image.mode, extension)
