"""A photo file against the profiles: size, format, transparency, colour space, JPEG
quality (from the quantisation tables), and banned words in the text found."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms
from skimage import data as skdata

from services.marketplace.banned import find_banned, normalise
from services.marketplace.facts import estimate_jpeg_quality, read_facts
from services.marketplace.profiles import load_profiles
from services.marketplace.rules import Measured, check_photo, failures, ratio_text
from tests.marketplace_photos import ADOBE_RGB


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _photo(size: tuple[int, int]) -> Image.Image:
    return Image.fromarray(skdata.astronaut()).resize(size)


def _by_rule(results) -> dict:
    return {result.rule: result for result in results}


def test_a_600x400_photo_fails_wildberries_size_with_both_numbers() -> None:
    facts = read_facts(_encoded(_photo((600, 400)), "JPEG", quality=92))
    wb = load_profiles().get("wb")
    results = _by_rule(check_photo(wb, facts))
    size = results["min_size"]
    assert size.passed is False and size.level == "required"
    assert size.measured == (600, 400) and size.limit == (900, 1200)
    assert (size.measured_text, size.limit_text) == ("600×400", "900×1200")
    assert "promopult" in size.source
    aspect = results["aspect"]
    assert aspect.passed is False and (aspect.measured_text, aspect.limit_text) == ("3:2", "3:4")
    assert results["formats"].passed and results["jpeg_quality"].passed
    assert results["colour_space"].passed
    assert failures(check_photo(wb, facts))[0].rule == "min_size"  # required ones first


def test_a_compliant_photo_passes_the_file_rules() -> None:
    facts = read_facts(_encoded(_photo((1200, 1600)), "JPEG", quality=92))
    results = check_photo(load_profiles().get("wb"), facts)
    file_rules = [r for r in results if r.rule not in ("background", "object_fill", "text")]
    assert all(r.passed for r in file_rules if r.rule != "banned_words")
    # scene rules are not measured without the pixels' signals: None, not a guess
    assert {r.rule: r.passed for r in results}["object_fill"] is None


def test_a_transparent_png_fails_yandex_market_not_wildberries() -> None:
    image = _photo((1200, 1600)).convert("RGBA")
    alpha = np.full((1600, 1200), 255, np.uint8)
    alpha[:200] = 0
    image.putalpha(Image.fromarray(alpha))
    facts = read_facts(_encoded(image, "PNG"))
    assert facts.transparent_share == pytest.approx(0.125)
    ym = _by_rule(check_photo(load_profiles().get("ym"), facts))["transparency"]
    assert ym.passed is False and ym.level == "required" and ym.measured_text == "12 %"
    wb = _by_rule(check_photo(load_profiles().get("wb"), facts))["transparency"]
    assert wb.passed is True


def test_an_opaque_rgba_png_is_not_transparent() -> None:
    facts = read_facts(_encoded(_photo((300, 300)).convert("RGBA"), "PNG"))
    assert facts.transparent_share == 0.0
    assert _by_rule(check_photo(load_profiles().get("ym"), facts))["transparency"].passed


@pytest.mark.parametrize("quality", [70, 85, 95])
@pytest.mark.parametrize("subsampling", [0, 2])
def test_jpeg_quality_is_estimated_within_3(quality: int, subsampling: int) -> None:
    data = _encoded(_photo((400, 400)), "JPEG", quality=quality, subsampling=subsampling)
    assert abs(read_facts(data).jpeg_quality - quality) <= 3


def test_low_jpeg_quality_fails_and_png_has_none() -> None:
    wb = load_profiles().get("wb")
    low = read_facts(_encoded(_photo((900, 1200)), "JPEG", quality=60))
    result = _by_rule(check_photo(wb, low))["jpeg_quality"]
    assert result.passed is False and result.measured == 60 and result.limit == 85
    png = read_facts(_encoded(_photo((900, 1200)), "PNG"))
    assert png.jpeg_quality is None
    assert _by_rule(check_photo(wb, png))["jpeg_quality"].passed is None
    assert estimate_jpeg_quality({}) is None


def test_colour_spaces() -> None:
    image = _photo((200, 200))
    assert read_facts(_encoded(image, "JPEG")).colour_space == "sRGB"  # untagged
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert read_facts(_encoded(image, "JPEG", icc_profile=srgb)).colour_space == "sRGB"
    adobe = read_facts(_encoded(image, "JPEG", icc_profile=ADOBE_RGB))
    assert adobe.colour_space == "Test Adobe RGB"
    result = _by_rule(check_photo(load_profiles().get("wb"), adobe))["colour_space"]
    assert result.passed is False and result.measured_text == "Test Adobe RGB"
    assert read_facts(_encoded(image.convert("CMYK"), "JPEG")).colour_space == "CMYK"


def test_formats_file_size_and_the_exif_orientation() -> None:
    image = _photo((1600, 1200))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated a quarter turn: 1200×1600 on screen
    facts = read_facts(_encoded(image, "JPEG", exif=exif, quality=92))
    assert facts.size == (1200, 1600)
    webp = read_facts(_encoded(image, "WEBP"))
    ym = _by_rule(check_photo(load_profiles().get("ym"), webp))
    assert ym["formats"].passed is False and ym["formats"].limit_text == "JPEG, GIF, PNG"
    ozon = load_profiles().get("ozon")
    big = read_facts(_encoded(image, "JPEG"))
    big = type(big)(**{**big.__dict__, "file_bytes": 12_300_000})
    assert _by_rule(check_photo(ozon, big))["max_file_mb"].measured_text == "12.3 MB"
    assert _by_rule(check_photo(ozon, big))["max_file_mb"].passed is False


def test_scene_rules_use_the_measured_facts() -> None:
    facts = read_facts(_encoded(_photo((1200, 1600)), "JPEG", quality=92))
    wb = load_profiles().get("wb")
    measured = Measured(
        background="colour",
        background_uniform=False,
        object_fill=0.5,
        text_regions=2,
        texts=("ХИТ ПРОДАЖ", "Натуральный хлопок"),
    )
    results = _by_rule(check_photo(wb, facts, measured, banned=load_profiles().banned))
    assert results["background"].passed is False
    assert results["object_fill"].passed is False
    assert (results["object_fill"].measured_text, results["object_fill"].limit_text) == (
        "50 %",
        "65–98 %",
    )
    assert results["text"].passed is False and results["text"].measured == 2
    banned = results["banned_words"]
    assert banned.passed is False and banned.measured == ("ХИТ ПРОДАЖ",)
    assert banned.measured_text == "«ХИТ ПРОДАЖ»"
    clean = Measured(background="white", background_uniform=True, object_fill=0.85, texts=())
    results = _by_rule(check_photo(wb, facts, clean, banned=load_profiles().banned))
    assert all(results[r].passed for r in ("background", "object_fill", "text", "banned_words"))


def test_ratio_text() -> None:
    assert ratio_text(900, 1200) == "3:4"
    assert ratio_text(1000, 1000) == "1:1"
    assert ratio_text(1000, 1333) == "3:4"
    assert ratio_text(1000, 1900) == "1:1.90"


BANNED = [
    ("ХИТ ПРОДАЖ", "word", "ХИТ ПРОДАЖ"),
    ("Хит сезона", "word", "Хит"),
    ("Скидки до конца недели", "word", "Скидки"),
    ("со скидкой", "word", "скидкой"),
    ("Лучший выбор", "word", "Лучший"),
    ("Акция!", "word", "Акция"),
    ("Товар №1 в России", "rank", "№1"),
    ("№ 1", "rank", "№ 1"),
    ("всего 1 999 ₽", "price", "1 999 ₽"),
    ("Цена: 1 999 руб.", "price", "Цена: 1 999 руб."),
    ("от 999", "price", "от 999"),
    ("$25", "price", "$25"),
    ("-30%", "discount", "-30%"),
    ("+7 (999) 123-45-67", "phone", "+7 (999) 123-45-67"),
    ("8 800 555-35-35", "phone", "8 800 555-35-35"),
    ("www.shop.ru", "link", "www.shop.ru"),
    ("https://shop.example.com/item", "link", "https://shop.example.com/item"),
    ("пишите @my_shop", "link", "@my_shop"),
    ("заказ на магазин.рф", "link", "магазин.рф"),
    ("XИT", "word", "XИT"),  # a Latin X in a Cyrillic word
    ("ДЁШЕВО", "word", "ДЁШЕВО"),
]


@pytest.mark.parametrize(("text", "category", "found"), BANNED)
def test_banned_words_prices_phones_and_links(text: str, category: str, found: str) -> None:
    hits = find_banned(text, load_profiles().banned)
    assert [(hit.category, hit.found) for hit in hits] == [(category, found)]
    assert text[hits[0].start : hits[0].end].strip() == found


@pytest.mark.parametrize(
    "text",
    [
        "Хитон льняной",
        "Хитрый дизайн",
        "Хлопок 100%",
        "Размеры 42–56",
        "Натуральная кожа",
        "Объём 1.5 л",
        "Вес 1,5 кг",
        "Подарочная упаковка",
        "от 2 лет",
        "Артикул 12345678",
        "Топ из льна",
        "Товар №12",
        "ширина 120 см",
    ],
)
def test_ordinary_words_are_not_flagged(text: str) -> None:
    assert find_banned(text, load_profiles().banned) == []


def test_one_hit_per_phrase_and_several_lines() -> None:
    banned = load_profiles().banned
    hits = find_banned(["Хит продаж! Скидки до -50%", "Звоните +7 999 123 45 67"], banned)
    assert [hit.found for hit in hits] == ["Хит продаж", "Скидки", "-50%", "+7 999 123 45 67"]
    assert find_banned("Эксклюзив", banned, extra=["эксклюзив*"])[0].term == "эксклюзив*"


def test_normalise_keeps_the_length() -> None:
    text = "ЁЛКА\u00a0XИT sаle"
    plain = normalise(text)
    assert len(plain) == len(text)
    assert plain == "елка хит sale"
