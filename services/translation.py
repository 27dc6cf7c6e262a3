"""Text around the translation model: sentences, protected tokens, length caps.

opus-mt translates sentences; what a listing needs intact (numbers and units, brand-like
Latin words in a Russian text, model codes such as "XR-200", emoji) is found here first.
Each sentence is translated whole in one batch per call; when the translation lost a
protected token, that sentence is translated again in pieces: the text between protected
tokens goes to the model, the tokens themselves are put back in place (units localised:
"42 см" <-> "42 cm"). The check needs no trust in the model, so it holds for a noise model too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN = re.compile(r"[A-Za-z]")
EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u20e3"

#: unit spelled in Russian -> in English (case matters: "В" is volts, "в" is a preposition)
UNITS = {
    "мм": "mm",
    "см": "cm",
    "м": "m",
    "км": "km",
    "мг": "mg",
    "г": "g",
    "кг": "kg",
    "мл": "ml",
    "л": "l",
    "Вт": "W",
    "кВт": "kW",
    "В": "V",
    "мАч": "mAh",
    "Втч": "Wh",
    "КБ": "KB",
    "МБ": "MB",
    "ГБ": "GB",
    "ТБ": "TB",
    "Гц": "Hz",
    "кГц": "kHz",
    "МГц": "MHz",
    "ГГц": "GHz",
    "шт": "pcs",
    "дюйм": "inch",
    "дюймов": "inches",
    "%": "%",
    "°C": "°C",
    "°": "°",
    "м²": "m²",
    "кв. м": "sq m",
    "₽": "₽",
    "руб": "RUB",
}
_UNIT_TO = {"en": UNITS, "ru": {en: ru for ru, en in UNITS.items()}}
_UNIT_ALT = "|".join(
    re.escape(u) for u in sorted({*UNITS, *UNITS.values()}, key=len, reverse=True)
)
_ONE = r"(?:\d{1,3}(?:[ \u00a0]\d{3})+(?!\d)|\d+(?:[.,]\d+)*)"
_NUMBER = rf"[-+±]?{_ONE}(?:\s?[-–x×/]\s?{_ONE})*"
_PATTERNS = {
    "emoji": rf"[{EMOJI}]+",
    "number": rf"{_NUMBER}(?:\s?(?:{_UNIT_ALT})(?![\w²]))?",
    # letters and digits mixed, or letter groups joined by hyphens around digits: XR-200, A4
    "code": r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*",
}
_LATIN_RUN = r"[A-Za-z][A-Za-z0-9&'+.\-]*(?:\s+[A-Za-z0-9][A-Za-z0-9&'+.\-]*)*"
# In an English source only what looks like a name: ACRONYMS, iPhone-like, mid-sentence Names.
_EN_NAME = r"(?<=[\w,;:]\s)[A-Z][a-z]+(?:\s[A-Z][a-z]+)*|\b[A-Z]{2,}\b|\b[a-z]+[A-Z]\w*"
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«(\[]?[A-ZА-ЯЁ0-9" + EMOJI + r"])")
_PREFIX = re.compile(r"^[\s•·*>\-–—" + EMOJI + r"]+")
_SUFFIX = re.compile(r"[\s" + EMOJI + r"]+$")
MAX_SENTENCE_CHARS = 400


def has_cyrillic(text: str) -> bool:
    return bool(CYRILLIC.search(text))


@dataclass(frozen=True)
class Piece:
    text: str
    keep: bool  # a protected token: not sent to the model


def _protector(source: str) -> re.Pattern[str]:
    names = _LATIN_RUN if source == "ru" else _EN_NAME
    alternatives = [_PATTERNS["emoji"], _PATTERNS["code"], _PATTERNS["number"], names]
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


_PROTECT = {"ru": _protector("ru"), "en": _protector("en")}


def protect(sentence: str, source: str) -> list[Piece]:
    """The sentence cut into text to translate and tokens to keep, in order."""
    pieces: list[Piece] = []
    position = 0
    for match in _PROTECT[source].finditer(sentence):
        if match.start() > position:
            pieces.append(Piece(sentence[position : match.start()], False))
        pieces.append(Piece(match.group(0), True))
        position = match.end()
    if position < len(sentence):
        pieces.append(Piece(sentence[position:], False))
    return pieces


def localise(token: str, target: str) -> str:
    """A kept token as the target language writes it: "1,5 кг" -> "1.5 kg" and back."""
    match = re.fullmatch(rf"({_NUMBER})(\s?)({_UNIT_ALT})?", token)
    if match is None:
        return token
    number, space, unit = match.group(1), match.group(2), match.group(3)
    decimal = "." if target == "en" else ","
    number = re.sub(r"(?<=\d)[.,](?=\d{1,2}(?!\d))", decimal, number)
    if unit:
        unit = _UNIT_TO[target].get(unit, unit)
    return number + space + (unit or "")


def split_sentences(text: str) -> list[tuple[str, str]]:
    """(sentence, the whitespace after it); joining them gives the text back."""
    parts: list[tuple[str, str]] = []
    for line in re.split(r"(\n+)", text):
        if not line:
            continue
        if line.startswith("\n"):
            if parts:
                parts[-1] = (parts[-1][0], parts[-1][1] + line)
            else:
                parts.append(("", line))
            continue
        chunks = _SENTENCE_END.split(line)
        separators = _SENTENCE_END.findall(line)
        for index, chunk in enumerate(chunks):
            for piece in _cut_long(chunk):
                parts.append((piece, " "))
            parts[-1] = (parts[-1][0], separators[index] if index < len(separators) else "")
    return parts


def _cut_long(sentence: str) -> list[str]:
    """A run-on "sentence" is cut at commas or spaces into model-sized parts."""
    out = []
    while len(sentence) > MAX_SENTENCE_CHARS:
        cut = max(
            sentence.rfind(", ", 0, MAX_SENTENCE_CHARS), sentence.rfind(" ", 0, MAX_SENTENCE_CHARS)
        )
        cut = cut if cut > 0 else MAX_SENTENCE_CHARS
        out.append(sentence[:cut].rstrip(", "))
        sentence = sentence[cut:].lstrip(", ")
    out.append(sentence)
    return out


Model = Callable[[Sequence[str]], list[str]]


class TextTranslator:
    """Whole texts through a sentence model, protected tokens intact, length capped.

    ``model`` translates a batch of sentences (``MarianTranslator.translate``). Text with no
    letters of the source alphabet passes through unchanged (English sent to ru->en).
    """

    def __init__(
        self,
        model: Model,
        source: str,
        target: str,
        *,
        max_chars: int = 3000,
        max_input_chars: int = 5000,
    ) -> None:
        self.model = model
        self.source = source
        self.target = target
        self.max_chars = max_chars
        self.max_input_chars = max_input_chars
        self._needs = has_cyrillic if source == "ru" else (lambda s: bool(LATIN.search(s)))

    def translate(self, text: str) -> str:
        return self.translate_many([text])[0]

    def translate_many(self, texts: Sequence[str]) -> list[str]:
        """Every sentence of every text in one model batch (plus one for repairs)."""
        plans = [
            split_sentences(text[: self.max_input_chars]) if self._needs(text) else None
            for text in texts
        ]
        jobs: list[tuple[str, str, str]] = []  # (prefix, core, suffix) of each sentence
        for plan in plans or []:
            for sentence, _ in plan or []:
                jobs.append(_frame(sentence))
        cores = [core for _, core, _ in jobs]
        wanted = list(dict.fromkeys(core for core in cores if self._translatable(core)))
        translated = self.model(wanted) if wanted else []
        done = self._repair(
            {core: _cap(out, core) for core, out in zip(wanted, translated, strict=True)}
        )
        results = []
        index = 0
        for text, plan in zip(texts, plans, strict=True):
            if plan is None:
                results.append(text)
                continue
            out = []
            for _sentence, separator in plan:
                prefix, core, suffix = jobs[index]
                index += 1
                out.append(prefix + (done.get(core) or self._kept_only(core)) + suffix + separator)
            results.append("".join(out).strip()[: self.max_chars])
        return results

    def _translatable(self, core: str) -> bool:
        return any(not p.keep and self._needs(p.text) for p in protect(core, self.source))

    def _kept_only(self, core: str) -> str:
        """A sentence with nothing to translate: its tokens, localised."""
        return "".join(
            localise(p.text, self.target) if p.keep else p.text for p in protect(core, self.source)
        )

    def _repair(self, done: dict[str, str]) -> dict[str, str]:
        """Sentences whose translation lost a protected token: again, in pieces."""
        broken = {}
        for core, translated in done.items():
            kept = [localise(p.text, self.target) for p in protect(core, self.source) if p.keep]
            if any(token not in translated for token in kept):
                broken[core] = protect(core, self.source)
        runs = [
            p.text.strip()
            for pieces in broken.values()
            for p in pieces
            if not p.keep and self._needs(p.text)
        ]
        unique = list(dict.fromkeys(runs))
        translated = self.model(unique) if unique else []
        parts = {run: _cap(out, run) for run, out in zip(unique, translated, strict=True)}
        for core, pieces in broken.items():
            out = []
            for piece in pieces:
                if piece.keep:
                    out.append(localise(piece.text, self.target))
                elif self._needs(piece.text):
                    lead = piece.text[: len(piece.text) - len(piece.text.lstrip())]
                    tail = piece.text[len(piece.text.rstrip()) :]
                    out.append(lead + parts.get(piece.text.strip(), "").strip(" .") + tail)
                else:
                    out.append(piece.text)
            done[core] = re.sub(r"\s{2,}", " ", "".join(out)).strip()
        return done


def _cap(translation: str, source: str) -> str:
    """A translation is about as long as its source; noise is cut at three times that."""
    return translation[: max(3 * len(source), 40)]


def _frame(sentence: str) -> tuple[str, str, str]:
    """Bullets and emoji around a sentence stay outside the model: (prefix, core, suffix)."""
    prefix = _PREFIX.match(sentence)
    start = prefix.end() if prefix else 0
    suffix = _SUFFIX.search(sentence, start)
    end = suffix.start() if suffix else len(sentence)
    return sentence[:start], sentence[start:end], sentence[end:]


class Translators:
    """Both directions behind one object. ``to_english`` is the hook other operations take:
    thread-safe (the model serialises its calls), English passes through untouched."""

    def __init__(self, en_ru: Model, ru_en: Model) -> None:
        self.en_ru = TextTranslator(en_ru, "en", "ru")
        self.ru_en = TextTranslator(ru_en, "ru", "en")

    def to_english(self, text: str) -> str:
        return self.ru_en.translate(text) if has_cyrillic(text) else text

    def to_russian_many(self, texts: Sequence[str]) -> list[str]:
        return self.en_ru.translate_many(texts)
