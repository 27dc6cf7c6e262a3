"""The detail slide's crop: the most textured window of the product, by the local
variance of the Laplacian (texture and print show, flat areas and the background do not)."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]


def texture_map(rgb: np.ndarray) -> np.ndarray:
    """|Laplacian| of the grey image, smoothed: the local amount of fine detail."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    return cv2.blur(lap * lap, (9, 9))


def detail_box(rgba: Image.Image, zoom: float = 2.0, aspect: float = 1.0) -> Box:
    """The window (width/height = `aspect`) of `rgba`'s product, 1/`zoom` of its shorter
    side, where the product's detail is richest; windows mostly off the product score 0."""
    array = np.asarray(rgba.convert("RGBA"))
    alpha = array[..., 3] >= 128
    height, width = alpha.shape
    side = max(8, int(min(width, height) / zoom))
    win_w, win_h = (side, int(side / aspect)) if aspect <= 1 else (int(side * aspect), side)
    win_w, win_h = min(win_w, width), min(win_h, height)
    score = texture_map(np.ascontiguousarray(array[..., :3])) * alpha
    # mean texture per window through the integral image; windows off the product lose
    inside = cv2.integral(alpha.astype(np.float32))
    total = cv2.integral(score.astype(np.float64))
    h_n, w_n = height - win_h + 1, width - win_w + 1

    def sums(table: np.ndarray) -> np.ndarray:
        return (
            table[win_h : win_h + h_n, win_w : win_w + w_n]
            - table[:h_n, win_w : win_w + w_n]
            - table[win_h : win_h + h_n, :w_n]
            + table[:h_n, :w_n]
        )

    coverage = sums(inside) / (win_w * win_h)
    mean = sums(total) / (win_w * win_h)
    mean[coverage < 0.6] = -1.0
    y, x = np.unravel_index(int(np.argmax(mean)), mean.shape)
    return int(x), int(y), int(x) + win_w, int(y) + win_h
