"""The gettext catalogs and the one aiogram `I18n` over them.

The sources are bot/locales/<lang>/LC_MESSAGES/messages.po (committed). Each is compiled to
messages.mo with Babel when the .mo is missing or older than its .po: next to the .po, or,
where the package is installed read-only, into a cache folder that `I18n` then reads. A .mo
is a build product and is never committed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

log = logging.getLogger("vitrina.bot")

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"


def compile_catalogs(source: Path = LOCALES_DIR, cache: Path | None = None) -> Path:
    """Compile every `<source>/<lang>/LC_MESSAGES/messages.po` whose .mo is missing or older
    than the .po, and return the folder whose .mo files `I18n` should read: `source` itself
    when its .mo files are fresh or it is writable, else `cache` (by default a folder in the
    user's cache named after `source`: an install read-only to the bot's user)."""
    sources = sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    if not sources:
        raise FileNotFoundError(f"no {DOMAIN}.po catalogs under {source}")
    stale = [po for po in sources if _stale(po, po.with_suffix(".mo"))]
    if all(os.access(po.parent, os.W_OK) for po in stale):
        for po in stale:
            _compile(po, po.with_suffix(".mo"))
        return source
    target = cache or _cache_dir(source)
    for po in sources:
        mo = target / po.relative_to(source).with_suffix(".mo")
        if _stale(po, mo):
            _compile(po, mo)
    return target


def _stale(po: Path, mo: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def _compile(po: Path, mo: Path) -> None:
    """po -> mo, written atomically (a bot and a test run may compile at the same time)."""
    locale = po.parent.parent.name
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=DOMAIN)
    mo.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=mo.parent, prefix=f".{mo.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(temporary, mo)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    log.debug("compiled %s -> %s", po, mo)


def _cache_dir(source: Path) -> Path:
    """A per-installation folder: two installs (two versions) never share compiled files."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = hashlib.sha256(str(source).encode()).hexdigest()[:12]
    return base / "vitrina" / f"locales-{tag}"


@functools.cache
def catalogs() -> I18n:
    """The shared `I18n` (built once, on first use: compiling the catalogs if needed)."""
    from aiogram.utils.i18n import I18n  # on first use: `vitrina worker` loads no aiogram

    return I18n(path=compile_catalogs(), default_locale=DEFAULT_LOCALE, domain=DOMAIN)
