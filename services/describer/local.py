"""The local path's English text: photo facts (caption + tags) into well-written templates.

Templates live in templates.json, per domain. Which title, lines and closing a photo gets is
decided by the photo's sha256 and the variant number: the same photo gives the same text,
another photo or "Another variant" gives another (title and closing always change with the
variant). Lines that need a fact (a colour, a material, the caption) are used only when the
photo has it, and such photo-specific lines come first.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from services.describer.result import Copy

TEMPLATES_PATH = Path(__file__).resolve().parent / "templates.json"
_PLURAL_ONLY = {
    "jeans",
    "shorts",
    "socks",
    "sneakers",
    "boots",
    "sandals",
    "headphones",
    "sunglasses",
    "glasses",
    "curtains",
    "towels",
    "plants",
    "flowers",
    "tulips",
    "cosmetics",
}
_FALLBACK_ITEM = {"product": "item", "hotel": "cosy interior"}


@dataclass(frozen=True)
class Facts:
    """What the photo says, in English: the main item, other items, attributes, caption."""

    domain: str
    item: str
    extras: tuple[str, ...] = ()
    colour: str = ""
    material: str = ""
    style: str = ""
    scene: str = ""

    @property
    def tags(self) -> tuple[str, ...]:
        attributes = (self.colour, self.material, self.style)
        return (self.item, *self.extras, *(a for a in attributes if a))


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES_PATH) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def facts_from(domain: str, caption: str, items: list[str], attributes: dict[str, str]) -> Facts:
    """Facts from the tagger's items (most probable first) and attributes, and a caption."""
    item = items[0] if items else _FALLBACK_ITEM.get(domain, "item")
    return Facts(
        domain=domain,
        item=item,
        extras=tuple(items[1:4]),
        colour=attributes.get("colour", ""),
        material=attributes.get("material", ""),
        style=attributes.get("style", ""),
        scene=clean_caption(caption),
    )


def clean_caption(caption: str) -> str:
    """A caption worth quoting, or "" (a noise model's output, or one word, is not)."""
    text = " ".join(caption.replace("\n", " ").split()).strip(" .,;:-").lower()
    words = text.split()
    real = [w for w in words if re.fullmatch(r"[a-z][a-z'-]+", w)]
    if len(words) < 3 or len(words) > 16 or len(real) < 0.8 * len(words):
        return ""
    return text


def with_article(term: str) -> str:
    if term in _PLURAL_ONLY or (term.endswith("s") and not term.endswith("ss")):
        return term
    return ("an " if term[:1].lower() in "aeiou" else "a ") + term


def _listing(terms: tuple[str, ...]) -> str:
    phrases = [with_article(t) for t in terms]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _slots(facts: Facts) -> dict[str, str]:
    look = " ".join(a for a in (facts.colour, facts.material) if a)
    look_item = f"{look} {facts.item}".strip()
    slots = {
        "item": facts.item,
        "a_item": with_article(facts.item),
        "look": look,
        "look_item": look_item,
        "colour": facts.colour,
        "material": facts.material,
        "style": facts.style,
        "scene": facts.scene,
        "extra": with_article(facts.extras[0]) if facts.extras else "",
        "extras": _listing(facts.extras[:3]) if facts.extras else "",
    }
    for key in list(slots):
        slots[key[0].upper() + key[1:]] = _capital(slots[key])
    return slots


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def write_english(facts: Facts, seed: str, variant: int = 0) -> tuple[Copy, str]:
    """(the English text, which templates were used) for a photo's sha256 and a variant."""
    templates = load_templates()[facts.domain]
    slots = _slots(facts)

    def usable(entries: list[dict[str, Any]]) -> list[int]:
        return [i for i, e in enumerate(entries) if all(slots.get(n) for n in e.get("needs", ()))]

    base = int(seed[:16], 16) if seed else 0
    titles, closings = usable(templates["titles"]), usable(templates["closings"])
    title = titles[(base + variant) % len(titles)]
    closing = closings[(base // 7 + variant) % len(closings)]
    rng = random.Random(base * 1009 + variant)
    lines = usable(templates["benefits"])
    grounded = [i for i in lines if templates["benefits"][i].get("needs")]
    generic = [i for i in lines if i not in grounded]
    count = 3 + (base // 49 + variant) % 3
    chosen: list[int] = []
    used: set[str] = set()
    for index in rng.sample(grounded, len(grounded)):  # two lines on two different facts
        needs = set(templates["benefits"][index]["needs"])
        if len(chosen) < 2 and not needs & used:
            chosen.append(index)
            used |= needs
    chosen += rng.sample(generic, min(count - len(chosen), len(generic)))

    def render(entry: dict[str, Any]) -> str:
        return " ".join(_capital(entry["text"].format_map(slots)).split())

    copy = Copy(
        title=render(templates["titles"][title]),
        benefits=tuple(render(templates["benefits"][i]) for i in chosen),
        closing=render(templates["closings"][closing]),
    )
    return copy, f"t{title}-c{closing}-b{'.'.join(map(str, chosen))}"
