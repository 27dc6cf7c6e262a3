"""Which words a stored result adds to its photo's entry in the search index: one function
per result kind (the kind and payload the bot stores, `bot.rendering.result_payload`).

A kind not listed adds nothing (image results: an edit is not what the photo shows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: the payload of one stored result -> its texts, in the order worth showing
ResultTexts = Callable[[Mapping[str, Any]], list[str]]


def tag_texts(payload: Mapping[str, Any]) -> list[str]:
    """/tag: every item and attribute tag, Russian and English."""
    texts = []
    for tag in [*payload.get("tags", ()), *payload.get("attributes", ())]:
        if isinstance(tag, Mapping):
            texts += [str(tag.get("ru") or ""), str(tag.get("en") or "")]
    return [text for text in texts if text]


def description_texts(payload: Mapping[str, Any]) -> list[str]:
    """/describe: the Russian copy, its English original, the BLIP caption and its tags."""
    texts = [str(payload.get("title") or ""), *map(str, payload.get("benefits", ()))]
    texts.append(str(payload.get("closing") or ""))
    english = payload.get("english")
    if isinstance(english, Mapping):
        texts += [str(english.get("title") or ""), *map(str, english.get("benefits", ()))]
        texts.append(str(english.get("closing") or ""))
    texts.append(str(payload.get("caption") or ""))
    texts += [str(tag) for tag in payload.get("tags", ())]
    return [text for text in texts if text]


def recognised_texts(payload: Mapping[str, Any]) -> list[str]:
    """A result that read text on the photo (OCR): ``payload["texts"]`` as a list of strings
    or of ``{"text": ...}`` records (the check issue's `FoundText`); unread boxes
    (``text`` None) add nothing."""
    found = []
    for item in payload.get("texts", ()) or ():
        text = item.get("text") if isinstance(item, Mapping) else item
        if isinstance(text, str) and text.strip():
            found.append(text.strip())
    return found


#: result kind -> its texts. The check issue's result (/check: the words Tesseract read on
#: the photo) is wired here under its kind: CHECK_RESULT_KIND below.
RESULT_TEXTS: dict[str, ResultTexts] = {
    "tags": tag_texts,
    "description": description_texts,
}

#: the kind a /check result is stored under (bot.rendering.result_payload): its payload is
#: `CheckSummary.to_payload()`, whose ``texts`` are `TextLine` records with ``text``
CHECK_RESULT_KIND = "check"
RESULT_TEXTS[CHECK_RESULT_KIND] = recognised_texts

#: the kind of the photo's own caption in the index (not a result)
CAPTION = "caption"


def texts_of(kind: str, payload: Mapping[str, Any]) -> list[str]:
    """The texts a result of ``kind`` adds to the index (empty for an unknown kind or a
    payload that is not what the kind promises)."""
    function = RESULT_TEXTS.get(kind)
    if function is None:
        return []
    try:
        return function(payload)
    except (TypeError, AttributeError, ValueError):  # an old or foreign payload
        return []
