"""Words as the full-text index sees them, on both sides (stored text and query).

SQLite's FTS5 tokenizers cannot be written in Python through the standard library, so the
index is given text that is already normalised: lower-cased, ё = е, split on anything that
is not a letter or a digit, stop words dropped, and each word reduced to its Snowball stem
(PyStemmer: Russian for Cyrillic words, English for Latin ones). FTS5 then only splits on
spaces (``unicode61``), and a query is stemmed the same way, so «кружки» meets «синяя
кружка» (stem «кружк») and "mugs" meets "mug".

`VERSION` names this normalisation: the index is rebuilt when it changes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import Stemmer

#: bump when the output of `stem_word` / `words` changes: stored stems are rebuilt
VERSION = 1
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")
_LATIN = re.compile(r"[a-z]")
MAX_WORD = 40  # longer "words" are noise (hashes, glued text)
_RU_STOP = "и в во на с со к ко по о об от до из за для у не ни но а или что это как так же бы ли"
_EN_STOP = "the a an of and or in on at to for with by from is are be as it its this that"
STOP_WORDS = frozenset(_RU_STOP.split(" ") + _EN_STOP.split(" "))


@dataclass(frozen=True)
class Word:
    raw: str  # as written (for "why it matched")
    stem: str  # what the index holds


@functools.cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def normalise(word: str) -> str:
    return word.lower().replace("ё", "е")


def stem_word(word: str) -> str:
    """One normalised word's stem: Russian Snowball for Cyrillic, English for Latin, digits
    and mixed scripts as they are."""
    if _CYRILLIC.search(word) and not _LATIN.search(word):
        return _stemmer("russian").stemWord(word)
    if _LATIN.search(word) and not _CYRILLIC.search(word) and word.isalpha():
        return _stemmer("english").stemWord(word)
    return word


def words(text: str) -> Iterator[Word]:
    """Every indexable word of ``text`` with its stem, in order (stop words left out)."""
    for match in _WORD.finditer(text or ""):
        raw = match.group()
        word = normalise(raw)
        if len(word) > MAX_WORD or word in STOP_WORDS:
            continue
        yield Word(raw, stem_word(word))


def stems(text: str) -> list[str]:
    return [word.stem for word in words(text)]


def index_text(texts: Iterable[str]) -> str:
    """What the FTS5 column holds for these texts: their stems, space-separated."""
    return " ".join(stem for text in texts for stem in stems(text))


def query_stems(query: str, limit: int = 16) -> list[str]:
    """The distinct stems of a query, in order (at most ``limit``)."""
    seen: dict[str, None] = {}
    for stem in stems(query):
        seen.setdefault(stem, None)
    return list(seen)[:limit]


def match_expression(owner: str, query: list[str]) -> str | None:
    """An FTS5 MATCH for one owner's rows holding any of the stems (None: no words).

    Each stem is a quoted string (FTS5 syntax characters in it are inert); the owner token
    is an indexed column, so the index itself keeps other users' rows out."""
    if not query:
        return None
    terms = " OR ".join(_quoted(stem) for stem in query)
    return f"owner : {_quoted(owner)} AND stems : ({terms})"


def matched_words(raw: str, query: Iterable[str]) -> list[str]:
    """The words of ``raw`` whose stem is one of the query's, as written, distinct."""
    wanted = set(query)
    found: dict[str, None] = {}
    for word in words(raw):
        if word.stem in wanted:
            found.setdefault(word.raw.lower(), None)
    return list(found)


def owner_token(user_id: int) -> str:
    """The token of a user's rows in the index's ``owner`` column."""
    return f"u{user_id}".replace("-", "n")  # group chats have negative ids; users do not


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
