"""/gallery's engine, pure: text fitting (sizes, word wrap, Russian hyphenation, the
profile's smallest size), WCAG contrast and the plate decision, icons by keywords, the
detail crop by texture, OCR accuracy, and every drawn text block clear of the product's
cut by the template's margin on every slide."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage import data as skdata

from services.gallery import icons
from services.gallery.contrast import DARK, LIGHT, MIN_RATIO, choose_ink, ratio, readable_brand
from services.gallery.draw import Ledger, Pen, block
from services.gallery.layout import is_clear, keep_out, place_in, shrink_clear
from services.gallery.readback import accuracy
from services.gallery.slides import Page, TooLong, draw_slide, main_card
from services.gallery.style import FONTS, find_font, make_style, missing_fonts
from services.gallery.templates import load_templates
from services.gallery.text_fit import fit, font, hyphenate, text_width
from services.gallery.texture import detail_box
from services.marketplace.profiles import load_profiles

FONTS_ABSENT = missing_fonts()
needs_fonts = pytest.mark.skipif(
    bool(FONTS_ABSENT), reason=f"style fonts absent (Debian: {' '.join(FONTS_ABSENT)})"
)
TITLE = "Керамическая кружка ручной работы"
BENEFITS = (
    "Держит тепло до двух часов",
    "Можно мыть в посудомоечной машине",
    "Натуральная глина без красителей",
    "Объём 350 мл",
    "Водонепроницаемая глазурь",
)


def bold() -> str:
    path = find_font(FONTS["inter"][1])
    assert path is not None
    return path


def cut_of(shape: str = "ellipse", size: tuple[int, int] = (420, 520)) -> Image.Image:
    """A product cut: a crop of scikit-image's coffee inside a shape (RGBA)."""
    photo = Image.fromarray(skdata.coffee()).resize(size).convert("RGBA")
    alpha = Image.new("L", size, 0)
    draw = ImageDraw.Draw(alpha)
    if shape == "ellipse":
        draw.ellipse((0, 0, size[0] - 1, size[1] - 1), fill=255)
    else:
        draw.polygon([(0, size[1] - 1), (size[0] // 2, 0), (size[0] - 1, size[1] - 1)], fill=255)
    photo.putalpha(alpha)
    return photo


# ---- contrast


def test_wcag_ratios() -> None:
    assert ratio((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    assert ratio((118, 118, 118), (255, 255, 255)) >= MIN_RATIO  # the WCAG AA grey


def test_plain_background_needs_no_plate_and_a_busy_one_gets_one() -> None:
    white = np.full((40, 200, 3), 255, np.uint8)
    ink = choose_ink(white)
    assert ink.plate is None and ink.text == DARK and ink.ratio >= MIN_RATIO
    dark = np.full((40, 200, 3), 20, np.uint8)
    assert choose_ink(dark).text == LIGHT and choose_ink(dark).plate is None
    checker = np.zeros((40, 200, 3), np.uint8)
    checker[::2, ::2] = 255
    checker[1::2, 1::2] = 255  # black and white: no ink reaches 4.5:1 against both
    busy = choose_ink(checker, brand=(30, 60, 120))
    assert busy.plate is not None and ratio(busy.text, busy.plate) >= MIN_RATIO


@pytest.mark.parametrize("colour", [(255, 230, 0), (120, 200, 255), (250, 250, 250), (10, 90, 30)])
def test_a_brand_colour_is_made_readable_under_white_text(colour: tuple[int, int, int]) -> None:
    brand = readable_brand(colour)
    assert ratio((255, 255, 255), brand) >= MIN_RATIO


# ---- fitting


@needs_fonts
def test_fit_takes_the_largest_size_that_fits_and_wraps_by_words() -> None:
    found = fit(TITLE, bold(), (600, 300), low=40, high=90, max_lines=2)
    assert found is not None and 40 <= found.size <= 90 and len(found.lines) <= 2
    face = font(bold(), found.size)
    assert all(text_width(line, face) <= 600 for line in found.lines)
    assert " ".join(found.lines) == TITLE  # wrapped at spaces, nothing lost
    assert found.height <= 300
    bigger = fit(TITLE, bold(), (600, 300), low=found.size + 2, high=90, max_lines=2)
    assert bigger is None  # it was the largest


@needs_fonts
def test_a_long_russian_word_is_hyphenated_by_pyphen() -> None:
    word = "водонепроницаемый"
    face = font(bold(), 48)
    width = text_width(word, face) * 2 // 3
    head, tail = hyphenate(word, face, width) or ("", "")
    assert head.endswith("-") and head[:-1] + tail == word
    found = fit(word, bold(), (width, 400), low=48, high=48, max_lines=3)
    assert found is not None and found.lines[0].endswith("-")
    assert "".join(line.rstrip("-") for line in found.lines) == word


@needs_fonts
def test_nothing_is_drawn_below_the_smallest_size() -> None:
    assert fit("Очень длинный текст " * 12, bold(), (300, 120), low=48, high=80) is None
    page = _page()
    cut = cut_of()
    for kind in ("hero", "benefits", "detail", "scene"):
        drawn = draw_slide(kind, page, cut, TITLE, BENEFITS)
        assert drawn.ledger.sizes and min(drawn.ledger.sizes) >= page.min_px, kind
    with pytest.raises(TooLong) as refused:
        draw_slide("benefits", page, cut, TITLE, ("Очень длинное преимущество " * 10,))
    assert refused.value.line.startswith("Очень") and refused.value.limit > 0


def test_every_profile_names_its_smallest_text() -> None:
    profiles = load_profiles()
    for profile in (profiles.get(pid) for pid in profiles.of_domain("product")):
        spec = profile.gallery
        assert spec.min_text_px >= 24 and spec.source
        assert spec.verified or "unverified" in spec.source


# ---- icons


def test_icons_are_matched_by_russian_and_english_keywords() -> None:
    water, battery = icons.glyph_for("Водонепроницаемый корпус"), icons.glyph_for("Battery")
    assert water == "\uf043" and battery == "\uf240"
    assert icons.glyph_for("Долгая работа от аккумулятора") == "\uf240"
    assert icons.glyph_for("Мягкий хлопок") != icons.NEUTRAL
    assert icons.glyph_for("Синий цвет") == icons.NEUTRAL


@pytest.mark.skipif(icons.font_path() is None, reason=f"no Font Awesome ({icons.PACKAGE})")
def test_the_icon_font_draws_every_glyph() -> None:
    face = font(icons.font_path(), 64)  # type: ignore[arg-type]
    for glyph, _ in icons.KEYWORDS:
        assert face.getbbox(glyph)[2] > 10, hex(ord(glyph))
    assert face.getbbox(icons.NEUTRAL)[2] > 10


# ---- layout and the product


def test_shrink_clear_keeps_the_margin() -> None:
    mask = np.zeros((400, 400), bool)
    mask[100:300, 180:260] = True
    forbidden = keep_out(mask, 20)
    box = shrink_clear((10, 120, 200, 220), forbidden, min_height=40)
    assert box is not None and is_clear(box, forbidden) and box[2] <= 160
    assert shrink_clear((150, 150, 280, 200), forbidden, min_height=40) is None


@needs_fonts
@pytest.mark.parametrize("shape", ["ellipse", "triangle", "tall"])
@pytest.mark.parametrize("style", [0, 1, 2])
def test_text_never_comes_near_the_product(shape: str, style: int) -> None:
    page = _page(style)
    sizes = {"ellipse": (420, 520), "triangle": (700, 380), "tall": (200, 640)}
    cut = cut_of("ellipse" if shape == "tall" else shape, sizes[shape])
    margin = round(page.templates.margin * page.size[0])
    for kind in ("hero", "benefits", "detail", "scene"):
        drawn = draw_slide(kind, page, cut, TITLE, BENEFITS)
        assert drawn.image.size == page.size and drawn.mask.any()
        forbidden = keep_out(drawn.mask, margin)
        for box in drawn.ledger.blocks + drawn.ledger.boxes:
            assert is_clear(box, forbidden), (kind, box)
        # every text reads at 4.5:1 against what is right behind it (the plate or the slide)
        assert drawn.ledger.inks and all(ink.ratio >= MIN_RATIO for ink in drawn.ledger.inks)


@needs_fonts
def test_the_hero_shows_the_product_larger_and_draws_its_callouts() -> None:
    page = _page()
    for size, beside in (((200, 640), True), ((600, 400), False)):
        drawn = draw_slide("hero", page, cut_of("ellipse", size), TITLE, BENEFITS)
        cols = np.flatnonzero(drawn.mask.any(axis=0))
        rows = np.flatnonzero(drawn.mask.any(axis=1))
        callouts = drawn.ledger.blocks[1:]
        assert len(callouts) == 3
        below = all(box[1] > rows[-1] for box in callouts)
        assert below != beside, size  # tall: beside the product; wide: a row under it
        assert cols.size and rows.size


def test_a_set_shares_one_product_scale() -> None:
    small, tall = cut_of("ellipse", (200, 260)), cut_of("ellipse", (400, 520))
    box, slide = (100, 100, 700, 1100), (800, 1200)
    a = place_in(small, box, slide, share=0.5)
    b = place_in(tall, box, slide, share=0.5)
    assert a.rgba.height == b.rgba.height == round(0.5 / 0.84 * 1000)


def test_the_detail_crop_is_the_most_textured_part() -> None:
    rgba = np.zeros((200, 400, 4), np.uint8)
    rgba[..., :3] = 128
    rgba[..., 3] = 255
    rng = np.random.default_rng(0)
    rgba[:, 250:, :3] = rng.integers(0, 255, (200, 150, 3))  # the textured right part
    left, top, right, bottom = detail_box(Image.fromarray(rgba, "RGBA"), zoom=2.0)
    assert (right - left, bottom - top) == (100, 100) and left >= 240


def test_read_back_accuracy() -> None:
    assert accuracy("Держит тепло", "держит тепло") == 1.0
    assert accuracy("посудомоеч-", "посудомоеч") == 1.0  # the hyphen is not the text
    assert accuracy("абвгдежзий", "абвгдежзик") == pytest.approx(0.9)
    assert accuracy("Объём", "") == 0.0


def _page(style: int = 0) -> Page:
    templates = load_templates()
    chosen = make_style(style, templates, np.asarray(cut_of()), font=None, brand=None)
    return Page((1200, 1600), 48, chosen, templates)


def test_the_main_slide_is_the_fix_card_or_a_sets_scale() -> None:
    photo = Image.fromarray(skdata.coffee())
    alpha = np.zeros((photo.height, photo.width), np.float32)
    alpha[100:300, 150:450] = 1.0
    wb = load_profiles().get("wb")
    card = main_card(photo, alpha, wb)
    assert card.size == (1200, 1600) and card.fill == pytest.approx(wb.card.fill, abs=0.01)
    shared = main_card(photo, alpha, wb, share=0.3)
    rows = np.flatnonzero(shared.mask.any(axis=1))
    # the feathered edge is inside the placed height: the solid part a few px less
    assert rows[-1] + 1 - rows[0] == pytest.approx(0.3 * 1600, rel=0.03)
    assert shared.data[:2] == b"\xff\xd8"


@needs_fonts
def test_text_on_a_busy_picture_gets_a_plate() -> None:
    rng = np.random.default_rng(1)
    busy = Image.fromarray(rng.integers(0, 255, (400, 800, 3), dtype=np.uint8))
    ledger = Ledger()
    pen = Pen(48, 72, (31, 78, 140))
    block(busy, ledger, "Кружка ручной работы", (20, 20, 780, 380), bold(), pen)
    ink = ledger.inks[0]
    assert ink.plate is not None and ratio(ink.text, ink.plate) >= MIN_RATIO
    left, top, right, bottom = ledger.blocks[0]
    plate = np.asarray(busy)[top + 2 : top + 8, left + 20 : right - 20]
    assert (plate == ink.plate).all()  # drawn: the plate's own colour behind the text
    white = Image.new("RGB", (800, 400), "white")
    block(white, ledger, "Кружка ручной работы", (20, 20, 780, 380), bold(), pen)
    assert ledger.inks[1].plate is None and ledger.sizes[-1] >= 48
