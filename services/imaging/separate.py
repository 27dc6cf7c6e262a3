"""The product alone: of the salient things in a photo, the one nearest the centre and in front.

ISNet finds every salient thing: a cup held up before an astronaut comes out as one blob, cup
and person. `separate` takes the saliency map (and the photo's pixels) and keeps one object:

- several salient components: the one nearest the centre (its centroid; the larger of two
  equally central), the others dropped. Two comparably central and comparably large ones
  leave it undecided: all are kept (a pair of shoes stays a pair) and it is ``ambiguous``.
- the chosen blob touches the frame (a person, an animal, a room cut by the photo's edge)
  around the centre: what stands in front is split from what stands behind by a marker
  watershed on the photo's colour gradient: the front object grows from the salient point
  nearest the centre, what stands behind from where the blob meets the frame, the background
  from where the map is sure. The front object's edge is the strongest colour edge between
  them (an occluding edge). A front part too small, too large, reaching the frame itself, not
  lying over the rest (much of its outline meets the background: a part of the same person),
  or whose seam with the rest is no sharp colour edge (a plain product the flood merely
  halved) is no object in front: the blob is kept whole.

Pure numpy/scipy/scikit-image on arrays; no model (tests/test_separate.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import color, filters, segmentation

from services.imaging import masks as M
from services.imaging.blur import gaussian

#: A component smaller than this share of the largest salient one is not an object.
OBJECT_SHARE = 0.05
#: The band along the frame (share of the longer side) where a blob "touches the frame".
FRAME_BAND = 0.03
#: Two components whose centroid distances to the centre (as shares of the diagonal) differ
#: by less than this, and whose areas are within AREA_RATIO, are equally likely the product.
CENTRAL_MARGIN = 0.1
AREA_RATIO = 0.5
#: Where saliency is below this, the watershed's background marker.
SURE_BACKGROUND = 0.1
#: The front part of a split is an object when it holds at least this share of the blob
#: (and at most FRONT_MAX of it: else nothing stood behind).
FRONT_MIN, FRONT_MAX = 0.03, 0.9
#: The front lies over what is behind: at most this share of the ring around it is background.
#: Measured (real ISNet): a cup and a bottle held before the astronaut 0.007 and 0.014; the
#: astronaut's own collar, split off by its edges, 0.30.
FRONT_OPEN_MAX = 0.15
#: The seam between front and behind is an edge when its median colour gradient (Sobel of
#: CIELAB) is at least EDGE_RATIO times the blob's median (and than EDGE_FLOOR).
EDGE_RATIO, EDGE_FLOOR = 3.0, 1.0
#: The front's seed: a disc of this share of the blob's depth at the point nearest the centre.
SEED_DEPTH = 0.5
#: The gradient is taken on the photo smoothed by a Gaussian of this sigma (px).
SMOOTH = 1.0


@dataclass(frozen=True)
class Separation:
    mask: np.ndarray  # bool H×W: the kept object (saliency >= 0.5 where nothing was dropped)
    objects: int  # how many salient objects were told apart (1: only the product)
    ambiguous: bool  # the photo holds several objects and none is clearly the product
    split: bool  # the kept object was split off a blob that held something behind it

    @property
    def needs_look(self) -> bool:
        """No clear product, or one split off by colour edges alone (a product the colour of
        what stands behind it may lose a part there): the card must be looked at."""
        return self.ambiguous or self.split


def separate(saliency: np.ndarray, rgb: np.ndarray | None = None) -> Separation:
    """The product's mask of ``saliency`` (float H×W, 0..1); ``rgb`` (uint8 H×W×3, same grid)
    lets a frame-touching blob be split into front and behind (without it: kept whole)."""
    core = M.remove_specks(saliency >= M.THRESHOLD, OBJECT_SHARE)
    labels, areas = M.components(core)
    if areas.size == 0:
        return Separation(core, 0, False, False)
    height, width = core.shape
    distances = _centre_distances(labels, areas.size, height, width)
    order = sorted(range(areas.size), key=lambda i: (round(distances[i], 2), -areas[i]))
    best = order[0]
    ambiguous = False
    if len(order) > 1:
        second = order[1]
        ambiguous = (
            distances[second] - distances[best] < CENTRAL_MARGIN
            and areas[second] >= AREA_RATIO * areas[best]
            and areas[best] >= AREA_RATIO * areas[second]
        )
    objects = int(areas.size)
    if ambiguous:  # the bot cannot tell: nothing is dropped, the card needs a look
        return Separation(core, objects, True, False)
    chosen = labels == best + 1
    if rgb is None or not _touches_frame(chosen):
        return Separation(chosen, objects, False, False)
    front = _front(chosen, saliency, rgb)
    if front is None:  # one blob, cut by the frame, that no edge splits: kept whole
        return Separation(chosen, objects, False, False)
    return Separation(front, objects + 1, False, True)


def focus(saliency: np.ndarray, separation: Separation, fringe: int = 3) -> np.ndarray:
    """``saliency`` with everything but the kept object zeroed: its soft fringe (``fringe``
    px into what is not salient) stays, the salient pixels of what was dropped go."""
    core = saliency >= M.THRESHOLD
    zone = ndimage.binary_dilation(separation.mask, iterations=fringe) & ~core
    return np.where(zone | separation.mask, saliency, 0.0).astype(np.float32)


def _centre_distances(labels: np.ndarray, count: int, height: int, width: int) -> list[float]:
    """Each component's centroid distance to the centre, as a share of the diagonal."""
    centres = ndimage.center_of_mass(np.ones_like(labels), labels, range(1, count + 1))
    diagonal = float(np.hypot(height, width))
    return [
        float(np.hypot(y - (height - 1) / 2, x - (width - 1) / 2)) / diagonal for y, x in centres
    ]


def _frame(shape: tuple[int, int]) -> np.ndarray:
    band = max(2, round(FRAME_BAND * max(shape)))
    frame = np.zeros(shape, bool)
    frame[:band] = frame[-band:] = True
    frame[:, :band] = frame[:, -band:] = True
    return frame


def _touches_frame(mask: np.ndarray) -> bool:
    return bool((mask & _frame(mask.shape)).any())


def _front(blob: np.ndarray, saliency: np.ndarray, rgb: np.ndarray) -> np.ndarray | None:
    """The part of ``blob`` in front (grown from its point nearest the centre), or None."""
    height, width = blob.shape
    yy, xx = np.mgrid[0:height, 0:width]
    distance = np.hypot(yy - (height - 1) / 2, xx - (width - 1) / 2)
    seed = np.unravel_index(int(np.argmin(np.where(blob, distance, np.inf))), blob.shape)
    depth = ndimage.distance_transform_edt(blob)
    radius = max(3.0, SEED_DEPTH * float(depth[seed]))
    frame = _frame(blob.shape)
    markers = np.zeros(blob.shape, np.int32)
    markers[saliency < SURE_BACKGROUND] = 1
    markers[blob & frame] = 2
    near = np.hypot(yy - seed[0], xx - seed[1]) <= radius
    if (near & frame).any():  # the seed is at the frame: no object in front of the blob
        return None
    markers[near & blob] = 3
    lab = color.rgb2lab(rgb[..., :3])
    gradient = sum(filters.sobel(gaussian(lab[..., i], SMOOTH)) for i in range(3))
    grown = segmentation.watershed(gradient, markers)
    front = ndimage.binary_fill_holes((grown == 3) & blob)
    front = M.remove_specks(front, OBJECT_SHARE)
    share = front.sum() / max(int(blob.sum()), 1)
    if share < FRONT_MIN or share > FRONT_MAX or (front & frame).any():
        return None
    # in front means an occluding edge: where the front meets what is behind, the colour
    # changes sharply (a flat product split by the flood alone is one object)
    # in front means lying over what is behind: the front is (almost) surrounded by it, not by
    # the background (a person's collar split off by its edges meets the background too)
    ring = ndimage.binary_dilation(front, iterations=3) & ~front
    if (ring & ~blob).sum() > FRONT_OPEN_MAX * max(int(ring.sum()), 1):
        return None
    seam = ndimage.binary_dilation(front, iterations=2) & blob & ~front
    inside = float(np.median(gradient[blob]))
    if not seam.any() or float(np.median(gradient[seam])) < EDGE_RATIO * max(inside, EDGE_FLOOR):
        return None
    return front
