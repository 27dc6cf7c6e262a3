"""services/imaging/blur.py: OpenCV's blur gives SciPy's gaussian_filter (kernel, borders,
dtypes, anisotropic sigmas, images smaller than the kernel)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from services.imaging.blur import gaussian


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror", "constant"])
@pytest.mark.parametrize("sigma", [0.5, 2.0, 6.0, (3.0, 1.0), (0.0, 2.5)])
@pytest.mark.parametrize("truncate", [3.0, 4.0])
def test_it_is_scipys_gaussian_filter(
    mode: str, sigma: float | tuple[float, float], truncate: float
) -> None:
    rng = np.random.default_rng(7)
    for shape in [(97, 131), (40, 23)]:
        array = rng.random(shape).astype(np.float32)
        expected = ndimage.gaussian_filter(array, sigma, mode=mode, truncate=truncate)
        got = gaussian(array, sigma, mode=mode, truncate=truncate)
        assert got.dtype == np.float32 and got.shape == shape
        np.testing.assert_allclose(got, expected, atol=2e-6)


def test_dtypes_and_small_images() -> None:
    rng = np.random.default_rng(3)
    wide = rng.random((50, 60))  # float64 stays float64
    np.testing.assert_allclose(
        gaussian(wide, 2.0, mode="nearest"), ndimage.gaussian_filter(wide, 2.0, mode="nearest")
    )
    assert gaussian(wide, 2.0).dtype == np.float64
    tiny = rng.random((3, 5)).astype(np.float32)  # smaller than the kernel: SciPy does it
    np.testing.assert_allclose(gaussian(tiny, 4.0), ndimage.gaussian_filter(tiny, 4.0), atol=1e-6)
    assert np.array_equal(gaussian(tiny, 0.0), tiny)
    with pytest.raises(ValueError):
        gaussian(rng.random((4, 4, 3)), 1.0)


def test_upscaled_is_pils_bilinear_enlargement() -> None:
    from PIL import Image

    from services.imaging.blur import upscaled

    rng = np.random.default_rng(5)
    for shape, size in [((256, 192), (300, 400)), ((7, 5), (64, 97)), ((33, 40), (40, 33))]:
        array = (rng.random((*shape, 3)) * 255).astype(np.float32)
        if size[0] < shape[1] or size[1] < shape[0]:
            with pytest.raises(ValueError):
                upscaled(array, size)
            continue
        expected = np.stack(
            [
                np.asarray(Image.fromarray(array[..., c], "F").resize(size, Image.BILINEAR))
                for c in range(3)
            ],
            axis=-1,
        )
        got = upscaled(array, size)
        assert got.shape == (size[1], size[0], 3) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-3)
        np.testing.assert_allclose(upscaled(array[..., 0], size), expected[..., 0], atol=1e-3)
