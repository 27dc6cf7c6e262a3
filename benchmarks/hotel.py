"""The hotelier's pack on the CPU: seconds per photo of /check for Booking (text detector,
Tesseract, the room measures), /straighten, /enhance and "Fix for Booking" at 1 MP and
12 MP. One of `make bench`'s parts (the rows "HOT").

    PYTHONPATH=$PWD python benchmarks/hotel.py [--check-weights DIR] [--check-repeat 3]

The photo is scikit-image's garage (motorcycle_left, shelves and a door: straight lines)
tilted by a known keystone, darkened, with a phone number drawn on it, scaled to 1224×816
and 4240×2832. The text detector is the real PP-OCRv4 where the weights folder (`make
quality`'s cache) holds it, else a tiny random model (the row says so). Each figure is the
median of --check-repeat runs after one warm-up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.check import REAL, SIZES, _median, _weights  # noqa: E402
from benchmarks.table import Row  # noqa: E402


def add_arguments(parser: argparse.ArgumentParser) -> None:
    if not any(action.dest == "check_weights" for action in parser._actions):
        parser.add_argument("--check-weights", type=Path, default=REAL)
        parser.add_argument("--check-repeat", type=int, default=3)


def room_photo():  # type: ignore[no-untyped-def]
    """The garage tilted up by 4° of keystone, at 60 % of its light, with a phone number."""
    import cv2
    import numpy as np
    from PIL import Image, ImageDraw
    from skimage import data
    from skimage.io import imread

    from tests.marketplace_photos import font

    rgb = imread(Path(data.__file__).parent / "motorcycle_left.png")[..., :3]
    h, w = rgb.shape[:2]
    shift = w * np.tan(np.radians(4.0)) / 2
    quad = np.float32([[shift, 0], [w - shift, 0], [w, h], [0, h]])
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    tilted = cv2.warpPerspective(rgb, cv2.getPerspectiveTransform(corners, quad), (w, h))
    image = Image.fromarray((tilted * 0.6).astype(np.uint8))
    ImageDraw.Draw(image).text((40, 40), "+7 (862) 555-12-34", font=font(36), fill="white")
    return image


def measure(args: argparse.Namespace) -> list[Row]:
    import numpy as np
    from PIL import Image

    from services.config import ServiceConfig
    from services.imaging.enhance import enhance
    from services.imaging.straighten import straighten
    from services.marketplace.facts import read_facts
    from services.models.residency import ModelResidency
    from services.operations import RunContext
    from services.operations.cutout import ObjectCutter
    from services.wiring import marketplace_operations

    context = RunContext(report=lambda fraction, step, total: None, is_cancelled=lambda: False)
    repeat = getattr(args, "check_repeat", 3)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        weights, tiny = _weights(Path(getattr(args, "check_weights", REAL)), Path(scratch))
        ops = marketplace_operations(
            ServiceConfig(weights_dir=weights), ModelResidency(), ObjectCutter(weights)
        )
        check, fix = ops["check"], ops["fix"]
        booking = check.profile({"profile": "booking"})
        how = "CPU, " + ("tiny text detector" if "ocr" in tiny else "real PP-OCRv4")
        how += ", Telea fill" if not fix.cleaner.filler.diffusion() else ", SD fill"
        photo = room_photo()
        for label, size in SIZES.items():
            image = photo.resize(size, Image.Resampling.BICUBIC)
            rgb = np.asarray(image)
            path = Path(scratch) / f"room-{size[0]}.jpg"
            image.save(path, quality=92)

            def one_check(path: Path = path, image: Image.Image = image) -> dict[str, float]:
                started = time.perf_counter()
                summary = check.inspect_room(
                    read_facts(path.read_bytes()), image, booking, context
                )
                return {**summary.seconds, "total": time.perf_counter() - started}

            def timed(fn, *fn_args) -> dict[str, float]:  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                fn(*fn_args)
                return {"total": time.perf_counter() - started}

            def one_fix(path: Path = path) -> dict[str, float]:
                return timed(fix.fix_file, path, {"profile": "booking"}, context)

            parts = (
                ("/check booking", one_check, ("detect", "read", "measure", "total")),
                ("/straighten", lambda r=rgb: timed(straighten, r), ("total",)),
                ("/enhance", lambda r=rgb: timed(enhance, r, "normal"), ("total",)),
                ("Fix for Booking", one_fix, ("total",)),
            )
            for name, fn, stages in parts:
                found = _median(fn, repeat)
                for stage in stages:
                    measure_name = f"{name} {label} ({size[0]}×{size[1]})"
                    if stage != "total":
                        measure_name += f": {stage}"
                    rows.append(Row("HOT", measure_name, f"{found[stage]:.2f} s", note=how))
    return rows


def main() -> None:
    from benchmarks.table import markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))  # noqa: T201


if __name__ == "__main__":
    main()
