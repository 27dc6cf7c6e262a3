"""The five slides, each drawn from the product's cut (RGBA, cropped to it), the texts,
the style and the slide's size: main (the Fix card), hero, benefits, detail, scene.

Every text box keeps the template's margin from the product's own mask (proved with
`layout.assert_clear` on the blocks as drawn); `boost` (0..2, a redraw) raises the
smallest size by a fifth per step and puts every text on a plate."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from services.gallery import icons
from services.gallery.draw import Ledger, Pen, TooLong, block, icon, leader_line, shared, tint
from services.gallery.layout import (
    Box,
    assert_clear,
    keep_out,
    leader,
    place_in,
    shrink_clear,
)
from services.gallery.style import Style
from services.gallery.templates import Frac, Templates, mirrored, pixels
from services.gallery.texture import detail_box
from services.imaging.backgrounds import preset
from services.imaging.card import place
from services.imaging.compositing import over, transparent
from services.imaging.marketplace_card import CardImage, encode, span, to_srgb
from services.marketplace.fix import fix_for
from services.marketplace.profiles import Profile

__all__ = ["Drawn", "Page", "TooLong", "draw_slide", "main_card"]


@dataclass(frozen=True)
class Page:
    """What every slide of one gallery shares."""

    size: tuple[int, int]  # the profile's card size
    min_px: int  # the profile's smallest text
    style: Style
    templates: Templates
    share: float | None = None  # a set's product scale
    grow: bool = True  # a redraw raises the smallest size (False: plates only)


@dataclass
class Drawn:
    kind: str
    image: Image.Image  # RGB at the page's size
    mask: np.ndarray  # bool: the product as placed
    ledger: Ledger


def _pen(page: Page, sizes: tuple[float, float], boost: int, *, plate: bool = False) -> Pen:
    height = page.size[1]
    low = max(page.min_px, round(sizes[0] * height))
    low = round(low * (1 + 0.2 * boost)) if page.grow else low
    high = max(low, round(sizes[1] * height * (1 + 0.1 * boost)))
    return Pen(low, high, page.style.brand, force_plate=boost > 0, plate=plate)


def _box(page: Page, frac: Frac, flip: bool) -> Box:
    return pixels(mirrored(frac) if flip else frac, page.size)


def _margin(page: Page) -> int:
    return max(4, round(page.templates.margin * page.size[0]))


def _text(
    canvas: Image.Image,
    ledger: Ledger,
    text: str,
    box: Box,
    forbidden: np.ndarray,
    path: str,
    pen: Pen,
    **how: object,
) -> Box:
    clear = shrink_clear(box, forbidden, min_height=pen.low * 2)
    if clear is None:
        raise TooLong(text, 0)
    return block(canvas, ledger, text, clear, path, pen, **how)  # type: ignore[arg-type]


def _with_product(
    page: Page,
    cut: Image.Image,
    frac: Frac,
    flip: bool,
    background: Image.Image,
    *,
    shadow: bool = False,
):  # noqa: ANN202
    placed = place_in(cut, _box(page, frac, flip), page.size, share=page.share)
    layer = Image.new("RGBA", page.size, (0, 0, 0, 0))
    layer.paste(placed.rgba, placed.offset)
    return over(layer, background, shadow=shadow), placed.mask


def _scale(page: Page, cut: Image.Image, frac: Frac) -> float:
    """How large the product would be in the box `frac` (its fit scale)."""
    left, top, right, bottom = pixels(frac, page.size)
    return min((right - left) / cut.width, (bottom - top) / cut.height)


def hero(page: Page, cut: Image.Image, title: str, benefits: tuple[str, ...], boost: int) -> Drawn:
    spec = max(
        (page.templates.slide("hero"), page.templates.slide("hero_wide")),
        key=lambda s: _scale(page, cut, s["product"]),
    )
    flip = page.style.variant.title_at == "bottom"
    background = Image.new("RGB", page.size, tint(page.style.brand))
    canvas, mask = _with_product(page, cut, spec["product"], flip, background)
    forbidden = keep_out(mask, _margin(page))
    ledger = Ledger()
    title_pen = _pen(page, spec["title_size"], boost)
    _text(
        canvas,
        ledger,
        title,
        _box(page, spec["title"], flip),
        forbidden,
        page.style.bold,
        title_pen,
        max_lines=2,
    )
    pen = _pen(page, spec["callout_size"], boost, plate=True)
    slots = [_box(page, slot, flip) for slot in spec["callouts"]]
    pen = shared(pen, benefits[:3], slots, page.style.medium, 4)
    width = max(2, page.size[0] // 400)
    for benefit, slot in zip(benefits[:3], spec["callouts"], strict=False):
        box = _box(page, slot, flip)
        align = spec.get("align") or ("left" if box[0] < page.size[0] / 2 else "right")
        drawn = _text(
            canvas,
            ledger,
            benefit,
            box,
            forbidden,
            page.style.medium,
            pen,
            align=align,
            max_lines=4,
        )
        line = leader(drawn, mask, gap=0)
        if line is not None:
            leader_line(canvas, line, page.style.brand, width)
    assert_clear(ledger.blocks, forbidden)
    return Drawn("hero", canvas, mask, ledger)


def benefits_slide(page: Page, cut: Image.Image, benefits: tuple[str, ...], boost: int) -> Drawn:
    spec = page.templates.slide("benefits")
    background = Image.new("RGB", page.size, tint(page.style.brand))
    canvas, mask = _with_product(page, cut, spec["product"], False, background)
    forbidden = keep_out(mask, _margin(page))
    ledger = Ledger()
    left, top, right, bottom = _box(page, spec["list"], False)
    items = benefits[:5]
    row = (bottom - top) // max(3, len(items))
    start = top + ((bottom - top) - row * len(items)) // 2
    size = min(round(spec["icon"] * page.size[1]), round(row * 0.7))
    pen = _pen(page, spec["size"], boost)
    rows = [
        (left + size + size // 4, start + i * row, right, start + (i + 1) * row)
        for i in range(len(items))
    ]
    pen = shared(pen, items, rows, page.style.medium, 3)
    glyph_font = icons.font_path()
    for index, benefit in enumerate(items):
        y0 = start + index * row
        icon(
            canvas,
            icons.glyph_for(benefit),
            glyph_font,
            (left + size // 2, y0 + row // 2),
            size,
            page.style.brand,
        )
        _text(
            canvas,
            ledger,
            benefit,
            rows[index],
            forbidden,
            page.style.medium,
            pen,
            align="left",
            max_lines=3,
        )
    assert_clear(ledger.blocks, forbidden)
    return Drawn("benefits", canvas, mask, ledger)


def detail(page: Page, cut: Image.Image, caption: str, boost: int) -> Drawn:
    spec = page.templates.slide("detail")
    canvas = Image.new("RGB", page.size, tint(page.style.brand))
    crop = _box(page, spec["crop"], False)
    width, height = crop[2] - crop[0], crop[3] - crop[1]
    window = cut.crop(detail_box(cut, zoom=2.0, aspect=width / height))
    close = window.resize((width, height), Image.Resampling.LANCZOS)
    canvas.paste(Image.new("RGB", close.size, (255, 255, 255)), crop[:2])
    layer = Image.new("RGBA", page.size, (0, 0, 0, 0))
    layer.paste(close, crop[:2])
    canvas = over(layer, canvas, shadow=False)
    mask = np.zeros((page.size[1], page.size[0]), bool)
    mask[crop[1] : crop[3], crop[0] : crop[2]] = np.asarray(close.getchannel("A")) >= 128
    forbidden = keep_out(mask, _margin(page))
    ledger = Ledger()
    pen = _pen(page, spec["size"], boost, plate=True)
    _text(
        canvas,
        ledger,
        caption,
        _box(page, spec["caption"], False),
        forbidden,
        page.style.bold,
        pen,
        max_lines=2,
    )
    assert_clear(ledger.blocks, forbidden)
    return Drawn("detail", canvas, mask, ledger)


def scene(page: Page, cut: Image.Image, title: str, boost: int) -> Drawn:
    spec = page.templates.slide("scene")
    flip = page.style.variant.title_at == "bottom"
    background = preset(page.style.variant.scene, page.size, seed=page.style.index)
    canvas, mask = _with_product(page, cut, spec["product"], flip, background, shadow=True)
    forbidden = keep_out(mask, _margin(page))
    ledger = Ledger()
    pen = _pen(page, spec["size"], boost)
    _text(
        canvas,
        ledger,
        title,
        _box(page, spec["title"], flip),
        forbidden,
        page.style.bold,
        pen,
        max_lines=2,
    )
    assert_clear(ledger.blocks, forbidden)
    return Drawn("scene", canvas, mask, ledger)


def draw_slide(
    kind: str, page: Page, cut: Image.Image, title: str, benefits: tuple[str, ...], boost: int = 0
) -> Drawn:
    """One infographic slide (`kind` of hero, benefits, detail, scene) of the product `cut`
    (RGBA cropped to the product). TooLong when a text does not fit at the smallest size.
    A redraw (`boost` > 0) whose bigger text no longer fits keeps the sizes, on plates."""
    try:
        return _draw(kind, page, cut, title, benefits, boost)
    except TooLong:
        if boost == 0 or not page.grow:
            raise
        return _draw(kind, replace(page, grow=False), cut, title, benefits, boost)


def _draw(
    kind: str, page: Page, cut: Image.Image, title: str, benefits: tuple[str, ...], boost: int
) -> Drawn:
    if kind == "hero":
        return hero(page, cut, title, benefits, boost)
    if kind == "benefits":
        return benefits_slide(page, cut, benefits, boost)
    if kind == "detail":
        return detail(page, cut, benefits[0], boost)
    if kind == "scene":
        return scene(page, cut, title, boost)
    raise ValueError(f"no infographic slide {kind!r}")


def main_card(
    image: Image.Image, alpha: np.ndarray, profile: Profile, share: float | None = None
) -> CardImage:
    """The main slide: the Fix card of the profile (the product on its plain background,
    no text); with a set's `share`, the product that share of the card's height."""
    if share is None:
        return fix_for(image, alpha, profile)
    card = profile.card
    size = (card.width, card.height)
    placed = place(transparent(to_srgb(image), alpha), size, height_share=share)
    picture = over(placed, Image.new("RGB", size, card.background), shadow=False)
    placed_alpha = np.asarray(placed.getchannel("A"))
    data = encode(picture, card.format, card.quality)
    return CardImage(data, card.format, size, span(placed_alpha, size), placed_alpha >= 128)
