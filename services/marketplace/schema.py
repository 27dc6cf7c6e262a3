"""Checking the tables of a TOML data file (profiles.toml, grading.toml): each checker takes
(value, where) and returns the value converted, or raises `DataError` naming the place."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any


class DataError(ValueError):
    """A data file is wrong; the message says which file, table and key."""


Check = Callable[[Any, str], Any]
#: the key has no default: leaving it out is an error
MISSING = object()


def fail(where: str, message: str) -> DataError:
    return DataError(f"{where}: {message}")


def anything(value: Any, where: str) -> Any:
    """A sub-table or value its owner checks itself."""
    return value


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise fail(where, f"must be true or false, not {value!r}")
    return value


def string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(where, f"must be a non-empty string, not {value!r}")
    return value.strip()


def pixels(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise fail(where, f"must be a whole number of pixels 1..100000, not {value!r}")
    return value


def number(low: float, high: float) -> Check:
    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(where, f"must be a number, not {value!r}")
        if not low <= value <= high:
            raise fail(where, f"must be within {low}..{high}, not {value!r}")
        return float(value)

    return check


def quality(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise fail(where, f"must be a JPEG quality 1..100, not {value!r}")
    return value


def ratio(value: Any, where: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,3})\s*:\s*(\d{1,3})\s*", str(value))
    if not isinstance(value, str) or not match or "0" in (match[1], match[2]):
        raise fail(where, f'must be a ratio like "3:4", not {value!r}')
    return int(match[1]), int(match[2])


def formats(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise fail(where, f"must be a non-empty list of format names, not {value!r}")
    known = ("JPEG", "PNG", "WEBP", "GIF")
    for item in value:
        if item not in known:
            raise fail(where, f"unknown format {item!r}; known: {', '.join(known)}")
    return tuple(value)


def one_of(options: tuple[str, ...]) -> Check:
    def check(value: Any, where: str) -> str:
        if value not in options:
            raise fail(where, f"must be one of {', '.join(options)}, not {value!r}")
        return value

    return check


def words(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise fail(where, f"must be a list of non-empty strings, not {value!r}")
    return tuple(" ".join(w.split()) for w in value)


def regexes(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
        raise fail(where, f"must be a list of regular expressions, not {value!r}")
    for regex in value:
        try:
            re.compile(regex)
        except re.error as exc:
            raise fail(where, f"bad regular expression {regex!r}: {exc}") from None
    return tuple(value)


def colour(value: Any, where: str) -> tuple[int, int, int]:
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise fail(where, f'must be a colour "#rrggbb", not {value!r}')
    return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def table(data: Any, where: str, keys: Mapping[str, tuple[Check, Any]]) -> dict[str, Any]:
    """Check a TOML table against `keys`: unknown and missing keys are errors."""
    if not isinstance(data, dict):
        raise fail(where, f"must be a table, not {type(data).__name__}")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise fail(where, f"unknown key {unknown[0]!r}; known: {', '.join(keys)}")
    result = {}
    for key, (check, default) in keys.items():
        if key in data:
            result[key] = check(data[key], f"{where}.{key}")
        elif default is MISSING:
            raise fail(where, f"missing key {key!r}")
        else:
            result[key] = check(default, f"{where}.{key}")
    return result
