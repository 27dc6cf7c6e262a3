"""Backgrounds generated in code (no downloaded files) and the user's own photo as one.

Every preset is a pure function of (size, seed): the same call gives the same pixels, and
its pattern scales with the picture (noise cells are counted across the short side), so a
1200 px card and a 12 MP photo look alike. All return RGB images of exactly `size`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageOps

from services.imaging.colours import hex_to_rgb

Size = tuple[int, int]  # (width, height), as PIL


def _grid(shape: tuple[int, int], size: Size, rng: np.random.Generator) -> np.ndarray:
    """Smooth value noise in 0..1: a random grid of `shape` (rows, cols) resized bicubically."""
    cells = rng.random(shape, dtype=np.float32)
    image = Image.fromarray(cells, mode="F").resize(size, Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32)


def _fbm(
    size: Size,
    rng: np.random.Generator,
    cells: float,
    octaves: int,
    stretch: tuple[float, float] = (1.0, 1.0),
) -> np.ndarray:
    """Fractal noise around 0 (about -1..1): octaves of value noise, each twice finer."""
    width, height = size
    short = min(width, height)
    total = np.zeros((height, width), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        per_px = cells * 2**octave / short
        rows = max(2, min(height, round(height * per_px * stretch[1])) + 1)
        cols = max(2, min(width, round(width * per_px * stretch[0])) + 1)
        total += amplitude * (_grid((rows, cols), size, rng) - 0.5) * 2
        norm += amplitude
        amplitude *= 0.5
    return total / norm


def _coords(size: Size) -> tuple[np.ndarray, np.ndarray]:
    """y, x in 0..1 as (H, 1) and (1, W) columns: broadcasting keeps them cheap."""
    width, height = size
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    return y, x


def _mix(a: Sequence[int], b: Sequence[int], t: np.ndarray) -> np.ndarray:
    """Per-pixel blend of two colours by t (H×W or broadcastable) -> H×W×3 float."""
    a_ = np.asarray(a, dtype=np.float32)
    b_ = np.asarray(b, dtype=np.float32)
    return a_ + (b_ - a_) * np.clip(t, 0.0, 1.0)[..., None]


def _to_image(pixels: np.ndarray, size: Size) -> Image.Image:
    width, height = size
    pixels = np.broadcast_to(pixels, (height, width, 3))
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), mode="RGB")


def solid(size: Size, colour: str) -> Image.Image:
    return Image.new("RGB", size, hex_to_rgb(colour))


def gradient(size: Size, colours: Sequence[str]) -> Image.Image:
    """A vertical gradient through `colours` (top to bottom), evenly spaced stops."""
    stops = [hex_to_rgb(c) for c in colours] or [(255, 255, 255)]
    if len(stops) == 1:
        stops.append(stops[0])
    y, _ = _coords(size)
    position = y[:, 0] * (len(stops) - 1)
    index = np.minimum(position.astype(int), len(stops) - 2)
    table = np.asarray(stops, dtype=np.float32)
    frac = (position - index)[:, None]
    column = table[index] + (table[index + 1] - table[index]) * frac  # H×3
    return _to_image(column[:, None, :], size)


# ---- presets ------------------------------------------------------------------------------


def studio(size: Size, rng: np.random.Generator) -> Image.Image:
    """Studio white: a light wall fading into a floor, with a soft shadow pool in the middle."""
    y, x = _coords(size)
    horizon = 0.62
    wall = _mix((250, 250, 250), (236, 236, 238), y / horizon)
    floor_t = np.clip((y - horizon) / (1 - horizon), 0, 1)
    floor = _mix((238, 238, 240), (246, 246, 247), floor_t)
    blend = np.clip((y - horizon + 0.06) / 0.12, 0, 1)[..., None]  # a soft cove, not a line
    pixels = wall * (1 - blend) + floor * blend
    # the soft floor shadow: an ellipse centred under where the object stands
    width, height = size
    aspect = width / height
    dist = ((x - 0.5) * aspect / 0.42) ** 2 + ((y - 0.80) / 0.10) ** 2
    shadow = 14.0 * np.exp(-dist * 2.2) * blend[..., 0]
    grain = 1.5 * _fbm(size, rng, 24, 2)
    return _to_image(pixels - (shadow + grain)[..., None], size)


def blush(size: Size, rng: np.random.Generator) -> Image.Image:
    """Soft pink with a gentle light from the upper middle."""
    y, x = _coords(size)
    width, height = size
    dist = np.sqrt(((x - 0.5) * width / height) ** 2 + (y - 0.3) ** 2)
    pixels = _mix((253, 232, 238), (240, 200, 212), dist / 0.9)
    return _to_image(pixels + 1.5 * _fbm(size, rng, 16, 2)[..., None], size)


def sky(size: Size, rng: np.random.Generator) -> Image.Image:
    """A soft blue-to-peach gradient."""
    y, x = _coords(size)
    t = y + 0.04 * _fbm(size, rng, 2, 2)
    pixels = _mix((198, 222, 246), (252, 232, 218), t)
    return _to_image(pixels + 0 * x[..., None], size)


def marble(size: Size, rng: np.random.Generator) -> Image.Image:
    """White marble: a few thin grey veins bent by turbulence over a faint cloudy base."""
    y, x = _coords(size)
    width, height = size
    aspect = width / height
    turbulence = _fbm(size, rng, 2, 5)
    angle = rng.uniform(0.3, 0.9)
    phase = (x * aspect * np.cos(angle) + y * np.sin(angle)) * 1.6 + 1.1 * turbulence
    veins = np.exp(-(np.sin(phase * np.pi) ** 2) / 0.004)  # 1 on a vein, 0 between
    detail = _fbm(size, rng, 5, 4)
    thin = np.exp(-(np.sin((phase * 2.3 + 0.6 * detail) * np.pi) ** 2) / 0.002)
    clouds = _fbm(size, rng, 2, 4)
    base = _mix((247, 246, 244), (226, 226, 229), 0.5 + 0.7 * clouds)
    dark = 0.55 * veins + 0.22 * thin
    pixels = base * (1 - dark[..., None]) + np.asarray((138, 138, 146)) * dark[..., None]
    return _to_image(pixels, size)


def wood(size: Size, rng: np.random.Generator) -> Image.Image:
    """Horizontal planks of warm wood with grain lines and slightly different tones."""
    y, x = _coords(size)
    width, height = size
    planks = 5
    index = np.minimum((y[:, 0] * planks).astype(int), planks - 1)
    tone = rng.uniform(-0.12, 0.12, planks).astype(np.float32)[index][:, None]
    offset = rng.uniform(0, 10, planks).astype(np.float32)[index][:, None]
    warp = _fbm(size, rng, 2, 3, stretch=(0.3, 1.0))
    grain = np.sin((y * planks * 9.0 + offset + 1.6 * warp) * 2 * np.pi)
    fibres = _fbm(size, rng, 18, 2, stretch=(0.08, 1.0))
    t = 0.45 + 0.25 * grain + 0.3 * fibres + tone
    pixels = _mix((196, 150, 104), (140, 94, 58), t)
    seam = np.abs((y * planks) - np.round(y * planks)) * height / planks  # px to a seam
    pixels *= (0.65 + 0.35 * np.clip(seam / max(1.5, height / 400), 0, 1))[..., None]
    return _to_image(pixels + 0 * x[..., None], size)


def concrete(size: Size, rng: np.random.Generator) -> Image.Image:
    """Grey concrete: mottled fractal noise with small dark pores."""
    mottle = _fbm(size, rng, 4, 6)
    pores = _fbm(size, rng, 120, 1)
    pixels = _mix((186, 184, 180), (146, 145, 143), 0.5 + 0.8 * mottle)
    dark = np.clip((pores - 0.7) * 4.0, 0, 1) * 30.0
    return _to_image(pixels - dark[..., None], size)


def linen(size: Size, rng: np.random.Generator) -> Image.Image:
    """Natural linen: a fine weave of uneven horizontal and vertical threads."""
    width, height = size
    threads = max(60, min(width, height) // 6)
    warp = _fbm(size, rng, threads / 4, 1, stretch=(4.0, 0.02))
    weft = _fbm(size, rng, threads / 4, 1, stretch=(0.02, 4.0))
    slub = _fbm(size, rng, 6, 3)
    t = 0.5 + 0.35 * warp + 0.35 * weft + 0.3 * slub
    return _to_image(_mix((232, 222, 204), (204, 190, 166), t), size)


MAX_DRAW_SIDE = 2048
PresetMaker = Callable[[Size, np.random.Generator], Image.Image]
#: preset name -> maker; names are what users type (Russian aliases in PRESET_ALIASES)
PRESETS: dict[str, PresetMaker] = {
    "studio": studio,
    "blush": blush,
    "sky": sky,
    "marble": marble,
    "wood": wood,
    "concrete": concrete,
    "linen": linen,
}
PRESET_ALIASES = {
    "студия": "studio",
    "пудра": "blush",
    "пудровый": "blush",
    "небо": "sky",
    "мрамор": "marble",
    "дерево": "wood",
    "бетон": "concrete",
    "лён": "linen",
    "лен": "linen",
    "white studio": "studio",
    "soft pink": "blush",
}


def preset(name: str, size: Size, seed: int = 0) -> Image.Image:
    """A preset background of exactly `size`; the same (name, size, seed) gives the same
    pixels. KeyError for an unknown name."""
    maker = PRESETS[PRESET_ALIASES.get(name, name)]
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"bad size {size}")
    # Backgrounds are soft: past MAX_DRAW_SIDE they are drawn smaller and scaled up, which
    # keeps a 12 MP preset well under a second.
    scale = min(1.0, MAX_DRAW_SIDE / max(width, height))
    drawn = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = maker(drawn, np.random.default_rng([seed, width, height]))
    return image if drawn == size else image.resize(size, Image.Resampling.BICUBIC)


def cover(photo: Image.Image, size: Size) -> Image.Image:
    """The user's photo as a background: scaled to cover `size` and centre-cropped (EXIF
    rotation applied, RGB)."""
    upright = ImageOps.exif_transpose(photo).convert("RGB")
    return ImageOps.fit(upright, size, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
