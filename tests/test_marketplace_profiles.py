"""Marketplace profiles as data: the packaged file loads, says where each rule comes
from, and every mistake in a profiles file is a clear error."""

from __future__ import annotations

import copy
import tomllib

import pytest

from services.marketplace.profiles import (
    DEFAULT_PATH,
    ProfileError,
    load_profiles,
    parse_profiles,
)


@pytest.fixture(scope="module")
def document() -> dict:
    return tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_the_four_profiles_and_their_sources() -> None:
    profiles = load_profiles()
    assert profiles.of_domain("product") == ("wb", "ozon", "ym", "generic")
    assert profiles.of_domain("hotel") == (
        "booking",
        "ostrovok",
        "vrbo",
        "expedia",
        "tripadvisor",
        "airbnb",
        "hotel",
    )
    assert profiles.defaults == {"product": "wb", "hotel": "booking"}
    for profile in profiles.profiles.values():
        assert profile.rules, profile.id
        for rule in profile.rules.values():
            assert rule.source.strip(), (profile.id, rule.id)
            assert rule.level in ("required", "recommended")
            if not rule.verified:
                assert rule.level == "recommended"  # unverified is never "required"
    assert profiles.banned.source and profiles.banned.words


def test_wildberries_numbers() -> None:
    wb = load_profiles().get("wb")
    assert wb.name == "Wildberries"
    assert wb.rule("aspect")["ratio"] == (3, 4)
    assert (wb.rule("min_size")["width"], wb.rule("min_size")["height"]) == (900, 1200)
    assert wb.rule("min_size").level == "required"
    assert wb.rule("max_side")["value"] == 8000
    assert wb.rule("jpeg_quality")["min"] >= 85
    assert wb.rule("colour_space")["value"] == "sRGB"
    assert (wb.card.width, wb.card.height, wb.card.format) == (1200, 1600, "JPEG")
    assert wb.card.quality >= 90 and wb.card.background == (255, 255, 255)


def test_yandex_market_refuses_transparency_and_ozon_minimum_is_unverified() -> None:
    profiles = load_profiles()
    ym = profiles.get("Яндекс Маркет")
    assert ym.id == "ym"
    assert ym.rule("transparency")["allowed"] is False
    assert ym.rule("transparency").level == "required"
    ozon = profiles.get("ОЗОН")
    assert ozon.rule("min_size").verified is False
    assert ozon.rule("min_size").level == "recommended"


def test_lookup_by_alias_and_default() -> None:
    profiles = load_profiles()
    assert profiles.get("вб").id == "wb"
    assert profiles.get("  Yandex   Market ").id == "ym"
    assert profiles.get().id == profiles.default
    with pytest.raises(KeyError, match="known: wb, ozon, ym, generic"):
        profiles.get("aliexpress")


def test_the_banned_lists_hold_what_the_sources_name() -> None:
    banned = load_profiles().banned
    for word in ("лучш*", "хит", "скидк*", "акци*", "распродаж*", "дешев*"):
        assert word in banned.words
    assert {category for category, _ in banned.patterns} >= {"rank", "price", "phone", "link"}


def _broken(document: dict, change) -> dict:
    data = copy.deepcopy(document)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["profiles"]["wb"]["rules"]["min_size"].update(widht=900),
            r"profiles\.wb\.rules\.min_size: unknown key 'widht'",
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"]["aspect"].pop("source"),
            r"profiles\.wb\.rules\.aspect: missing key 'source'",
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"]["aspect"].update(source="  "),
            r"rules\.aspect\.source: must be a non-empty string",
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"]["min_size"].update(width=-5),
            r"min_size\.width: must be a whole number of pixels",
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"]["jpeg_quality"].update(min=185),
            r"jpeg_quality\.min: must be a JPEG quality 1\.\.100",
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"]["aspect"].update(ratio="3x4"),
            r'aspect\.ratio: must be a ratio like "3:4"',
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"]["object_fill"].update(min=0.99, max=0.5),
            r"object_fill: min 0\.99 is above max 0\.5",
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"].update(dpi={"value": 72}),
            r"unknown rule 'dpi'",
        ),
        (
            lambda d: d["profiles"]["wb"]["rules"]["formats"].update(allowed=["JPEG", "BMP"]),
            r"unknown format 'BMP'",
        ),
        (
            lambda d: d["profiles"]["wb"]["card"].update(width=900, height=900),
            r"wb\.card: the card 900×900 is not 3:4; is below min_size 900×1200",
        ),
        (
            lambda d: d["profiles"]["wb"]["card"].update(quality=80),
            r"JPEG quality 80 is below 90",
        ),
        (
            lambda d: d.update(default="x"),
            r"default: 'x' is not a profile",
        ),
        (
            lambda d: d["banned"]["patterns"].update(price=["(unclosed"]),
            r"banned\.patterns\.price: bad regular expression",
        ),
        (lambda d: d.update(schema=2), r"this Vitrina reads schema 1"),
        (lambda d: d.update(colour="x"), r"unknown key 'colour'"),
    ],
)
def test_mistakes_are_clear_errors(document: dict, change, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        parse_profiles(_broken(document, change), "profiles.toml")


def test_a_missing_or_broken_file(tmp_path) -> None:
    with pytest.raises(ProfileError, match="profiles file not found"):
        load_profiles(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("schema = [", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profiles(bad)


def test_the_data_files_are_package_data() -> None:
    pyproject = tomllib.loads((DEFAULT_PATH.parents[2] / "pyproject.toml").read_text())
    assert "marketplace/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["services"]
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert "opencv-python-headless" in dependencies
