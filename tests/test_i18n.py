"""The gettext catalogs: complete in both languages, every key in use, plurals, compiling."""

from __future__ import annotations

import ast
import os
import shutil
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES_DIR, catalogs, compile_catalogs
from bot.middlewares import LocaleMiddleware
from bot.storage import User
from bot.texts import PLURAL_SUFFIX, t, tn

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("ru", "en")
RU_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)


def catalog(lang: str) -> Catalog:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return read_po(source, locale=lang, domain=DOMAIN)


def entries(lang: str) -> dict[str, tuple[str, ...]]:
    """msgid -> its forms (one for a plain text)."""
    found = {}
    for message in catalog(lang):
        if not message.id:
            continue  # the header
        forms = message.string if message.pluralizable else (message.string,)
        found[message.id[0] if message.pluralizable else message.id] = tuple(forms)
    return found


def plural_ids(lang: str) -> dict[str, str]:
    return {m.id[0]: m.id[1] for m in catalog(lang) if m.id and m.pluralizable}


def placeholders(text: str) -> set[tuple[str, str]]:
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(text) if name}


def test_both_catalogs_hold_the_same_msgids_and_no_empty_text() -> None:
    ru, en = entries("ru"), entries("en")
    assert ru.keys() == en.keys()
    assert plural_ids("ru") == plural_ids("en")
    assert all(key + PLURAL_SUFFIX == plural for key, plural in plural_ids("en").items())
    for lang, table in (("ru", ru), ("en", en)):
        empty = [key for key, forms in table.items() if not all(form.strip() for form in forms)]
        assert not empty, f"{lang}: empty texts {empty}"


def test_every_text_has_the_same_placeholders_in_both_languages_and_all_forms() -> None:
    ru, en = entries("ru"), entries("en")
    for key, forms in en.items():
        expected = placeholders(forms[0])
        for lang, form in [("en", f) for f in forms] + [("ru", f) for f in ru[key]]:
            assert placeholders(form) == expected, f"{lang} {key}: {form!r}"


def test_plural_forms() -> None:
    assert catalog("ru").plural_forms == RU_PLURAL_FORMS
    assert catalog("en").plural_forms == "nplurals=2; plural=(n != 1);"
    for key in plural_ids("en"):
        assert len(entries("ru")[key]) == 3 and len(entries("en")[key]) == 2, key
    nouns = {1: "задача", 2: "задачи", 5: "задач", 11: "задач", 21: "задача", 22: "задачи"}
    nouns[25] = "задач"
    for n, noun in nouns.items():
        assert tn("ru", "job.too_many", n, limit=n).startswith(f"У вас уже {n} {noun} в")
    assert tn("en", "job.too_many", 1, limit=1).startswith("You already have 1 job queued")
    assert tn("en", "job.too_many", 21, limit=21).startswith("You already have 21 jobs queued")
    assert "до 41 мегапикселя." in tn("ru", "photo.too_many_pixels", 41, megapixels=41.0)
    assert "от 64 пикселей по" in tn("ru", "photo.too_small", 64, width=1, height=1, min_side=64)


def test_unknown_language_reads_english() -> None:
    assert t("de", "op.tag") == t("en", "op.tag") == "Tags"
    assert t("ru", "op.tag") == "Теги"


# ---- the keys the code names, read statically

CODE_DIRS = ("bot", "handlers")
TEXT_CALLS = {"t": False, "tn": True}  # function -> its key is a plural msgid


def code_files() -> Iterator[Path]:
    for folder in CODE_DIRS:
        yield from sorted((ROOT / folder).rglob("*.py"))


def key_uses() -> Iterator[tuple[str, str, bool | None]]:
    """(where, key, plural?) for every key the code names: the literal key of a t()/tn()
    call, the values of the `*_KEYS` maps, the key an IntakeError carries, the `problem=`
    of a parsed command and an operation spec's `*_key=` fields (bot/ops). plural is None
    where the code does not say."""
    for path in code_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [target.id for target in targets if isinstance(target, ast.Name)]
                if any(name.endswith("_KEYS") for name in names):
                    assert isinstance(node.value, ast.Dict), f"{where}: a *_KEYS map is a dict"
                    for value in node.value.values:
                        assert isinstance(value, ast.Constant), f"{where}: keys are literals"
                        yield where, value.value, None
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "problem" and isinstance(keyword.value, ast.Constant):
                    yield where, keyword.value.value, False
                # an operation's spec names its texts: label_key=, menu_key=, help_key=
                value = keyword.value
                spec_key = (keyword.arg or "").endswith("_key")
                if spec_key and isinstance(value, ast.Constant) and value.value is not None:
                    yield where, value.value, False
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name == "IntakeError" and isinstance(node.args[0], ast.Constant):
                yield where, node.args[0].value, None
            if name in TEXT_CALLS and len(node.args) >= 2:
                key = node.args[1]
                dynamic = isinstance(key, ast.JoinedStr | ast.BinOp) or (
                    isinstance(key, ast.Call) and getattr(key.func, "attr", "") == "format"
                )
                assert not dynamic, f"{where}: a key built at run time; use a *_KEYS map"
                if isinstance(key, ast.Constant):
                    yield where, key.value, TEXT_CALLS[name]


def test_every_key_the_code_uses_exists_and_no_key_is_unused() -> None:
    plain = {key for key, forms in entries("en").items() if key not in plural_ids("en")}
    plural = set(plural_ids("en"))
    used = set()
    for where, key, is_plural in key_uses():
        used.add(key)
        if is_plural is None:
            assert key in plain | plural, f"{where}: {key!r} is in no catalog"
        else:
            expected = plural if is_plural else plain
            kind = "plural" if is_plural else "plain"
            assert key in expected, f"{where}: {key!r} is not a {kind} text of the catalogs"
    unused = (plain | plural) - used
    assert not unused, f"catalog keys no code uses: {sorted(unused)}"


# ---- compiling


def test_compiled_catalogs_are_not_committed() -> None:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    assert listed.strip() == ""


def copy_locales(tmp_path: Path) -> Path:
    source = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, source, ignore=shutil.ignore_patterns("*.mo"))
    return source


def english_po(source: Path) -> Path:
    return source / "en" / "LC_MESSAGES" / f"{DOMAIN}.po"


def test_a_stale_mo_is_compiled_again_a_fresh_one_is_kept(tmp_path: Path) -> None:
    source = copy_locales(tmp_path)
    assert compile_catalogs(source) == source
    mo = english_po(source).with_suffix(".mo")
    assert I18n(path=source, domain=DOMAIN).gettext("op.tag", locale="en") == "Tags"
    kept = mo.stat().st_mtime_ns
    compile_catalogs(source)
    assert mo.stat().st_mtime_ns == kept  # fresh: not rewritten

    po = english_po(source)
    po.write_text(po.read_text().replace('msgstr "Tags"', 'msgstr "Labels"'))
    later = mo.stat().st_mtime + 10
    os.utime(po, (later, later))
    compile_catalogs(source)
    assert I18n(path=source, domain=DOMAIN).gettext("op.tag", locale="en") == "Labels"
    assert not list(source.rglob("*.tmp"))  # written through a temporary file, then renamed


def test_a_read_only_install_compiles_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = copy_locales(tmp_path)
    monkeypatch.setattr("bot.i18n.os.access", lambda path, mode: False)  # (root may write)
    cache = tmp_path / "cache"
    assert compile_catalogs(source, cache=cache) == cache
    assert not list(source.rglob("*.mo"))
    assert I18n(path=cache, domain=DOMAIN).gettext("op.tag", locale="ru") == "Теги"


def test_the_shared_catalogs_hold_both_languages() -> None:
    assert catalogs() is catalogs()
    assert set(catalogs().available_locales) == set(LANGUAGES)


# ---- the language of an update


async def test_the_stored_language_wins_then_telegrams() -> None:
    middleware = LocaleMiddleware(catalogs())
    sender = TelegramUser(id=7, is_bot=False, first_name="A", language_code="uk")
    seen: dict[str, str] = {}

    async def handler(event: object, data: dict) -> None:
        seen["lang"] = data["lang"]
        seen["gettext"] = catalogs().gettext("op.tag")  # the update's locale is current

    message = type("Event", (), {"from_user": sender})()
    await middleware(handler, message, {"user": User(7, "en", "product", None)})
    assert seen == {"lang": "en", "gettext": "Tags"}
    await middleware(handler, message, {})
    assert seen == {"lang": "ru", "gettext": "Теги"}
