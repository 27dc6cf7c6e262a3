"""The product alone (services/imaging/separate.py) on constructed saliency maps and pixels:
a product held in front of a person (one salient blob, cut by the frame) keeps the product
only; two equal objects are ambiguous and kept both; one object is left as it is."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from services.imaging.masks import iou
from services.imaging.separate import focus, separate
from services.operations.cutout import Cutout

SIZE = (240, 320)  # height, width


def _shape(draw: str, box: tuple[int, int, int, int]) -> np.ndarray:
    image = Image.new("L", (SIZE[1], SIZE[0]), 0)
    getattr(ImageDraw.Draw(image), draw)(box, fill=255)
    return np.asarray(image) > 127


def _scene(*layers: tuple[np.ndarray, tuple[int, int, int]]) -> np.ndarray:
    """Grey background; each (mask, colour) painted over the ones before (the last in front)."""
    rgb = np.full((*SIZE, 3), 200, np.uint8)
    noise = np.random.default_rng(0).integers(-6, 7, rgb.shape)
    for mask, colour in layers:
        rgb[mask] = colour
    return np.clip(rgb.astype(int) + noise, 0, 255).astype(np.uint8)


def _saliency(mask: np.ndarray) -> np.ndarray:
    """What a saliency model gives: near 1 inside, soft at the edge."""
    return np.clip(ndimage.gaussian_filter(mask.astype(np.float32), 1.5), 0, 1)


def person() -> np.ndarray:
    """Shoulders cut by the bottom of the frame, and a head."""
    body = _shape("rounded_rectangle", (60, 120, 260, 260))
    return body | _shape("ellipse", (120, 20, 200, 120))


def test_a_product_held_in_front_of_a_person_is_kept_alone() -> None:
    cup = _shape("ellipse", (120, 100, 200, 190))
    behind = person() & ~cup
    rgb = _scene((person(), (220, 110, 40)), (cup, (40, 60, 170)))
    saliency = _saliency(person() | cup)
    assert iou(saliency >= 0.5, cup) < 0.4  # the map holds both, as one blob

    found = separate(saliency, rgb)

    assert found.split and found.objects == 2 and not found.ambiguous and found.needs_look
    assert iou(found.mask, cup) >= 0.9
    assert (found.mask & behind).sum() <= 0.02 * behind.sum()
    kept = focus(saliency, found) >= 0.5
    assert iou(kept, cup) >= 0.9


def test_two_equal_objects_are_ambiguous_and_both_kept() -> None:
    left = _shape("ellipse", (40, 70, 140, 170))
    right = _shape("ellipse", (180, 70, 280, 170))
    saliency = _saliency(left | right)
    rgb = _scene((left, (40, 60, 170)), (right, (40, 60, 170)))

    found = separate(saliency, rgb)

    assert found.ambiguous and found.objects == 2 and not found.split
    assert iou(found.mask, left | right) >= 0.95


def test_one_object_is_left_as_it_is() -> None:
    cup = _shape("ellipse", (110, 70, 210, 170))
    saliency = _saliency(cup)

    found = separate(saliency, _scene((cup, (40, 60, 170))))

    assert found.objects == 1 and not found.ambiguous and not found.split
    assert np.array_equal(found.mask, saliency >= 0.5)


def test_a_big_product_cut_by_the_frame_is_not_split() -> None:
    """A product filling the frame in one colour: nothing stands behind it."""
    sofa = _shape("rectangle", (0, 60, 319, 239))
    found = separate(_saliency(sofa), _scene((sofa, (120, 80, 50))))
    assert not found.split and not found.ambiguous and found.objects == 1


def test_the_central_object_is_kept_and_a_side_one_dropped() -> None:
    cup = _shape("ellipse", (110, 70, 210, 170))
    lamp = _shape("rectangle", (10, 10, 50, 60))
    saliency = _saliency(cup | lamp)

    found = separate(saliency, _scene((cup, (40, 60, 170)), (lamp, (250, 240, 90))))

    assert found.objects == 2 and not found.ambiguous
    assert iou(found.mask, cup) >= 0.95 and not (found.mask & lamp).any()
    focused = focus(saliency, found)
    assert focused[lamp].max() == 0.0 and iou(focused >= 0.5, cup) >= 0.95


def test_without_pixels_a_blob_is_not_split() -> None:
    cup = _shape("ellipse", (120, 100, 200, 190))
    saliency = _saliency(person() | cup)
    found = separate(saliency)
    assert not found.split and iou(found.mask, saliency >= 0.5) == 1.0


def test_the_cut_reads_its_objects_back_from_the_source() -> None:
    alpha = np.zeros((4, 4), np.float32)
    assert Cutout(alpha, 0, 1, "isnet", 0.0).objects == 1
    assert not Cutout(alpha, 0, 1, "isnet", 0.0).needs_look
    several = Cutout(alpha, 0, 2, "isnet+sam:objects3:look", 0.0)
    assert several.objects == 3 and several.needs_look
    assert Cutout(alpha, 0, 2, "isnet:alpha-hint:objects2", 0.0).objects == 2


def test_a_part_of_the_person_that_meets_the_background_is_not_split_off() -> None:
    """A collar across the shoulders has sharp edges, but it lies over nothing: it is the
    person's own part (half its outline meets the background), so the person stays whole."""
    collar = person() & _shape("rectangle", (0, 110, 319, 150))
    rgb = _scene((person(), (220, 110, 40)), (collar, (240, 240, 240)))
    found = separate(_saliency(person()), rgb)
    assert not found.split and not found.needs_look and found.objects == 1
