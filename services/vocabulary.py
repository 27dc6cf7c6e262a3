"""Tag vocabularies: the English/Russian terms CLIP chooses from, one TSV file per domain.

Files live in ``services/vocabularies/<domain>.tsv`` (package data). Format: UTF-8,
tab-separated, a header line ``en<TAB>ru<TAB>prompt<TAB>group`` (prompt and group are
optional), ``#`` starts a comment line, blank lines are skipped. An empty prompt becomes
``a photo of a/an {en}``; an empty group is ``item``. Terms of one group compete with each
other only: the items name the thing, and each attribute group (``colour``, ``material``…)
describes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DOMAINS = ("product", "hotel")
DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "vocabularies"
ITEM = "item"
_HEADERS = (("en", "ru"), ("en", "ru", "prompt"), ("en", "ru", "prompt", "group"))
_GROUP = re.compile(r"^[a-z][a-z_]*$")


@dataclass(frozen=True)
class Term:
    en: str
    ru: str
    prompt: str
    group: str = ITEM


def default_prompt(en: str) -> str:
    article = "an" if en[:1].lower() in "aeiou" else "a"
    return f"a photo of {article} {en}"


def load_vocabulary(domain: str, directory: Path | None = None) -> tuple[Term, ...]:
    """The terms of ``domain`` in file order; parsed once per (domain, directory)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown vocabulary domain {domain!r}; valid: {', '.join(DOMAINS)}")
    folder = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    return _load(domain, folder.resolve())


@lru_cache(maxsize=16)
def _load(domain: str, folder: Path) -> tuple[Term, ...]:
    path = folder / f"{domain}.tsv"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: vocabulary file not found") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not valid UTF-8 ({exc.reason})") from None
    return _parse(text, path)


def _parse(text: str, path: Path) -> tuple[Term, ...]:
    terms: list[Term] = []
    seen: dict[str, int] = {}
    header_seen = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        while len(cells) > 2 and not cells[-1]:
            cells.pop()  # an empty trailing prompt column
        if not header_seen:
            if tuple(cells) not in _HEADERS:
                raise ValueError(
                    f"{path}:{lineno}: expected the header 'en<TAB>ru<TAB>prompt<TAB>group', "
                    f"got {line!r}"
                )
            header_seen = True
            continue
        if len(cells) < 2 or len(cells) > 4:
            raise ValueError(
                f"{path}:{lineno}: expected 2 to 4 tab-separated columns, got {len(cells)}"
            )
        en, ru = cells[0], cells[1]
        prompt = cells[2] if len(cells) >= 3 else ""
        group = cells[3] if len(cells) == 4 else ITEM
        if not _GROUP.match(group):
            raise ValueError(f"{path}:{lineno}: group must be a lowercase word, got {group!r}")
        if not en:
            raise ValueError(f"{path}:{lineno}: empty English term")
        if not ru:
            raise ValueError(f"{path}:{lineno}: empty Russian translation for {en!r}")
        key = en.casefold()
        if key in seen:
            raise ValueError(f"{path}:{lineno}: duplicate term {en!r} (first on line {seen[key]})")
        seen[key] = lineno
        terms.append(Term(en=en, ru=ru, prompt=prompt or default_prompt(en), group=group))
    if not any(term.group == ITEM for term in terms):
        raise ValueError(f"{path}: no terms of the group '{ITEM}'")
    return tuple(terms)
