"""Named edits (presets) for instruct-pix2pix, kept as data in ``services/edit_presets.tsv``.

Format: UTF-8, tab-separated, ``#`` comment lines, one header line
``name ru en prompt guidance image_guidance steps keep_structure``. Empty numbers mean "the
setting's default" (EDIT_GUIDANCE, EDIT_IMAGE_GUIDANCE, EDIT_STEPS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PRESETS_PATH = Path(__file__).resolve().parent / "edit_presets.tsv"
HEADER = ("name", "ru", "en", "prompt", "guidance", "image_guidance", "steps", "keep_structure")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_YES, _NO = {"yes", "true", "1"}, {"no", "false", "0"}


@dataclass(frozen=True)
class Preset:
    name: str
    ru: str
    en: str
    prompt: str
    guidance: float | None = None  # None: the EDIT_GUIDANCE setting
    image_guidance: float | None = None
    steps: int | None = None
    keep_structure: bool = True


def load_presets(path: Path | None = None) -> dict[str, Preset]:
    """name -> Preset, in file order (parsed once per path)."""
    return dict(_load((path or PRESETS_PATH).resolve()))


@lru_cache(maxsize=8)
def _load(path: Path) -> tuple[tuple[str, Preset], ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: unreadable presets file ({exc})") from None
    presets: dict[str, Preset] = {}
    header_seen = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        cells += [""] * (len(HEADER) - len(cells))
        if not header_seen:
            if tuple(cells) != HEADER:
                raise ValueError(f"{path}:{lineno}: expected the header {'<TAB>'.join(HEADER)}")
            header_seen = True
            continue
        if len(cells) != len(HEADER):
            raise ValueError(f"{path}:{lineno}: expected {len(HEADER)} columns, got {len(cells)}")
        try:
            preset = _preset(cells)
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from None
        if preset.name in presets:
            raise ValueError(f"{path}:{lineno}: duplicate preset {preset.name!r}")
        presets[preset.name] = preset
    if not presets:
        raise ValueError(f"{path}: no presets")
    return tuple(presets.items())


def _number(
    name: str, raw: str, kind: type[int] | type[float], low: float, high: float
) -> int | float | None:
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be within [{low}, {high}], got {raw!r}")
    return value


def _preset(cells: list[str]) -> Preset:
    name, ru, en, prompt, guidance, image_guidance, steps, keep = cells
    if not _NAME.match(name):
        raise ValueError(f"preset name must be a lowercase word, got {name!r}")
    if not prompt:
        raise ValueError(f"preset {name!r} has no prompt")
    if keep.lower() not in _YES | _NO:
        raise ValueError(f"keep_structure must be yes or no, got {keep!r}")
    g = _number("guidance", guidance, float, 1.0, 30.0)
    ig = _number("image_guidance", image_guidance, float, 1.0, 5.0)
    s = _number("steps", steps, int, 1, 150)
    return Preset(
        name=name,
        ru=ru or name,
        en=en or name,
        prompt=prompt,
        guidance=None if g is None else float(g),
        image_guidance=None if ig is None else float(ig),
        steps=None if s is None else int(s),
        keep_structure=keep.lower() in _YES,
    )
