"""services/hotel/signals.py on real photos (skimage.data): sharpness, QR codes, borders and
collages, monochrome."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import qrcode
from skimage import data

from services.hotel.signals import (
    MONOCHROME_BELOW,
    colourfulness,
    find_qr_codes,
    find_seams,
    is_monochrome,
    sharpness,
    toned_colourfulness,
)

PHOTOS = ["coffee", "chelsea", "astronaut", "rocket", "camera", "immunohistochemistry", "brick"]
COLOUR = ["coffee", "chelsea", "astronaut", "rocket", "immunohistochemistry"]


def photo(name: str) -> np.ndarray:
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def sepia(image: np.ndarray) -> np.ndarray:
    matrix = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return np.clip(image.astype(np.float64) @ matrix.T, 0, 255).astype(np.uint8)


def qr_image(text: str, box_size: int = 6) -> np.ndarray:
    code = qrcode.QRCode(box_size=box_size, border=4)
    code.add_data(text)
    code.make(fit=True)
    return np.asarray(code.make_image().convert("RGB"))


def test_sharpness_drops_when_blurred() -> None:
    for name in ["coffee", "astronaut", "rocket"]:
        image = photo(name)
        sharp = sharpness(image)
        blurred = sharpness(cv2.GaussianBlur(image, (0, 0), 3))
        assert sharp > 50, name
        assert blurred < 5, name
        assert blurred < sharp / 10, name


def test_sharpness_does_not_depend_on_size() -> None:
    # One scene (astronaut, enlarged to 2048) taken at two resolutions.
    scene = cv2.resize(photo("astronaut"), (2048, 2048), interpolation=cv2.INTER_LANCZOS4)
    large = cv2.resize(scene, (1600, 1600), interpolation=cv2.INTER_AREA)
    small = cv2.resize(scene, (1100, 1100), interpolation=cv2.INTER_AREA)
    a, b = sharpness(large), sharpness(small)
    assert abs(a - b) / max(a, b) < 0.25, (a, b)


def test_qr_code_pasted_on_a_photo_is_found_and_decoded() -> None:
    image = photo("coffee").copy()
    code = qr_image("https://example.com/room/42")
    h, w = code.shape[:2]
    y0, x0 = 40, 300
    image[y0 : y0 + h, x0 : x0 + w] = code
    found = find_qr_codes(image)
    assert len(found) == 1
    qr = found[0]
    assert qr.text == "https://example.com/room/42"
    bx0, by0, bx1, by1 = qr.bbox
    ix = min(bx1, x0 + w) - max(bx0, x0)
    iy = min(by1, y0 + h) - max(by0, y0)
    assert ix > 0 and iy > 0
    # The detector boxes the code without its quiet zone: most of the box lies in the paste.
    assert ix * iy > 0.8 * (bx1 - bx0) * (by1 - by0)
    assert (bx1 - bx0) * (by1 - by0) > 0.4 * w * h


def test_small_qr_code_is_found() -> None:
    image = photo("astronaut").copy()
    code = qr_image("wifi: guest", box_size=2)
    h, w = code.shape[:2]
    image[400 : 400 + h, 380 : 380 + w] = code
    found = find_qr_codes(image)
    assert [q.text for q in found] == ["wifi: guest"]


@pytest.mark.parametrize("name", PHOTOS)
def test_no_qr_code_on_plain_photos(name: str) -> None:
    assert find_qr_codes(photo(name)) == []


@pytest.mark.parametrize("name", PHOTOS)
def test_plain_photos_have_no_borders_or_seams(name: str) -> None:
    seams = find_seams(photo(name))
    assert seams.borders == ()
    assert not seams.collage
    assert seams.positions == ()


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0)])
def test_added_frame_is_a_border_on_all_sides(colour: tuple[int, int, int]) -> None:
    image = photo("chelsea")
    framed = cv2.copyMakeBorder(image, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=colour)
    seams = find_seams(framed)
    assert set(seams.borders) == {"top", "bottom", "left", "right"}
    assert not seams.collage


def test_band_on_one_side_only() -> None:
    image = photo("rocket")
    banded = cv2.copyMakeBorder(image, 0, 40, 0, 0, cv2.BORDER_CONSTANT, value=(250, 250, 250))
    assert find_seams(banded).borders == ("bottom",)


def _tile(name: str, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(photo(name), size, interpolation=cv2.INTER_AREA)


def test_two_by_two_collage() -> None:
    size = (320, 240)
    top = np.hstack([_tile("coffee", size), _tile("chelsea", size)])
    bottom = np.hstack([_tile("astronaut", size), _tile("rocket", size)])
    collage = np.vstack([top, bottom])
    seams = find_seams(collage)
    assert seams.collage
    assert seams.borders == ()
    kinds = {kind for kind, _ in seams.positions}
    assert kinds == {"h", "v"}
    for _, pos in seams.positions:
        assert abs(pos - 0.5) < 0.02


def test_side_by_side_collage_with_a_white_gutter() -> None:
    size = (300, 400)
    gutter = np.full((400, 12, 3), 255, np.uint8)
    collage = np.hstack([_tile("immunohistochemistry", size), gutter, _tile("coffee", size)])
    seams = find_seams(collage)
    assert seams.collage
    assert [kind for kind, _ in seams.positions] == ["v"]
    assert abs(seams.positions[0][1] - 0.5) < 0.03


def test_collage_after_jpeg_and_resize() -> None:
    size = (320, 240)
    top = np.hstack([_tile("coffee", size), _tile("astronaut", size)])
    bottom = np.hstack([_tile("chelsea", size), _tile("immunohistochemistry", size)])
    collage = np.vstack([top, bottom])
    collage = cv2.resize(collage, (900, 675), interpolation=cv2.INTER_CUBIC)
    ok, jpeg = cv2.imencode(".jpg", collage, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    seams = find_seams(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED))
    assert seams.collage


def test_monochrome() -> None:
    for name in COLOUR:
        image = photo(name)
        assert not is_monochrome(image), name
        assert toned_colourfulness(image) > 3 * MONOCHROME_BELOW, name
        grey = np.stack([cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)] * 3, axis=-1)
        assert colourfulness(grey) == 0.0
        assert is_monochrome(grey), name
        toned = sepia(image)
        assert is_monochrome(toned), name
        # Plain colourfulness does not separate a sepia photo from a colour one.
        assert colourfulness(toned) > 15, name
    assert is_monochrome(photo("camera"))
    assert is_monochrome(data.camera())


def test_greyscale_and_tiny_inputs() -> None:
    framed = cv2.copyMakeBorder(data.camera(), 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
    assert set(find_seams(framed).borders) == {"top", "bottom", "left", "right"}
    tiny = np.zeros((5, 5, 3), np.uint8)
    assert find_seams(tiny).borders == () and not find_seams(tiny).collage
    assert find_qr_codes(tiny) == []
    assert sharpness(tiny) == 0.0
