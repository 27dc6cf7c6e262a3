"""A corpus of bad and odd inputs, generated here: what a stranger on the internet sends."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(width: int = 96, height: int = 72) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    y = np.linspace(0, 255, height, dtype=np.uint8)
    array = np.stack(np.broadcast_arrays(x[None, :], y[:, None], x[None, :] // 2), axis=-1)
    return Image.fromarray(np.ascontiguousarray(array), "RGB")


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims 10 gigapixels: Pillow must refuse it before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def huge_png(side: int = 20_000) -> bytes:
    """A real 20 000 × 20 000 image (1-bit, so it is small on disk)."""
    return save(Image.new("1", (side, side), 1), "PNG")


def cmyk_jpeg() -> bytes:
    return save(gradient().convert("CMYK"), "JPEG")


def png16() -> bytes:
    array = (np.arange(96 * 72, dtype=np.uint32).reshape(72, 96) * 9).astype(np.uint16)
    return save(Image.fromarray(array), "PNG")


def palette_png_transparent() -> bytes:
    image = gradient().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return save(image, "PNG", transparency=0)


def la_png() -> bytes:
    grey = gradient().convert("L")
    alpha = Image.new("L", grey.size, 128)
    return save(Image.merge("LA", (grey, alpha)), "PNG")


def animated_gif() -> bytes:
    frames = [gradient(), gradient().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated_jpeg() -> bytes:
    """Stored 96 wide × 48 high, EXIF orientation 6: upright it is 48 × 96."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return save(gradient(96, 48), "JPEG", exif=exif)


def grey_jpeg() -> bytes:
    return save(gradient().convert("L"), "JPEG")


def solid(side: int, fmt: str = "PNG") -> bytes:
    return save(Image.new("RGB", (side, side), (200, 30, 30)), fmt)


def zip_named_jpg() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", b"not a photo")
    return buffer.getvalue()


def heic() -> bytes | None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return save(gradient(), "HEIF")
    except Exception:  # no encoder in this build of libheif
        return None


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
