"""Exact-pixel tests of feathering, decontamination, shadow, compositing and transparency."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from services.imaging import compositing as c

RED, GREEN, BLUE = (220, 30, 30), (20, 200, 40), (0, 0, 255)


def scene(
    width: int = 160, height: int = 120, soft: float = 2.0
) -> tuple[Image.Image, np.ndarray]:
    """A red rectangle on green, mixed exactly as I = aF + (1-a)B along a soft edge."""
    yy, xx = np.mgrid[:height, :width]
    inside = np.minimum.reduce([xx - 40, 120 - xx, yy - 30, 90 - yy]).astype(np.float32)
    alpha = np.clip(0.5 + inside / (2 * soft), 0, 1)
    a = alpha[..., None]
    rgb = a * np.array(RED) + (1 - a) * np.array(GREEN)
    return Image.fromarray(np.round(rgb).astype(np.uint8)), alpha


def test_inside_equals_input_and_far_outside_equals_the_colour() -> None:
    image, alpha = scene()
    out = np.asarray(c.composite(image, alpha, Image.new("RGB", image.size, BLUE)))
    source = np.asarray(image)
    soft = c.feather(alpha, c.feather_sigma(image.size))
    assert (soft == 1).sum() > 3000 and (soft == 0).sum() > 5000
    assert np.array_equal(out[soft == 1], source[soft == 1])
    # the interior well inside the edge is untouched, whatever the feather did
    assert np.array_equal(out[40:80, 50:110], source[40:80, 50:110])
    far = np.zeros(alpha.shape, bool)
    far[:8], far[-8:], far[:, :8], far[:, -8:] = True, True, True, True
    assert (out[far] == BLUE).all()
    plain = np.asarray(c.composite(image, alpha, Image.new("RGB", image.size, BLUE), shadow=False))
    assert (plain[soft == 0] == BLUE).all()  # without the shadow: every outside pixel


def test_shadow_darkens_only_near_the_object_bottom() -> None:
    image, alpha = scene()
    flat = np.asarray(c.composite(image, alpha, Image.new("RGB", image.size, (255, 255, 255))))
    shadow = c.contact_shadow(c.feather(alpha, 1.0))
    assert shadow.max() > 0.1 and shadow[:60].max() == 0  # under the object, not above it
    assert shadow[c.feather(alpha, 1.0) == 0].max() > 0
    plain = np.asarray(
        c.composite(image, alpha, Image.new("RGB", image.size, (255, 255, 255)), shadow=False)
    )
    darker = (flat.astype(int).sum(-1) < plain.astype(int).sum(-1)).nonzero()
    assert darker[0].min() >= 80  # only rows at and below the object's bottom edge
    assert (flat[:20] == 255).all() and (flat[:, :10] == 255).all()


def test_alpha_is_monotone_across_a_straight_edge() -> None:
    alpha = np.zeros((40, 200), np.float32)
    alpha[:, 100:] = 1.0
    for sigma in (0.7, 1.5, 6.0):
        soft = c.feather(alpha, sigma)
        row = soft[20]
        assert (np.diff(row) >= 0).all()
        assert row[0] == 0 and row[-1] == 1 and 0 < row[100] < 1
        assert np.array_equal(soft[0], soft[-1])  # a straight edge stays straight


def test_feather_scales_with_the_image_size() -> None:
    assert c.feather_sigma((1024, 768)) == pytest.approx(1.536)
    assert c.feather_sigma((4000, 3000)) == pytest.approx(6.0)
    assert c.feather_sigma((64, 64)) == 0.7


def test_decontamination_leaves_no_halo_of_the_old_background() -> None:
    image, alpha = scene(soft=3.0)
    out = np.asarray(c.composite(image, alpha, Image.new("RGB", image.size, BLUE), shadow=False))
    soft = c.feather(alpha, c.feather_sigma(image.size))
    edge = (soft > 0.05) & (soft < 0.95)
    assert edge.sum() > 200
    # the old green shows as green above the object's own 30: a naive mix carries it over
    naive = soft[..., None] * np.asarray(image) + (1 - soft[..., None]) * np.array(BLUE)
    assert naive[..., 1][edge].max() > 50
    assert out[..., 1][edge].max() <= 34


def test_transparent_keeps_alpha_as_an_rgba_png() -> None:
    image, alpha = scene()
    rgba = c.transparent(image, alpha)
    assert rgba.mode == "RGBA" and rgba.size == image.size
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    loaded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    soft = c.feather(alpha, c.feather_sigma(image.size))
    assert np.array_equal(loaded[..., 3], np.round(soft * 255).astype(np.uint8))
    assert (loaded[..., 3][40:80, 50:110] == 255).all() and (loaded[..., 3][:10] == 0).all()
    assert np.array_equal(loaded[..., :3][soft == 1], np.asarray(image)[soft == 1])


@pytest.mark.parametrize("size", [(97, 61), (61, 97), (128, 128)])
def test_result_keeps_the_photos_size_and_mode(size: tuple[int, int]) -> None:
    width, height = size
    image = Image.new("RGB", size, (10, 20, 30))
    alpha = np.zeros((height, width), np.float32)
    alpha[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = 1
    background = Image.new("RGB", (300, 50), (200, 200, 200))  # any size: resized to fit
    out = c.composite(image, alpha, background)
    assert out.size == size and out.mode == "RGB"
    with pytest.raises(ValueError, match="does not match"):
        c.transparent(image, alpha.T if width != height else alpha[:-1])


def test_masks_of_any_dtype_and_empty_or_full() -> None:
    image, alpha = scene()
    as_bool = c.composite(image, alpha > 0.5, Image.new("RGB", image.size, BLUE))
    as_uint8 = c.composite(
        image, (alpha > 0.5).astype(np.uint8) * 255, Image.new("RGB", image.size, BLUE)
    )
    assert np.array_equal(np.asarray(as_bool), np.asarray(as_uint8))
    empty = c.composite(image, np.zeros(alpha.shape), Image.new("RGB", image.size, BLUE))
    assert (np.asarray(empty) == BLUE).all()
    full = c.composite(image, np.ones(alpha.shape), Image.new("RGB", image.size, BLUE))
    assert np.array_equal(np.asarray(full), np.asarray(image))


def test_fill_outward_keeps_kept_pixels_and_spreads_colours() -> None:
    pixels = np.zeros((40, 40, 3), np.float32)
    pixels[:, :20] = (200, 100, 50)
    keep = np.zeros((40, 40), bool)
    keep[:, :20] = True
    filled = c.fill_outward(pixels, keep)
    assert np.array_equal(filled[keep], pixels[keep])
    assert np.allclose(filled[:, 20:], (200, 100, 50), atol=1)
