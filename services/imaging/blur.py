"""A Gaussian blur that is `scipy.ndimage.gaussian_filter`'s, computed by OpenCV.

Why: the card's edge colours, the feathered cut and the product-alone split blur 1024² float
maps many times a photo; OpenCV's separable SIMD filter is ~5x faster than SciPy's on them
(1.7 vs 9.4 ms at sigma 2 on this 2-core CPU) with the same kernel (radius
`int(truncate * sigma + 0.5)`, normalised) and the same border, equal within 3e-7
(tests/test_blur.py; issue 31 C1 in benchmarks/PROFILE.md)."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

#: scipy.ndimage's border modes, as OpenCV names them
BORDERS = {
    "nearest": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT,
    "mirror": cv2.BORDER_REFLECT_101,
    "constant": cv2.BORDER_CONSTANT,
}


def _size(sigma: float, truncate: float) -> int:
    return 2 * int(truncate * sigma + 0.5) + 1 if sigma > 0 else 1


def gaussian(
    array: np.ndarray,
    sigma: float | tuple[float, float],
    *,
    mode: str = "reflect",
    truncate: float = 4.0,
) -> np.ndarray:
    """`ndimage.gaussian_filter(array, sigma, mode=mode, truncate=truncate)` of an H×W array
    (sigma: one value, or (rows, columns)); float32 stays float32, anything else is float64."""
    if array.ndim != 2:
        raise ValueError(f"gaussian blurs an H×W array, got shape {array.shape}")
    sigma_y, sigma_x = (sigma, sigma) if np.isscalar(sigma) else sigma  # type: ignore[misc]
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    source = np.ascontiguousarray(array, dtype=dtype)
    if sigma_x <= 0 and sigma_y <= 0:
        return source.copy()
    size_x, size_y = _size(sigma_x, truncate), _size(sigma_y, truncate)
    if min(source.shape) <= max(size_x, size_y) // 2:  # borders wider than the image
        return ndimage.gaussian_filter(source, (sigma_y, sigma_x), mode=mode, truncate=truncate)
    kernel_x = cv2.getGaussianKernel(size_x, max(sigma_x, 1e-9), cv2.CV_64F)
    kernel_y = cv2.getGaussianKernel(size_y, max(sigma_y, 1e-9), cv2.CV_64F)
    return cv2.sepFilter2D(source, -1, kernel_x, kernel_y, borderType=BORDERS[mode])


def upscaled(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float32 H×W (or H×W×C) array enlarged to `size` (width, height) bilinearly: PIL's
    BILINEAR upscale of each channel within 3e-5 on 0..255 values, ~6x faster and all
    channels in one call. Only for enlarging: PIL's downscale antialiases, OpenCV's not."""
    height, width = array.shape[:2]
    if size[0] < width or size[1] < height:
        raise ValueError(f"upscaled enlarges: {width}×{height} -> {size[0]}×{size[1]}")
    source = np.ascontiguousarray(array, dtype=np.float32)
    return cv2.resize(source, size, interpolation=cv2.INTER_LINEAR)
