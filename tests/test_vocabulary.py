from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.vocabulary import DOMAINS, Term, default_prompt, load_vocabulary

CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
MINIMUM = {"product": 45, "hotel": 30}


@pytest.mark.parametrize("domain", DOMAINS)
def test_packaged_vocabularies_load(domain: str) -> None:
    terms = load_vocabulary(domain)
    assert len(terms) >= MINIMUM[domain]
    assert all(isinstance(t, Term) for t in terms)
    assert len({t.en.casefold() for t in terms}) == len(terms)
    for term in terms:
        assert term.en.strip() == term.en and term.en
        assert CYRILLIC.search(term.ru), term
        assert not re.search(r"[a-z]", term.ru, re.IGNORECASE), term  # translated, not copied
        assert term.prompt.startswith("a photo of"), term


def test_required_terms_and_translations() -> None:
    hotel = {t.en: t.ru for t in load_vocabulary("hotel")}
    assert hotel["big bed"] == "большая кровать"
    assert hotel["sky view"] == "вид на небо"
    for en in ("TV", "lamp", "balcony", "pool", "bathtub", "tulips", "sea view", "twin beds"):
        assert en in hotel
    product = {t.en: t.ru for t in load_vocabulary("product")}
    assert product["sneakers"] == "кроссовки"
    for en in ("dress", "mug", "t-shirt", "jeans", "handbag", "red", "black", "leather"):
        assert en in product


def test_cached() -> None:
    assert load_vocabulary("hotel") is load_vocabulary("hotel")


def test_unknown_domain_names_valid_ones() -> None:
    with pytest.raises(ValueError, match="product, hotel"):
        load_vocabulary("cars")


def test_default_prompt_article() -> None:
    assert default_prompt("mug") == "a photo of a mug"
    assert default_prompt("armchair") == "a photo of an armchair"


def _write(folder: Path, body: str) -> Path:
    (folder / "hotel.tsv").write_text(body, encoding="utf-8")
    return folder


def test_custom_directory_comments_and_prompts(tmp_path: Path) -> None:
    folder = _write(
        tmp_path, "# comment\nen\tru\tprompt\n\nlamp\tлампа\t\nsea view\tвид на море\tthe sea\n"
    )
    terms = load_vocabulary("hotel", folder)
    assert terms == (
        Term("lamp", "лампа", "a photo of a lamp"),
        Term("sea view", "вид на море", "the sea"),
    )


def test_group_column(tmp_path: Path) -> None:
    folder = _write(tmp_path, "en\tru\tprompt\tgroup\nlamp\tлампа\nred\tкрасный\t\tcolour\n")
    lamp, red = load_vocabulary("hotel", folder)
    assert (lamp.group, red.group, red.prompt) == ("item", "colour", "a photo of a red")


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("en\tru\tprompt\nlamp\tлампа\nLamp\tсветильник\n", 3, "duplicate"),
        ("en\tru\tprompt\n# note\nlamp\t\t\n", 3, "empty Russian"),
        ("en\tru\tprompt\nlamp\n", 2, "columns"),
        ("english\trussian\nlamp\tлампа\n", 1, "header"),
        ("en\tru\tprompt\tgroup\nlamp\tлампа\t\tBig Group\n", 2, "group must be"),
    ],
)
def test_bad_file_names_file_and_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    folder = _write(tmp_path, body)
    with pytest.raises(ValueError, match=rf"hotel\.tsv:{line}: .*{words}"):
        load_vocabulary("hotel", folder)
