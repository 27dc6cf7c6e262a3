"""The slide templates (``templates.toml`` beside this module), read once and checked."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent / "templates.toml"
Frac = tuple[float, float, float, float]  # left, top, right, bottom as fractions


class TemplateError(ValueError):
    """templates.toml is wrong; the message says where."""


@dataclass(frozen=True)
class Variant:
    font: str  # inter | roboto | open_sans
    title_at: str  # top | bottom (hero and scene are mirrored vertically)
    scene: str  # a services/imaging/backgrounds.py preset


@dataclass(frozen=True)
class Templates:
    margin: float
    slides: dict[str, dict[str, Any]]
    variants: tuple[Variant, ...]

    def slide(self, kind: str) -> dict[str, Any]:
        return self.slides[kind]

    def variant(self, style: int) -> Variant:
        return self.variants[style % len(self.variants)]


def _box(value: Any, where: str) -> Frac:
    if not isinstance(value, list) or len(value) != 4:
        raise TemplateError(f"{where}: a box is [left, top, right, bottom], not {value!r}")
    left, top, right, bottom = (float(v) for v in value)
    if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
        raise TemplateError(f"{where}: {value!r} is not a box inside the slide")
    return left, top, right, bottom


def _slide(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data.get("source"), str):
        raise TemplateError(f"slides.{kind}: every slide names its source")
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = f"slides.{kind}.{key}"
        if key in ("title", "product", "list", "crop", "caption"):
            out[key] = _box(value, where)
        elif key == "callouts":
            out[key] = tuple(_box(v, f"{where}[{i}]") for i, v in enumerate(value))
        elif key.endswith("size") and isinstance(value, list):
            out[key] = (float(value[0]), float(value[1]))
        else:
            out[key] = value
    return out


@lru_cache(maxsize=4)
def load_templates(path: Path = DEFAULT_PATH) -> Templates:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("schema") != 1:
        raise TemplateError(f"{path}: this Vitrina reads schema 1")
    slides = {kind: _slide(kind, spec) for kind, spec in data["slides"].items()}
    variants = tuple(Variant(**v) for v in data["variants"])
    if not variants:
        raise TemplateError(f"{path}: at least one variant")
    return Templates(float(data["margin"]), slides, variants)


def mirrored(box: Frac) -> Frac:
    """The box upside down (a variant with the title at the bottom)."""
    left, top, right, bottom = box
    return left, 1.0 - bottom, right, 1.0 - top


def pixels(box: Frac, size: tuple[int, int]) -> tuple[int, int, int, int]:
    width, height = size
    left, top, right, bottom = box
    return round(left * width), round(top * height), round(right * width), round(bottom * height)
