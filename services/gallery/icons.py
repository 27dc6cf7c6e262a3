"""An icon per benefit: a Font Awesome 4.7 glyph (OFL, Debian's fonts-font-awesome)
chosen by keywords in the benefit's text, Russian stems and English words; a neutral
check mark when nothing matches."""

from __future__ import annotations

import glob
from functools import lru_cache

#: Debian's path first; anything fontconfig would find under /usr/share/fonts after it
FONT_PATHS = (
    "/usr/share/fonts/truetype/font-awesome/fontawesome-webfont.ttf",
    "/usr/share/fonts/**/fontawesome-webfont.ttf",
    "/usr/share/fonts/**/FontAwesome.otf",
)
PACKAGE = "fonts-font-awesome"
NEUTRAL = "\uf058"  # fa-check-circle
#: (glyph, stems): a benefit containing a stem (as a word's start, any case) gets the glyph;
#: the first match in this order wins
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("\uf043", ("вод", "влаг", "непромок", "мыт", "посудомо", "стир", "water", "wash", "dish")),
    ("\uf240", ("аккумулят", "батаре", "заряд", "battery", "charge")),  # fa-battery-full
    ("\uf0e7", ("мощн", "энерг", "быстр", "power", "fast", "energy")),  # fa-bolt
    ("\uf06c", ("эко", "натурал", "хлоп", "лён", "лен", "органи", "eco", "natural", "cotton")),
    ("\uf132", ("защит", "прочн", "надёжн", "надежн", "крепк", "protect", "durable", "strong")),
    ("\uf017", ("час", "врем", "долг", "hour", "time", "long")),  # fa-clock-o
    ("\uf2c9", ("тепл", "холод", "температ", "зим", "warm", "cold", "thermo")),  # thermometer
    ("\uf185", ("солн", "свет", "ярк", "sun", "light", "bright")),  # fa-sun-o
    ("\uf004", ("мягк", "комфорт", "удоб", "уют", "soft", "comfort", "cosy", "cozy")),  # heart
    ("\uf24e", ("вес", "лёгк", "легк", "грамм", "weight", "light")),  # fa-balance-scale
    ("\uf0b2", ("размер", "компакт", "объём", "объем", "size", "compact")),  # fa-arrows-alt
    ("\uf1eb", ("wi-fi", "wifi", "беспровод", "wireless")),  # fa-wifi
    ("\uf293", ("bluetooth", "блютуз")),  # fa-bluetooth
    ("\uf028", ("звук", "громк", "sound", "audio", "loud")),  # fa-volume-up
    ("\uf1ae", ("дет", "ребён", "ребен", "малыш", "kid", "child", "baby")),  # fa-child
    ("\uf015", ("дом", "интерьер", "home", "house")),  # fa-home
    ("\uf023", ("безопас", "замок", "safe", "lock", "secure")),  # fa-lock
    ("\uf1b8", ("переработ", "многоразов", "recycl", "reusable")),  # fa-recycle
    ("\uf0c2", ("дыш", "воздух", "breath", "air")),  # fa-cloud
)


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The Font Awesome font file, or None when it is not installed."""
    for pattern in FONT_PATHS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


def glyph_for(benefit: str) -> str:
    """The glyph whose keywords start one of the benefit's words; NEUTRAL otherwise."""
    words = [w.strip(".,;:!?()«»\"'") for w in benefit.casefold().replace("ё", "е").split()]
    for glyph, stems in KEYWORDS:
        for stem in stems:
            key = stem.casefold().replace("ё", "е")
            if any(word.startswith(key) for word in words):
                return glyph
    return NEUTRAL
