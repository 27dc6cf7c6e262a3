"""services.imaging.straighten on real photos warped by known keystones and rolls."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import color
from skimage import data as skdata
from skimage.io import imread

from services.imaging.straighten import MAX_DEGREES, measure_tilt, straighten, vertical_lines


def rgb(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(color.gray2rgb(array) if array.ndim == 2 else array[..., :3])


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    """The cameraman: a level shot with a tripod and a building's verticals (measured 0.2°)."""
    return rgb(skdata.camera())


def camera_warp(w: int, h: int, converge: float, roll: float) -> np.ndarray:
    """A camera tilted up (verticals at the frame's sides lean `converge`°), then rolled."""
    centre = np.array([[1.0, 0, -(w - 1) / 2], [0, 1, -(h - 1) / 2], [0, 0, 1]])
    keystone = np.eye(3)
    if converge:
        distance = (w / 2) / np.tan(np.radians(converge))  # the VP, this far above the centre
        keystone[2, 1] = -1 / distance
    t = np.radians(roll)  # y down: positive turns the content clockwise
    rotation = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    return np.linalg.inv(centre) @ rotation @ keystone @ centre


def warped(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.warpPerspective(
        image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


def leans(segments: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Degrees from vertical of (N, 4) segments mapped by `matrix` (+: the top leans right)."""
    ones = np.ones((len(segments), 1))
    p = np.hstack([segments[:, :2], ones]) @ matrix.T
    q = np.hstack([segments[:, 2:], ones]) @ matrix.T
    d = q[:, :2] / q[:, 2:] - p[:, :2] / p[:, 2:]
    up = np.where(d[:, 1] > 0, -1.0, 1.0)
    return np.degrees(np.arctan2(d[:, 0] * up, -d[:, 1] * up))


def scene_verticals(image: np.ndarray) -> np.ndarray:
    """The photo's own verticals: where its consistent segments lie, pointing exactly at their
    common vanishing point (a least-squares fit here), so that LSD's ±1° per short segment is
    not mistaken for an error of the correction."""
    segments = vertical_lines(image)
    ones = np.ones((len(segments), 1))
    lines = np.cross(np.hstack([segments[:, :2], ones]), np.hstack([segments[:, 2:], ones]))
    lines /= np.hypot(lines[:, 0], lines[:, 1])[:, None]
    vp = np.linalg.eigh(lines.T @ lines)[1][:, 0]
    middle = (segments[:, :2] + segments[:, 2:]) / 2
    towards = vp[None, :2] - middle * vp[2]
    towards /= np.linalg.norm(towards, axis=1)[:, None]
    return np.hstack([middle - 30 * towards, middle + 30 * towards])


@pytest.fixture(scope="module")
def garage() -> np.ndarray:
    """A motorcycle in a garage (Middlebury stereo, left view): shelves, boards and a door
    give many verticals across the frame; the camera looks slightly down (about 5.5°)."""
    return imread(Path(skdata.__file__).parent / "motorcycle_left.png")[..., :3]


@pytest.mark.parametrize(
    ("converge", "roll"),
    [(4.0, 0.0), (8.0, 0.0), (0.0, 3.0), (0.0, -2.0), (5.0, -4.0), (3.0, 5.0), (6.0, -3.0)],
)
def test_known_keystone_and_roll_are_removed(garage, converge, roll):
    h, w = garage.shape[:2]
    matrix = camera_warp(w, h, converge, roll)
    truth = scene_verticals(garage)
    assert len(truth) >= 40
    assert np.abs(leans(truth, matrix)).max() > 1.5  # the warped photo is visibly tilted

    result = straighten(warped(garage, matrix))
    assert result.changed and result.reason is None
    assert result.image.shape == garage.shape
    assert result.angle > 1.0
    after = leans(truth, result.homography @ matrix)
    assert np.abs(after).max() < 1.0, np.abs(after).max()


@pytest.mark.parametrize(
    ("converge", "roll"), [(0.0, 3.0), (0.0, -2.0), (0.0, 4.5), (4.0, 0.0), (8.0, 0.0)]
)
def test_measured_tilt_matches_the_applied_one(camera, converge, roll):
    h, w = camera.shape[:2]
    tilt = measure_tilt(warped(camera, camera_warp(w, h, converge, roll)))
    assert tilt.lines >= 6
    assert tilt.horizon == pytest.approx(roll, abs=0.5)
    # a vertical at the frame's side leans `converge` + |roll|; lines lie inside the frame
    expected = converge + abs(roll)
    assert 0.6 * expected <= tilt.vertical <= expected + 1.0


def test_original_measures_straight_and_is_left_alone(camera):
    tilt = measure_tilt(camera)
    assert tilt.lines >= 6
    assert tilt.vertical < 0.5 and abs(tilt.horizon) < 0.5
    result = straighten(camera)
    assert (result.changed, result.reason, result.angle) == (False, "straight", 0.0)
    assert result.image is camera


@pytest.mark.parametrize(
    "image",
    [
        cv2.GaussianBlur(skdata.coffee(), (0, 0), 12),
        np.dstack([np.tile(np.linspace(30, 220, 500, dtype=np.uint8), (400, 1))] * 3),
        rgb(skdata.chelsea()),  # fur: texture, no verticals (LSD still finds short segments)
    ],
    ids=["coffee-blurred", "gradient", "chelsea"],
)
def test_no_straight_lines_is_left_alone(image):
    result = straighten(image)
    assert (result.changed, result.reason, result.angle) == (False, "few_lines", 0.0)
    assert result.image is image
    assert measure_tilt(image).vertical is None


def test_steep_keystone_is_left_alone(garage):
    h, w = garage.shape[:2]
    photo = warped(garage, camera_warp(w, h, 25.0, 0.0))
    assert measure_tilt(photo).vertical > MAX_DEGREES
    result = straighten(photo)
    assert (result.changed, result.reason) == (False, "too_steep")
    assert result.image is photo
    # a limit above the measured correction lets the same photo through
    assert straighten(photo, max_degrees=30.0).changed


@pytest.mark.parametrize("name", ["rocket", "garage"])
def test_real_tilted_photo_has_no_empty_corners(name, garage):
    """Both were shot tilted: the rocket's towers converge upwards (the camera looks up),
    the garage's verticals downwards (it looks down)."""
    source = skdata.rocket() if name == "rocket" else garage
    photo = (np.minimum(source.astype(np.int16), 245) + 10).astype(np.uint8)  # no pure black
    result = straighten(photo)
    assert result.changed
    assert 4.0 < result.angle < MAX_DEGREES
    assert result.image.shape == photo.shape and result.image.dtype == np.uint8
    black = np.all(result.image == 0, axis=2)  # what an empty corner would hold
    for border in (black[:4], black[-4:], black[:, :4], black[:, -4:]):
        assert not border.any()
    assert not black.any()
    assert np.abs(result.image.astype(int) - photo).mean() > 5  # the photo really moved


def test_real_tilted_photo_comes_out_straight(garage):
    result = straighten(garage)
    assert result.angle == pytest.approx(5.5, abs=0.5)
    again = measure_tilt(result.image)
    assert again.vertical < 1.0 and abs(again.horizon) < 0.5
    assert straighten(result.image).reason == "straight"


def test_vanishing_point_inside_the_frame_is_refused():
    """Lines radiating from a point in the picture (looking straight up a stairwell, a tunnel):
    no homography can make them parallel without tearing the frame, so nothing changes."""
    photo = np.full((480, 640, 3), 200, np.uint8)
    for angle in np.linspace(-25, 25, 11):
        dx, dy = np.sin(np.radians(angle)), np.cos(np.radians(angle))
        for sign in (-1, 1):  # a ray up and a ray down from the point
            start = (int(330 + sign * 40 * dx), int(250 + sign * 40 * dy))
            end = (int(330 + sign * 400 * dx), int(250 + sign * 400 * dy))
            cv2.line(photo, start, end, (40, 40, 40), 3, cv2.LINE_AA)
    assert len(vertical_lines(photo)) >= 6  # they do agree, on a point inside the frame
    result = straighten(photo)
    assert (result.changed, result.reason) == (False, "few_lines")
    assert result.image is photo
    assert measure_tilt(photo).vertical is None


def test_deterministic(garage):
    first, second = straighten(garage), straighten(garage)
    assert first.angle == second.angle and np.array_equal(first.image, second.image)
