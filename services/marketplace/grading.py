"""The grade of a product photo among five, by one transparent scoring function whose
features, ramps, weights and hard rules live in ``grading.toml`` (read that file first).

    score(grade) = bias + Σ weight × ramp(signal)

The result keeps every grade's score and, for the winner, each feature's contribution, so
the reply can say which signals decided («мелкий текст», «пёстрый фон»...).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from services.marketplace.profiles import Profile
from services.marketplace.schema import (
    MISSING,
    DataError,
    anything,
    fail,
    number,
    string,
    table,
    words,
)
from services.marketplace.signals import BACKGROUNDS, Signals

DEFAULT_PATH = Path(__file__).resolve().parent / "grading.toml"
GRADES = (
    "good_infographic",
    "bad_infographic",
    "other_infographic",
    "clean_good_background",
    "clean_bad_background",
)
INFOGRAPHICS = GRADES[:3]
CLEAN = GRADES[3:]
_NON_SIGNALS = {"width", "height", "boxes", "clip", "background_class"}
#: Signals a feature may read: the numeric fields of Signals, the derived ones, CLIP's.
SIGNALS = frozenset(
    {f.name for f in fields(Signals) if f.name not in _NON_SIGNALS}
    | {"min_side", "aspect", "fill_gap"}
    | {f"clip_{grade}" for grade in GRADES}
)


@dataclass(frozen=True)
class Feature:
    name: str
    signal: str
    ramp: tuple[float, float]

    def evidence(self, value: float) -> float:
        low, high = self.ramp
        return min(1.0, max(0.0, (value - low) / (high - low)))


@dataclass(frozen=True)
class HardRule:
    """A rule of the data ([hard.rules.<id>]): a photo the scores grade as one of `judges`
    whose signals are all at least `at_least` and at most `at_most` gets `sets`."""

    id: str
    judges: tuple[str, ...]
    sets: str
    at_least: Mapping[str, float]
    at_most: Mapping[str, float]

    def applies(self, label: str, values: Mapping[str, float]) -> bool:
        """A signal not measured (NaN, absent) never meets a bound: no evidence, no rule."""
        if label not in self.judges:
            return False
        for bounds, meets in ((self.at_least, _ge), (self.at_most, _le)):
            for name, bound in bounds.items():
                value = values.get(name)
                if value is None or math.isnan(value) or not meets(value, bound):
                    return False
        return True


def _ge(value: float, bound: float) -> bool:
    return value >= bound


def _le(value: float, bound: float) -> bool:
    return value <= bound


@dataclass(frozen=True)
class Contribution:
    feature: str
    signal: str
    value: float  # the signal as measured
    evidence: float  # 0..1
    weight: float
    contribution: float  # weight × evidence


@dataclass(frozen=True)
class Grade:
    label: str
    scores: Mapping[str, float]
    #: the winner's contributions, the largest |contribution| first (zeros left out)
    deciding: tuple[Contribution, ...]
    #: the hard rule that set the label ("no_text", "plain_light_background", a rule of
    #: [hard.rules]: "foreign_text"...) or None
    rule: str | None
    runner_up: str

    @property
    def infographic(self) -> bool:
        return self.label in INFOGRAPHICS


@dataclass(frozen=True)
class Grading:
    features: Mapping[str, Feature]
    biases: Mapping[str, float]
    weights: Mapping[str, Mapping[str, float]]  # grade -> feature -> weight
    plain_backgrounds: tuple[str, ...]
    plain_max_texture: float
    plain_max_std: float
    default_fill: tuple[float, float]
    #: CLIP zero-shot prompts per grade ([clip] in the file; empty: no CLIP signal)
    clip_prompts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: [hard.rules], in the file's order: the first that applies sets the grade
    rules: tuple[HardRule, ...] = ()


def _feature(name: str, data: Any, where: str) -> Feature:
    values = table(data, where, {"signal": (string, MISSING), "ramp": (anything, MISSING)})
    if values["signal"] not in SIGNALS:
        raise fail(f"{where}.signal", f"unknown signal {values['signal']!r}")
    ramp = values["ramp"]
    finite = number(-1e9, 1e9)
    if not isinstance(ramp, list) or len(ramp) != 2:
        raise fail(f"{where}.ramp", f"must be [from, to], not {ramp!r}")
    low, high = (finite(v, f"{where}.ramp") for v in ramp)
    if low == high:
        raise fail(f"{where}.ramp", "the two ends must differ")
    return Feature(name, values["signal"], (low, high))


BUILT_IN_RULES = ("no_text", "plain_light_background")


def _rule(name: str, data: Any, where: str) -> HardRule:
    values = table(
        data,
        where,
        {
            "judges": (words, MISSING),
            "sets": (string, MISSING),
            "at_least": (anything, {}),
            "at_most": (anything, {}),
        },
    )
    if name in BUILT_IN_RULES:
        raise fail(where, f"{name!r} is a built-in rule's name")
    for grade_id in (*values["judges"], values["sets"]):
        if grade_id not in GRADES:
            raise fail(where, f"unknown grade {grade_id!r}; known: {', '.join(GRADES)}")
    bounds = {}
    for key in ("at_least", "at_most"):
        found = values[key]
        if not isinstance(found, dict):
            raise fail(f"{where}.{key}", "must be a table of signal = number")
        for signal in found:
            if signal not in SIGNALS:
                raise fail(f"{where}.{key}", f"unknown signal {signal!r}")
        bounds[key] = MappingProxyType(
            {
                signal: number(-1e9, 1e9)(v, f"{where}.{key}.{signal}")
                for signal, v in found.items()
            }
        )
    if not bounds["at_least"] and not bounds["at_most"]:
        raise fail(where, "needs at_least or at_most: a rule without a condition")
    return HardRule(name, values["judges"], values["sets"], bounds["at_least"], bounds["at_most"])


def parse_grading(data: Mapping[str, Any], where: str = "grading.toml") -> Grading:
    """Validate the parsed TOML document: unknown signals, features or grades are errors."""
    spec = {key: (anything, MISSING) for key in ("schema", "hard", "features", "grades")}
    spec["clip"] = (anything, {})
    values = table(dict(data), where, spec)
    if values["schema"] != 1:
        raise fail(f"{where}: schema", "this Vitrina reads schema 1")
    share = number(0.0, 1.0)
    hard = table(
        values["hard"],
        f"{where}: hard",
        {
            "plain_backgrounds": (words, MISSING),
            "plain_max_texture": (number(0.0, 100.0), MISSING),
            "plain_max_std": (number(0.0, 100.0), MISSING),
            "default_fill": (anything, MISSING),
            "rules": (anything, {}),
        },
    )
    if not isinstance(hard["rules"], dict):
        raise fail(f"{where}: hard.rules", "must be a table of rules")
    rules = tuple(
        _rule(name, spec, f"{where}: hard.rules.{name}") for name, spec in hard["rules"].items()
    )
    for name in hard["plain_backgrounds"]:
        if name not in BACKGROUNDS:
            raise fail(f"{where}: hard.plain_backgrounds", f"unknown background {name!r}")
    fill = hard["default_fill"]
    if not isinstance(fill, list) or len(fill) != 2:
        raise fail(f"{where}: hard.default_fill", f"must be [min, max], not {fill!r}")
    fill = tuple(share(v, f"{where}: hard.default_fill") for v in fill)
    if not isinstance(values["features"], dict):
        raise fail(f"{where}: features", "must be a table of features")
    features = {
        name: _feature(name, spec, f"{where}: features.{name}")
        for name, spec in values["features"].items()
    }
    grades = values["grades"]
    if not isinstance(grades, dict) or set(grades) != set(GRADES):
        got = sorted(grades) if isinstance(grades, dict) else grades
        raise fail(f"{where}: grades", f"must have exactly {', '.join(GRADES)}; got {got}")
    biases, weights = {}, {}
    weight = number(-100.0, 100.0)
    for grade in GRADES:
        place = f"{where}: grades.{grade}"
        entries = dict(grades[grade]) if isinstance(grades[grade], dict) else None
        if entries is None:
            raise fail(place, "must be a table of feature = weight")
        biases[grade] = weight(entries.pop("bias", 0.0), f"{place}.bias")
        for feature in entries:
            if feature not in features:
                raise fail(place, f"unknown feature {feature!r}; known: {', '.join(features)}")
        weights[grade] = MappingProxyType(
            {name: weight(value, f"{place}.{name}") for name, value in entries.items()}
        )
    clip = values["clip"]
    if not isinstance(clip, dict) or not set(clip) <= set(GRADES):
        raise fail(f"{where}: clip", f"must be a table of grade = [prompt, ...] ({GRADES})")
    prompts = {grade: words(clip[grade], f"{where}: clip.{grade}") for grade in clip}
    if prompts and set(prompts) != set(GRADES):
        raise fail(f"{where}: clip", f"needs prompts for every grade: {', '.join(GRADES)}")
    return Grading(
        MappingProxyType(features),
        MappingProxyType(biases),
        MappingProxyType(weights),
        hard["plain_backgrounds"],
        hard["plain_max_texture"],
        hard["plain_max_std"],
        fill,  # type: ignore[arg-type]
        MappingProxyType(prompts),
        rules,
    )


def load_grading(path: Path | str | None = None) -> Grading:
    return _load(Path(path).resolve() if path is not None else DEFAULT_PATH)


@lru_cache(maxsize=4)
def _load(path: Path) -> Grading:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: grading file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from None
    return parse_grading(data, str(path))


def fill_gap(fill: float, span: tuple[float, float]) -> float:
    """How far `fill` lies outside [min, max] (0 inside)."""
    low, high = span
    return max(0.0, low - fill, fill - high)


def _contributions(
    grading: Grading, grade: str, values: Mapping[str, float]
) -> list[Contribution]:
    found = []
    for name, weight in grading.weights[grade].items():
        feature = grading.features[name]
        value = values.get(feature.signal)
        if value is None or math.isnan(value):
            continue  # not measured: no evidence either way
        evidence = feature.evidence(value)
        found.append(
            Contribution(name, feature.signal, value, evidence, weight, weight * evidence)
        )
    return found


def _plain(grading: Grading, signals: Signals, span: tuple[float, float]) -> bool:
    return (
        signals.text_outside == 0
        and signals.background_class in grading.plain_backgrounds
        and signals.background_texture <= grading.plain_max_texture
        and signals.background_std <= grading.plain_max_std
        and span[0] <= signals.object_fill <= span[1]
    )


def grade(
    signals: Signals, profile: Profile | None = None, grading: Grading | None = None
) -> Grade:
    """The grade of a photo's signals; the profile gives the product's span range."""
    grading = grading or load_grading()
    span = profile.fill_range(grading.default_fill) if profile else grading.default_fill
    values = signals.values()
    # no product mask (no cutter): the span is unknown, not wrong
    values["fill_gap"] = fill_gap(signals.object_fill, span) if signals.object_share else math.nan
    scored = {}
    contributions = {}
    for name in GRADES:
        found = _contributions(grading, name, values)
        contributions[name] = found
        scored[name] = grading.biases[name] + sum(c.contribution for c in found)
    rule = None
    candidates = GRADES
    if signals.text_count == 0:
        rule, candidates = "no_text", CLEAN
    if _plain(grading, signals, span):
        rule, candidates = "plain_light_background", ("clean_good_background",)
    ranked = sorted(GRADES, key=lambda g: (g not in candidates, -scored[g]))
    for hard in grading.rules:
        if hard.applies(ranked[0], values):
            rule, candidates = hard.id, (hard.sets,)
            ranked = sorted(GRADES, key=lambda g: (g not in candidates, -scored[g]))
            break
    label = ranked[0]
    deciding = sorted(
        (c for c in contributions[label] if c.contribution != 0.0),
        key=lambda c: -abs(c.contribution),
    )
    return Grade(label, MappingProxyType(scored), tuple(deciding), rule, ranked[1])
