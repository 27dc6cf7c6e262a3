"""The seller article a photo is for, from its file name or its caption (rules: articles.toml
beside this module)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePath

RULES_PATH = Path(__file__).with_name("articles.toml")
#: what an article may hold: letters, digits and - _ . / (WB's vendorCode alphabet, roughly)
_ARTICLE = r"[0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё_./\-]{0,74}"


@dataclass(frozen=True)
class Rules:
    suffix: re.Pattern[str]
    ignore: tuple[re.Pattern[str], ...]
    caption: re.Pattern[str]


@lru_cache(maxsize=2)
def rules(path: Path = RULES_PATH) -> Rules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    names, caption = data["filename"], data["caption"]
    separators = "".join(re.escape(sep) for sep in names["separators"])
    words = "|".join(re.escape(word) for word in names["words"])
    digits = int(names["number_digits"])
    suffix = re.compile(rf"^(?P<article>.+?)[{separators}](?:\d{{1,{digits}}}|{words})$", re.I)
    caption_words = "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in caption["words"])
    caption_re = re.compile(
        rf"(?<![\w])(?:{caption_words})\s*[.:№#]?\s*[.:№#]?\s*(?P<article>{_ARTICLE})", re.I
    )
    return Rules(
        suffix=suffix,
        ignore=tuple(re.compile(p, re.I) for p in names["ignore"]),
        caption=caption_re,
    )


def _clean(article: str) -> str:
    return article.strip().strip(".-_/")


def from_filename(name: str | None) -> list[str]:
    """Candidates for the article in a file's name, best first: the stem less its suffix,
    then the whole stem; [] for a camera's or messenger's name (IMG_1234.jpg)."""
    if not name:
        return []
    stem = PurePath(name).stem.strip()
    if not stem or any(p.search(stem) for p in rules().ignore):
        return []
    candidates = []
    match = rules().suffix.match(stem)
    if match:
        candidates.append(_clean(match.group("article")))
    candidates.append(_clean(stem))
    return [c for i, c in enumerate(candidates) if c and c not in candidates[:i]]


def from_caption(text: str | None) -> str | None:
    """The article a caption or a reply names: "арт. 12345" -> "12345"."""
    if not text:
        return None
    match = rules().caption.search(text)
    return _clean(match.group("article")) if match else None


def candidates(filename: str | None, caption: str | None) -> list[str]:
    """What to look a photo's card up by, best first: the caption's article (the seller
    said it), then the file name's."""
    found = []
    said = from_caption(caption)
    if said:
        found.append(said)
    found.extend(c for c in from_filename(filename) if c not in found)
    return found
