"""How well OCR read a drawn line back: character accuracy, 1 - Levenshtein / length, on
normalised text (case, ё/е, punctuation and hyphens, spacing)."""

from __future__ import annotations

import re

_KEEP = re.compile(r"[^\w\s]|_")


def normalised(text: str) -> str:
    text = _KEEP.sub("", text.casefold().replace("ё", "е"))
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def accuracy(drawn: str, read: str) -> float:
    """1 - edit distance / length of the drawn text, 0..1 (1: read exactly)."""
    want, got = normalised(drawn), normalised(read)
    if not want:
        return 1.0
    return max(0.0, 1.0 - levenshtein(want, got) / len(want))
