"""Banned words on a product photo: marketing words, prices, phone numbers and links.

The lists live in profiles.toml ([banned]); this module matches them Russian-aware: lower
case, ё read as е, dashes and non-breaking spaces unified, and Latin look-alike letters
inside a Cyrillic word read as Cyrillic (OCR and sellers both write «XИT»). Normalising
maps one character to one character, so every hit points at the text as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from services.marketplace.profiles import BannedLists

#: Category of the hits from the word list; pattern hits carry their own (price, phone...).
WORD = "word"
#: A trailing * in a listed word stands for an ending of at most this many letters.
ENDING = 4
_CHARS = {"ё": "е", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2011": "-", "\u2010": "-"}
_LATIN_TO_CYRILLIC = dict(zip("aceopxykmthb", "асеорхукмтнв", strict=True))
_CYRILLIC_TO_LATIN = {cyr: lat for lat, cyr in _LATIN_TO_CYRILLIC.items()}
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class BannedHit:
    category: str  # "word", or a pattern category: rank, discount, price, phone, link
    term: str  # the list entry (for words) or the category
    found: str  # the text as written
    start: int
    end: int


def _lower(char: str) -> str:
    low = char.lower()
    return _CHARS.get(low, low) if len(low) == 1 else char


def _script(letter: str) -> str | None:
    if "а" <= letter <= "я" or letter == "ё":
        return "cyrillic"
    if "a" <= letter <= "z":
        return "latin"
    return None


def _unmix(token: str) -> str:
    """A word mixing scripts is read in one: the script of its letters that have no
    look-alike in the other (и, л: Cyrillic; s, l: Latin), else the majority's."""
    scripts = [_script(char) for char in token]
    cyrillic, latin = scripts.count("cyrillic"), scripts.count("latin")
    if not cyrillic or not latin:
        return token
    own_cyrillic = any(
        s == "cyrillic" and c not in _CYRILLIC_TO_LATIN
        for c, s in zip(token, scripts, strict=True)
    )
    own_latin = any(
        s == "latin" and c not in _LATIN_TO_CYRILLIC for c, s in zip(token, scripts, strict=True)
    )
    cyrillic_wins = own_cyrillic if own_cyrillic != own_latin else cyrillic >= latin
    table = _LATIN_TO_CYRILLIC if cyrillic_wins else _CYRILLIC_TO_LATIN
    return "".join(table.get(char, char) for char in token)


def normalise(text: str) -> str:
    """Lower case, ё → е, one script per word; the same length as `text`."""
    lowered = "".join(_lower(char) for char in text)
    return _TOKEN.sub(lambda match: _unmix(match.group()), lowered)


def _word_regex(entry: str) -> str:
    parts = []
    for token in normalise(entry).split():
        if token.endswith("*"):
            parts.append(re.escape(token[:-1]) + rf"\w{{0,{ENDING}}}")
        else:
            parts.append(re.escape(token))
    return r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)"


class BannedMatcher:
    """The compiled lists; `find` returns the hits in a text, longest first where they
    overlap (a hit inside a longer one is dropped: «хит продаж», not also «хит»)."""

    def __init__(self, lists: BannedLists, extra: Iterable[str] = ()) -> None:
        self.words = tuple(dict.fromkeys((*lists.words, *extra)))
        self._words = [(entry, re.compile(_word_regex(entry))) for entry in self.words]
        self._patterns = [
            (category, re.compile(regex))
            for category, regexes in lists.patterns
            for regex in regexes
        ]

    def find(self, text: str) -> list[BannedHit]:
        plain = normalise(text)
        hits = [
            BannedHit(WORD, entry, text[m.start() : m.end()], m.start(), m.end())
            for entry, regex in self._words
            for m in regex.finditer(plain)
        ]
        hits += [
            BannedHit(category, category, text[m.start() : m.end()].strip(), m.start(), m.end())
            for category, regex in self._patterns
            for m in regex.finditer(plain)
            if m.group().strip()
        ]
        return _outermost(hits, text)


def _outermost(hits: Sequence[BannedHit], text: str) -> list[BannedHit]:
    """Overlapping hits of one pattern category become one («Цена 1 999» and «1 999 ₽»:
    «Цена 1 999 ₽»); a hit inside a longer one is dropped."""
    merged: list[BannedHit] = []
    for hit in sorted(hits, key=lambda hit: (hit.start, -(hit.end - hit.start))):
        for index, other in enumerate(merged):
            same = other.category == hit.category != WORD
            if same and hit.start < other.end and other.start < hit.end:
                start, end = min(other.start, hit.start), max(other.end, hit.end)
                merged[index] = BannedHit(
                    other.category, other.term, text[start:end].strip(), start, end
                )
                break
        else:
            merged.append(hit)
    return [
        hit
        for hit in merged
        if not any(
            o is not hit
            and o.start <= hit.start
            and hit.end <= o.end
            and o.end - o.start > hit.end - hit.start
            for o in merged
        )
    ]


@lru_cache(maxsize=16)
def _matcher(lists: BannedLists, extra: tuple[str, ...]) -> BannedMatcher:
    return BannedMatcher(lists, extra)


def find_banned(
    texts: str | Iterable[str], lists: BannedLists, extra: Sequence[str] = ()
) -> list[BannedHit]:
    """Every banned word, price, phone number and link in `texts` (one string or several:
    the lines OCR read), in reading order."""
    matcher = _matcher(lists, tuple(extra))
    if isinstance(texts, str):
        texts = [texts]
    return [hit for text in texts for hit in matcher.find(text)]
