"""The words read on a photo: which are Russian, which are in another language, which are
not words at all (symbols, fragments, scripts mixed inside a word). Pure Python.

Sellers on Russian marketplaces write for Russian buyers: an infographic with no Russian
word, or one that reads as mostly non-words, is a bad one (grading.toml's hard rules).
Tesseract reads with ``rus+eng`` and mixes the letters the two alphabets share (it reads
«Не мнётся» as ``He мнётся``): a word made only of such letters («НЕ», «TOP») says nothing
about the language, and Latin look-alikes inside a Cyrillic word are Cyrillic. A word of
two letters, or one without a vowel («мл», «USB»), says nothing either: readings of
texture are full of such fragments. Shares are by characters, so that a stray «|» at a
plate's edge weighs one character against a line of words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

RUSSIAN = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
VOWELS = frozenset("аеёиоуыэюяaeiouy")
#: letters drawn alike in both alphabets, by case (Latin and Cyrillic)
LOOK_ALIKE = frozenset("ABCEHKMOPTXYaceopxyАВСЕНКМОРТХУасеорху")
#: one-letter Russian words (prepositions, conjunctions); other lone letters are fragments
ONE_LETTER = frozenset("вкосуияа")
#: lone marks that are punctuation in a caption, not noise
PUNCTUATION = frozenset("-–—/+&%•·:;,.!?«»\"'()№*")
#: a number with a short unit (350мл, 4K, 18/10, 42–56, 100%, 5G)
_NUMBER = re.compile(r"^[+\-]?\d[\d.,:/×x%–\-]*[^\W\d_]{0,3}$|^[^\W\d_]{1,10}\d+$")
#: this many consonants in a row is not a word (Russian and English stay below)
CONSONANT_RUN = 6
#: a word of this many letters or more without a vowel is not a word («СССР» is the
#: rare exception; «мл», «кг», «USB» stay below)
NO_VOWEL = 4
#: a word shows its language with at least this many letters and a vowel
SHOWS_LANGUAGE = 3

RU, FOREIGN, AMBIGUOUS, NUMBER, NONWORD, IGNORED = (
    "russian",
    "foreign",
    "ambiguous",
    "number",
    "nonword",
    "ignored",
)


def kind(token: str) -> str:
    """What one whitespace-separated token is: russian | foreign (another alphabet's word)
    | ambiguous (a word whose language does not show: only letters both alphabets share,
    two letters, no vowel) | number | nonword | ignored (a lone punctuation mark, a
    one-letter Russian word)."""
    core = token.strip("".join(PUNCTUATION) + " ")
    if not core:
        return IGNORED if token and all(ch in PUNCTUATION for ch in token) else NONWORD
    letters = [ch for ch in core if ch.isalpha()]
    if not letters:
        return NUMBER if any(ch.isdigit() for ch in core) else NONWORD
    if any(ch.isdigit() for ch in core):
        return NUMBER if _NUMBER.match(core) else NONWORD
    if any(not (ch.isalpha() or ch in "-'’") for ch in core):
        return NONWORD  # a symbol inside a word
    if len(letters) == 1:
        return IGNORED if core.casefold() in ONE_LETTER else NONWORD
    script = _script(letters)
    if script is None or not _pronounceable(core):
        return NONWORD
    if len(letters) < SHOWS_LANGUAGE or not any(ch.casefold() in VOWELS for ch in letters):
        return AMBIGUOUS  # «по», «мл», «USB»: a word, but no evidence of its language
    return script


def _script(letters: list[str]) -> str | None:
    """russian, foreign or ambiguous; None: two alphabets mixed in one word."""
    cyrillic = [ch for ch in letters if ch.casefold() in RUSSIAN]
    latin = [ch for ch in letters if ch.casefold() in LATIN]
    if len(cyrillic) + len(latin) < len(letters):
        return None  # another alphabet (Greek, Ukrainian і...) read by mistake
    if all(ch in LOOK_ALIKE for ch in letters):
        return AMBIGUOUS
    if not latin:
        return RU
    if not cyrillic:
        return FOREIGN
    if all(ch in LOOK_ALIKE for ch in latin):
        return RU  # «He» in «He мнётся»: Latin look-alikes in a Cyrillic word
    if all(ch in LOOK_ALIKE for ch in cyrillic):
        return FOREIGN
    return None


def _pronounceable(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    lower = [ch.casefold() for ch in letters]
    if len(lower) >= NO_VOWEL and not any(ch in VOWELS for ch in lower):
        return False
    run = 0
    for ch in lower:
        run = 0 if ch in VOWELS or ch in "ьъй" else run + 1
        if run >= CONSONANT_RUN:
            return False
    # case jumping about inside a word (hElLo) is a misreading; iPhone, McDonald are not
    jumps = sum(
        1 for a, b in zip(letters, letters[1:], strict=False) if a.islower() and b.isupper()
    )
    return jumps < 2


@dataclass(frozen=True)
class Language:
    """What the text added on a photo reads as (see `language`): characters by kind."""

    russian: int  # letters of the Russian words
    foreign: int  # letters of the words in another alphabet (Latin)
    other: int  # characters of the words whose language does not show, and of numbers
    nonwords: int  # characters of the non-words
    tokens: int  # tokens read but lone punctuation and one-letter Russian words

    @property
    def letters(self) -> int:
        """Letters of the words whose language shows: enough to judge?"""
        return self.russian + self.foreign

    @property
    def russian_share(self) -> float:
        """Russian letters among those of the words whose language shows (NaN: none)."""
        return self.russian / self.letters if self.letters else float("nan")

    @property
    def nonword_share(self) -> float:
        """Characters of non-words among all those read (NaN: nothing read)."""
        total = self.russian + self.foreign + self.other + self.nonwords
        return self.nonwords / total if total else float("nan")


def language(texts: Iterable[str]) -> Language:
    """Count the characters of `texts` (the lines read) by the `kind` of their tokens."""
    counts = dict.fromkeys((RU, FOREIGN, AMBIGUOUS, NUMBER, NONWORD, IGNORED), 0)
    tokens = 0
    for text in texts:
        for token in text.split():
            found = kind(token)
            if found == IGNORED:
                continue
            tokens += 1
            if found in (RU, FOREIGN):
                counts[found] += sum(ch.isalpha() for ch in token)
            else:
                counts[found] += len(token)
    other = counts[AMBIGUOUS] + counts[NUMBER]
    return Language(counts[RU], counts[FOREIGN], other, counts[NONWORD], tokens)
