""" "Fix for <marketplace>": the card passes its profile's file rules, is the profile's size
and aspect, and the product's pixels are the photo's, only scaled."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw
from scipy import ndimage
from skimage import data as skdata

from services.imaging.card import alpha_bbox
from services.imaging.compositing import feather, feather_sigma
from services.imaging.marketplace_card import marketplace_card, span, to_srgb
from services.marketplace.facts import read_facts
from services.marketplace.fix import fix_for
from services.marketplace.profiles import load_profiles
from services.marketplace.rules import check_photo
from tests.marketplace_photos import ADOBE_RGB, draw_clean_bad_background


def _product_photo() -> tuple[Image.Image, np.ndarray, tuple[int, int, int, int]]:
    """The cat (an ellipse of chelsea()) on a busy texture; (photo, mask, product bbox)."""
    photo = draw_clean_bad_background(3, (900, 700))
    cat = Image.fromarray(skdata.chelsea()).resize((360, 300))
    shape = Image.new("L", (360, 300), 0)
    ImageDraw.Draw(shape).ellipse((0, 0, 359, 299), fill=255)
    photo.image.paste(cat, (300, 250), shape)
    mask = np.zeros((700, 900), bool)
    mask[250:550, 300:660] = np.asarray(shape) > 0
    return photo.image, mask, (300, 250, 660, 550)


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_fix_for_wildberries() -> None:
    image, mask, _ = _product_photo()
    wb = load_profiles().get("wb")
    card = fix_for(image, mask.astype(np.float32), wb)
    assert (card.format, card.mime, card.extension) == ("JPEG", "image/jpeg", "jpg")
    out = _decoded(card.data)
    assert out.format == "JPEG" and out.mode == "RGB"
    assert out.size == card.size == (1200, 1600)  # 3:4, above the 900×1200 minimum
    assert out.width * 4 == out.height * 3
    assert not out.getexif()  # nothing to rotate it twice
    pixels = np.asarray(out).astype(int)
    for corner in (pixels[:20, :20], pixels[:20, -20:], pixels[-20:, :20], pixels[-20:, -20:]):
        assert corner.min() >= 250  # plain white
    low, high = wb.fill_range()
    assert low <= card.fill <= high and card.fill == pytest.approx(wb.card.fill, abs=0.01)
    facts = read_facts(card.data)
    assert facts.jpeg_quality >= 90 and facts.colour_space == "sRGB"
    failed = [r.rule for r in check_photo(wb, facts) if r.passed is False]
    assert failed == []


def test_the_products_pixels_are_the_photos_only_scaled() -> None:
    image, mask, _ = _product_photo()
    card = fix_for(image, mask, load_profiles().get("wb"))
    out = np.asarray(_decoded(card.data)).astype(np.float32)
    # where place() puts it: the feathered cut's box, scaled so it spans 85 % of the card
    soft = np.round(feather(mask, feather_sigma(image.size)) * 255).astype(np.uint8)
    x0, y0, x1, y1 = alpha_bbox(soft)
    scale = min(1200 * 0.85 / (x1 - x0), 1600 * 0.85 / (y1 - y0))
    w, h = round((x1 - x0) * scale), round((y1 - y0) * scale)
    left, top = (1200 - w) // 2, (1600 - h) // 2
    expected = image.crop((x0, y0, x1, y1)).resize((w, h), Image.Resampling.LANCZOS)
    inner = np.asarray(
        Image.fromarray(mask[y0:y1, x0:x1]).resize((w, h), Image.Resampling.NEAREST)
    )
    inner = ndimage.binary_erosion(inner, iterations=8)  # away from the feathered edge
    placed = out[top : top + h, left : left + w][inner]
    want = np.asarray(expected).astype(np.float32)[inner]
    assert np.abs(placed - want).mean() < 3.0  # JPEG q92 and resampling, no re-colouring
    assert np.abs(placed.mean(axis=0) - want.mean(axis=0)).max() < 1.5


def test_an_adobe_rgb_photo_is_converted_to_srgb() -> None:
    adobe = Image.new("RGB", (64, 64), (60, 180, 60))
    adobe.info["icc_profile"] = ADOBE_RGB
    converted = np.asarray(to_srgb(adobe))[0, 0].astype(float)
    # by hand: Adobe RGB (gamma 563/256) -> XYZ D50 -> sRGB (Bradford-adapted matrix)
    linear = (np.array([60, 180, 60]) / 255.0) ** (563 / 256)
    to_xyz = np.array(
        [[0.6097, 0.2053, 0.1492], [0.3111, 0.6257, 0.0632], [0.0195, 0.0609, 0.7446]]
    )
    to_srgb_linear = np.array(
        [
            [3.1338561, -1.6168667, -0.4906146],
            [-0.9787684, 1.9161415, 0.0334540],
            [0.0719453, -0.2289914, 1.4052427],
        ]
    )
    rgb = np.clip(to_srgb_linear @ to_xyz @ linear, 0, 1)
    encoded = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * rgb ** (1 / 2.4) - 0.055) * 255
    assert np.abs(converted - encoded).max() <= 3
    assert np.abs(converted - [60, 180, 60]).max() > 10  # it did change
    untagged = Image.new("RGB", (8, 8), (60, 180, 60))
    assert np.asarray(to_srgb(untagged))[0, 0].tolist() == [60, 180, 60]


def test_a_card_from_an_adobe_rgb_photo_is_tagged_srgb() -> None:
    image, mask, _ = _product_photo()
    image.info["icc_profile"] = ADOBE_RGB
    card = fix_for(image, mask, load_profiles().get("ozon"))
    out = _decoded(card.data)
    assert ImageCms.getProfileDescription(
        ImageCms.ImageCmsProfile(io.BytesIO(out.info["icc_profile"]))
    ).startswith("sRGB")


def test_yandex_market_square_and_a_png_card() -> None:
    image, mask, _ = _product_photo()
    ym = load_profiles().get("ym")
    card = fix_for(image, mask, ym)
    assert card.size == (1200, 1200)
    assert read_facts(card.data).transparent_share == 0.0
    png = marketplace_card(image, mask, size=(900, 1200), fill=0.8, fmt="PNG")
    decoded = _decoded(png.data)
    assert decoded.format == "PNG" and decoded.mode == "RGB"
    assert png.extension == "png"


def test_a_coloured_background_and_the_limits() -> None:
    image, mask, _ = _product_photo()
    card = fix_for(image, mask, load_profiles().get("wb"), background=(240, 240, 240))
    corner = np.asarray(_decoded(card.data))[:10, :10].astype(int)
    assert np.abs(corner - 240).max() <= 2
    tiny = np.zeros(mask.shape, bool)
    tiny[300:320, 400:410] = True  # 10×20 px: enlarged at most 4 times, not to 85 %
    small = marketplace_card(image, tiny, size=(1200, 1600), fill=0.85)
    assert small.fill < 0.1
    with pytest.raises(ValueError, match="does not match"):
        marketplace_card(image, mask[:100], size=(1200, 1600), fill=0.85)
    with pytest.raises(ValueError, match="fill"):
        marketplace_card(image, mask, size=(1200, 1600), fill=1.5)
    assert span(np.zeros((10, 10), np.uint8), (10, 10)) == 0.0
