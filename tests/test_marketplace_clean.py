"""/clean's pixel part: the mask from text boxes (grown, plates taken whole, the product
kept) and the OpenCV fill that changes nothing outside the mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.imaging.inpaint_fill import inpaint, telea_radius
from services.imaging.text_mask import (
    box_regions,
    clean_mask,
    plate_around,
    probability_regions,
)
from tests.marketplace_photos import DRAW, font


def _sticker_photo() -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray]:
    """A red sticker with white text on a grey gradient; (image, text box, sticker mask)."""
    ramp = np.linspace(150, 230, 600, dtype=np.float32)[None, :, None]
    image = Image.fromarray(np.repeat(np.broadcast_to(ramp, (400, 600, 3)), 1, 0).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    sticker = (200, 150, 420, 250)
    draw.rounded_rectangle(sticker, radius=18, fill=(210, 30, 40))
    draw.text((230, 180), "ХИТ", font=font(40), fill=(255, 255, 255))
    left, top, right, bottom = draw.textbbox((230, 180), "ХИТ", font=font(40))
    truth = np.zeros((400, 600), bool)
    shape = Image.new("1", (600, 400), 0)
    ImageDraw.Draw(shape).rounded_rectangle(sticker, radius=18, fill=1)
    truth = np.asarray(shape)
    return np.asarray(image), (left - 3, top - 3, right + 3, bottom + 3), truth


def test_pixels_outside_the_mask_are_the_originals_bit_for_bit() -> None:
    photo = DRAW["good_infographic"](2)
    image = photo.array
    mask = clean_mask(image, [b.bbox for b in photo.boxes], object_mask=photo.object_mask)
    cleaned = inpaint(image, mask)
    assert cleaned.dtype == np.uint8 and cleaned.shape == image.shape
    assert np.array_equal(cleaned[~mask], image[~mask])
    assert not np.shares_memory(cleaned, image)


def test_the_text_region_changes_and_the_text_is_gone() -> None:
    photo = DRAW["good_infographic"](0)
    image = photo.array
    mask = clean_mask(image, [b.bbox for b in photo.boxes], object_mask=photo.object_mask)
    cleaned = inpaint(image, mask)
    for box in photo.boxes:
        x0, y0, x1, y1 = box.bbox
        before = image[y0:y1, x0:x1].astype(np.float32)
        after = cleaned[y0:y1, x0:x1].astype(np.float32)
        assert np.abs(after - before).mean() > 20  # the plate and the letters changed
        # no glyphs left: the region is as smooth as the background around it
        edges_before = cv2.Laplacian(before.mean(axis=2), cv2.CV_32F).var()
        edges_after = cv2.Laplacian(after.mean(axis=2), cv2.CV_32F).var()
        assert edges_before > 1000 and edges_after < 20
        assert after.std(axis=(0, 1)).max() < 12


def test_plate_growth_covers_a_sticker() -> None:
    image, box, sticker = _sticker_photo()
    found = plate_around(image, box)
    assert found is not None
    (x0, y0, x1, y1), plate = found
    full = np.zeros(sticker.shape, bool)
    full[y0:y1, x0:x1] = plate
    assert (full & sticker).sum() / sticker.sum() > 0.97
    assert (full & ~sticker).sum() < 0.02 * sticker.sum()
    mask = clean_mask(image, [box])
    assert mask[sticker].all()  # grown by 2 px: the antialiased edge goes too
    cleaned = inpaint(image, mask)
    reds = (cleaned[..., 0] > 180) & (cleaned[..., 1] < 80)
    assert reds.sum() < 0.01 * sticker.sum()
    assert np.array_equal(cleaned[~mask], image[~mask])


def test_text_on_a_photo_or_the_plain_background_has_no_plate() -> None:
    photo = DRAW["other_infographic"](0)  # a brand mark straight on white
    box = photo.boxes[0].bbox
    assert plate_around(photo.array, box) is None
    mask = clean_mask(photo.array, [box])
    assert mask.sum() < 3 * (box[2] - box[0]) * (box[3] - box[1])
    busy = DRAW["clean_bad_background"](0).array
    assert plate_around(busy, (100, 100, 200, 130)) is None


def test_regions_grow_with_their_height() -> None:
    shape = (500, 500)
    small, large = box_regions(shape, [(10, 10, 110, 20), (10, 100, 310, 200)])
    assert small.grown.sum() - small.core.sum() < large.grown.sum() - large.core.sum()
    (region,) = box_regions(shape, [np.array([[10, 300], [200, 280], [204, 320], [14, 340]])])
    assert region.core.sum() > 0.8 * 190 * 40  # a quad is filled as a polygon


def test_the_product_is_kept_unless_everything() -> None:
    image = np.full((300, 300, 3), 240, np.uint8)
    product = np.zeros((300, 300), bool)
    product[100:250, 80:220] = True
    on_product = (120, 150, 180, 170)  # the pack's own print
    beside = (10, 10, 90, 30)
    near = (30, 80, 78, 98)  # beside it, its growth would reach the product
    mask = clean_mask(image, [on_product, beside, near], object_mask=product)
    assert not mask[product].any()
    assert mask[15:25, 20:80].all() and mask[85:95, 35:75].all()
    everything = clean_mask(image, [on_product, beside], object_mask=product, everything=True)
    assert everything[155:165, 125:175].all()


def test_a_sticker_across_the_products_edge_goes_whole() -> None:
    image = np.full((300, 300, 3), 240, np.uint8)
    product = np.zeros((300, 300), bool)
    product[100:250, 100:220] = True
    crossing = (60, 150, 130, 170)  # 40 of its 70 px are beside the product
    mask = clean_mask(image, [crossing], object_mask=product)
    assert mask[155:165, 62:128].all()


def test_the_detectors_probability_map() -> None:
    probability = np.zeros((200, 300), np.float32)
    probability[20:40, 30:150] = 0.9  # a line 20 px high
    probability[100:104, 30:60] = 0.8  # a tiny one
    probability[150:160, 200:260] = 0.1  # below the threshold
    regions = probability_regions(probability)
    assert len(regions) == 2
    image = np.full((200, 300, 3), 128, np.uint8)
    mask = clean_mask(image, probability=probability)
    assert mask[16:44, 30:150].all() and mask[20:40, 26:154].all()  # grown by 20 % of 20 px
    assert not mask[14:46, 24:156].all()
    assert not mask[150:160, 200:260].any()
    with pytest.raises(ValueError, match="probability map"):
        clean_mask(image, probability=probability[:100])


def test_a_large_photo_is_filled_at_a_bounded_size_and_pasted_back() -> None:
    photo = DRAW["good_infographic"](4, (1500, 2000))
    image = photo.array
    mask = clean_mask(image, [b.bbox for b in photo.boxes], object_mask=photo.object_mask)
    cleaned = inpaint(image, mask, work_side=512)
    assert np.array_equal(cleaned[~mask], image[~mask])
    x0, y0, x1, y1 = photo.boxes[0].bbox
    assert np.abs(cleaned[y0:y1, x0:x1].astype(int) - image[y0:y1, x0:x1]).mean() > 20


def test_working_on_the_neighbourhood_fills_as_the_whole_picture_would() -> None:
    photo = DRAW["bad_infographic"](1)
    image = photo.array
    mask = clean_mask(image, [b.bbox for b in photo.boxes[:3]])
    ours = inpaint(image, mask, radius=5)
    whole = cv2.inpaint(image, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    assert np.array_equal(ours[mask], whole[mask])


def test_edge_cases() -> None:
    image = np.zeros((50, 50, 3), np.uint8)
    assert np.array_equal(inpaint(image, np.zeros((50, 50), bool)), image)
    with pytest.raises(ValueError, match="does not match"):
        inpaint(image, np.zeros((40, 50), bool))
    with pytest.raises(ValueError, match="RGB uint8"):
        inpaint(image.astype(np.float32), np.zeros((50, 50), bool))
    thin, thick = np.zeros((100, 100), bool), np.zeros((100, 100), bool)
    thin[50:52, 10:90] = True
    thick[20:80, 20:80] = True
    assert telea_radius(thin) < telea_radius(thick)
    assert not clean_mask(image, [(60, 60, 80, 80)]).any()  # outside the picture
