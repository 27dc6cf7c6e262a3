"""Presets, gradients, the user's photo as a background, the card layout and colour parsing
(both languages, hex forms, unknown colours answered with the choices)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bot.actions import _choices
from bot.command_parsing import parse_background
from bot.ops import parse_command
from bot.texts import t
from services.imaging import backgrounds as b
from services.imaging.card import CARD_SIZES, alpha_bbox, card_size, place
from services.imaging.colours import COLOURS, hex_to_rgb, normalise_hex, parse_gradient


@pytest.mark.parametrize("name", list(b.PRESETS))
@pytest.mark.parametrize("size", [(64, 48), (90, 160), (300, 200)])
def test_presets_are_deterministic_at_any_size(name: str, size: tuple[int, int]) -> None:
    one = b.preset(name, size, seed=5)
    assert one.size == size and one.mode == "RGB"
    assert np.array_equal(np.asarray(one), np.asarray(b.preset(name, size, seed=5)))
    pixels = np.asarray(one).astype(int)
    assert pixels.std() > 0.5  # a texture or a shade, not a flat fill


def test_presets_differ_by_seed_and_from_each_other() -> None:
    size = (160, 120)
    images = {name: np.asarray(b.preset(name, size, seed=1)) for name in b.PRESETS}
    assert len(b.PRESETS) >= 6
    names = list(images)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            assert not np.array_equal(images[first], images[second])
    assert not np.array_equal(images["marble"], np.asarray(b.preset("marble", size, seed=2)))
    # Russian names reach the same preset
    assert np.array_equal(np.asarray(b.preset("мрамор", size, seed=1)), images["marble"])


def test_large_presets_are_drawn_small_and_scaled_up() -> None:
    image = b.preset("linen", (3000, 200), seed=0)
    assert image.size == (3000, 200)


def test_gradient_and_solid() -> None:
    fade = np.asarray(b.gradient((10, 101), ["#ff0000", "#00ff00", "#0000ff"])).astype(int)
    assert tuple(fade[0, 0]) == (255, 0, 0) and tuple(fade[50, 5]) == (0, 255, 0)
    assert tuple(fade[-1, 9]) == (0, 0, 255)
    assert (np.asarray(b.solid((4, 4), "pink")) == (255, 192, 203)).all()


def test_cover_fit_crops_the_users_photo() -> None:
    photo = Image.new("RGB", (400, 100), (0, 0, 255))
    photo.paste((255, 0, 0), (0, 0, 100, 100))  # red on the left quarter: cropped away
    covered = b.cover(photo, (100, 100))
    assert covered.size == (100, 100)
    assert (np.asarray(covered) == (0, 0, 255)).all()


def test_card_sizes_and_layout() -> None:
    assert CARD_SIZES == {"3:4": (900, 1200), "1:1": (1200, 1200)}
    assert card_size("3:4") == (900, 1200)
    with pytest.raises(ValueError, match="3:4"):
        card_size("16:9")
    rgba = np.zeros((100, 300, 4), np.uint8)
    rgba[10:40, 100:300] = (200, 10, 10, 255)  # a wide object off to the side
    placed = place(Image.fromarray(rgba, "RGBA"), (900, 1200))
    left, top, right, bottom = alpha_bbox(np.asarray(placed.getchannel("A")))
    assert (left, right) == (72, 828)  # 8 % margins, as wide as fits
    assert abs((top + bottom) / 2 - 600) <= 1
    assert alpha_bbox(np.zeros((5, 5), np.uint8)) is None
    empty = place(Image.new("RGBA", (10, 10)), (900, 1200))
    assert empty.size == (900, 1200) and empty.getextrema()[3] == (0, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pink", {"kind": "colour", "value": "#ffc0cb", "name": "pink"}),
        ("Розовый", {"kind": "colour", "value": "#ffc0cb", "name": "розовый"}),
        ("ЧЁРНЫЙ", {"kind": "colour", "value": "#000000", "name": "чёрный"}),
        ("голубой", {"kind": "colour", "value": "#add8e6", "name": "голубой"}),
        ("lightseagreen", {"kind": "colour", "value": "#20b2aa", "name": "lightseagreen"}),
        ("#FC0", {"kind": "colour", "value": "#ffcc00"}),
        ("#A1b2C3", {"kind": "colour", "value": "#a1b2c3"}),
        ("gradient", {"kind": "gradient", "colours": ["#fbe3ea", "#ffffff"]}),
        ("gradient pink blue", {"kind": "gradient", "colours": ["#ffc0cb", "#4a90d9"]}),
        ("градиент розовый #fff", {"kind": "gradient", "colours": ["#ffc0cb", "#ffffff"]}),
        ("gradient navy", {"kind": "gradient", "colours": ["#1f3a5f", "#ffffff"]}),
        ("gradient pink purplee", None),
        ("transparent", {"kind": "transparent"}),
        ("прозрачный", {"kind": "transparent"}),
        ("marble", {"kind": "preset", "value": "marble"}),
        ("Дерево", {"kind": "preset", "value": "wood"}),
        ("photo", {"kind": "photo"}),
        ("on a marble table", {"kind": "prompt", "value": "on a marble table"}),
        ("на мраморном столе", {"kind": "prompt", "value": "на мраморном столе"}),
        ("pnik", None),
        ("#12", None),
        ("42", None),
    ],
)
def test_background_specs(value: str, expected: dict | None) -> None:
    assert parse_background(value) == expected


def test_colour_table_is_shared_and_complete() -> None:
    assert len(COLOURS) > 160 and COLOURS["blue"] == "#4a90d9"  # our softer everyday blue
    assert normalise_hex("#abc") == "#aabbcc" and normalise_hex("abc") is None
    assert hex_to_rgb("розовый") == (255, 192, 203)
    assert parse_gradient("gradient oops") == {"kind": "gradient", "bad": "oops"}
    with pytest.raises(ValueError):
        hex_to_rgb("oops")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_unknown_colour_gets_the_choices(lang: str) -> None:
    parsed = parse_command("background", "pnik")
    assert parsed is not None and parsed.problem == "background.bad"
    text = t(lang, "background.bad", value="pnik", **_choices("background.bad", lang))
    assert "pnik" in text and "#ffc0cb" in text and "gradient" in text
    assert "marble" in text and "transparent" in text
    for colour in ("розовый", "белый") if lang == "ru" else ("pink", "white"):
        assert colour in text


def test_a_small_object_is_enlarged_at_most_four_times() -> None:
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[40:60, 40:60] = 255
    placed = place(Image.fromarray(rgba, "RGBA"), (900, 1200))
    left, top, right, bottom = alpha_bbox(np.asarray(placed.getchannel("A")))
    assert right - left == 80 and bottom - top == 80


def test_follow_ups_and_captions_of_a_background_result() -> None:
    from bot.ops.background import caption, card, wrong_object

    params = {"kind": "colour", "value": "#ffc0cb", "name": "pink"}
    facts = {"kind": "colour", "value": "#ffc0cb", "name": "pink", "candidate": 2, "candidates": 3}
    assert wrong_object("background", params, facts) == ("background", {**params, "candidate": 0})
    assert wrong_object("background", params, {**facts, "candidates": 1}) is None
    assert card("background", params, facts) == (
        "background",
        {**params, "candidate": 2, "card": "3:4"},
    )
    assert caption(facts, "en") == "Background: pink (#ffc0cb) · object 3 of 3"
    assert caption({**facts, "card": "3:4"}, "ru").endswith("Карточка 3:4, 900×1200")
    assert caption({"kind": "prompt", "prompt": "<b>", "seed": 4}, "en") == (
        "Background: «&lt;b&gt;» · seed 4"
    )
    assert caption({"kind": "preset", "value": "linen"}, "ru") == "Фон: Лён"
