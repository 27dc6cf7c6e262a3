"""Vitrina's cut side by side with rembg on the SAME ISNet file (issue 31, goal 5): seconds
per photo and the IoU on scikit-image's motorcycle. One of `make bench`'s parts (rows "REM").

    PYTHONPATH=$PWD python benchmarks/rembg_side.py [--rembg-weights DIR] [--rembg-repeat 3]

- Speed: 16 photos of 1200×1600 (JPEG, crops of scikit-image's photos) through two whole
  commands, each a fresh process that loads the model, decodes, cuts and writes RGBA PNGs:
  `vitrina process IN --background transparent -o OUT` (a weights folder holding only the
  real ISNet: no SAM) and `rembg p -m dis_custom -x '{"model_path": <the same model.onnx>}'
  IN OUT` (U2NET_HOME set to the model's folder: rembg refuses a model_path outside its
  home), at the CPU priority of Vitrina's model worker (nice 10: Vitrina's cut runs in a
  worker process niced below the bot; on a shared machine equal priority keeps the race
  fair). Seconds per photo = the command's wall time / 16, median of --rembg-repeat runs,
  the two commands alternating. ISNet on ONNX Runtime's default threads (all cores) in both:
  OMP_NUM_THREADS is not passed on (Vitrina's ISNet session ignores it, rembg would not).
- Quality: both cuts of the motorcycle (500×741) against tests/motorcycle_truth.py (the
  stereo disparity that ships with the photo says which pixels of the wheels are floor seen
  between the spokes); outside the wheels only the pixels where the two cuts agree count
  (there is no independent truth there), so the whole-photo IoU is a fair comparison.

rembg lives in its own virtual environment, never in the project's dependencies:
benchmarks/.rembg-venv, created here on first use (`python -m venv` + pip install
"rembg[cpu,cli]"; rembg's plain [cli] extra has no onnxruntime). Where it cannot be installed
(offline) or the real ISNet is absent, the rows say why and the rest of the table still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.table import Row  # noqa: E402

REAL = Path.home() / ".cache" / "vitrina" / "weights"
VENV = ROOT / "benchmarks" / ".rembg-venv"
PACKAGE = "rembg[cpu,cli]"
PHOTOS = 16
SIZE = (1200, 1600)
SOURCES = ("coffee", "chelsea", "astronaut", "rocket")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rembg-weights", type=Path, default=REAL, help="real weights folder")
    parser.add_argument("--rembg-repeat", type=int, default=3, help="runs of each command")


def rembg_command() -> tuple[Path | None, str]:
    """The rembg executable of the benchmark's own venv (created on first use), or why not."""
    exe = VENV / "bin" / "rembg"
    if exe.is_file():
        return exe, ""
    try:
        if not (VENV / "bin" / "python").is_file():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", PACKAGE],
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or [str(exc)]
        return None, f"pip install {PACKAGE} into {VENV.name} failed: {tail[0][:160]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not create {VENV.name}: {exc}"
    return (exe, "") if exe.is_file() else (None, f"{PACKAGE} installed no rembg command")


def photos(folder: Path, count: int = PHOTOS) -> None:
    """``count`` JPEGs of SIZE: crops of scikit-image's photos (varied, reproducible)."""
    import numpy as np
    from PIL import Image
    from skimage import data as skdata

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    width, height = SIZE
    for index in range(count):
        image = Image.fromarray(getattr(skdata, SOURCES[index % len(SOURCES)])()).convert("RGB")
        crop_w = min(image.width, round(image.height * width / height))
        crop_h = round(crop_w * height / width)
        left = int(rng.integers(0, image.width - crop_w + 1))
        top = int(rng.integers(0, max(1, image.height - crop_h + 1)))
        crop = image.crop((left, top, left + crop_w, top + crop_h)).resize(SIZE, Image.BICUBIC)
        crop.save(folder / f"photo-{index:02d}.jpg", quality=92)


def _vitrina(src: Path, out: Path) -> list[str]:
    """`vitrina process` of this checkout (PYTHONPATH=ROOT), not an installed copy's."""
    command = [sys.executable, "-m", "bot.cli", "process", str(src)]
    return command + ["--background", "transparent", "-o", str(out)]


def _rembg(exe: Path, src: Path, out: Path, model: Path) -> list[str]:
    """rembg accepts a model_path only under its home: the env sets U2NET_HOME to its folder.
    It runs at the CPU priority of Vitrina's model worker (nice WORKER_NICENESS): on a shared
    machine a niced model against a full-priority one would measure the priority, not the
    cut."""
    from services.worker.process import WORKER_NICENESS

    extras = json.dumps({"model_path": str(model)})
    nice = ["nice", "-n", str(WORKER_NICENESS)]
    return nice + [str(exe), "p", "-m", "dis_custom", "-x", extras, str(src), str(out)]


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of ``command`` run in ``cwd`` (a fresh folder each run: no stored
    features of an earlier run are reused)."""
    cwd.mkdir(parents=True)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(f"{Path(command[0]).name} exited {done.returncode}: {tail[0][:200]}")
    return seconds


def measure(args: argparse.Namespace) -> list[Row]:
    import numpy as np
    from PIL import Image
    from skimage import data as skdata

    from services.weights import read_marker

    real = Path(getattr(args, "rembg_weights", REAL))
    repeat = max(1, int(getattr(args, "rembg_repeat", 3)))
    isnet = real / "isnet"
    model = isnet / "model.onnx"
    if not model.is_file() or (read_marker(isnet) or {}).get("tiny"):
        why = f"the real ISNet is absent in {isnet} (make quality fetches it)"
        return [Row("REM", "Vitrina vs rembg (same ISNet)", "not measured", note=why)]
    exe, why = rembg_command()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        weights = scratch / "weights"
        weights.mkdir()
        (weights / "isnet").symlink_to(isnet.resolve(), target_is_directory=True)
        env = {**os.environ, "WEIGHTS_DIR": str(weights), "DEVICE": "cpu", "PYTHONPATH": str(ROOT)}
        # ONNX Runtime's own default (all cores) for both: Vitrina's ISNet session ignores
        # OMP_NUM_THREADS, rembg would take it as its thread count (1 under `make bench`)
        threads = env.pop("OMP_NUM_THREADS", None)
        env["U2NET_HOME"] = str(isnet)  # rembg refuses a model_path outside its home
        photos(scratch / "photos")
        moto = scratch / "moto"
        moto.mkdir()
        left = skdata.stereo_motorcycle()[0]
        Image.fromarray(left).save(moto / "motorcycle.png")
        how = (
            f"CPU, ISNet on all {os.cpu_count()} cores in both (OMP_NUM_THREADS={threads} "
            f"not passed on), rembg at nice 10 like Vitrina's model worker; whole commands "
            f"(process start, model load, decode, cut, PNG write) / {PHOTOS}, median of {repeat}"
        )
        times: dict[str, list[float]] = {"vitrina": [], "rembg": []}
        for run in range(repeat):
            here = scratch / f"v{run}"
            seconds = timed(_vitrina(scratch / "photos", here / "out"), env, here)
            times["vitrina"].append(seconds / PHOTOS)
            if exe is not None:
                here = scratch / f"r{run}"
                seconds = timed(_rembg(exe, scratch / "photos", here / "out", model), env, here)
                times["rembg"].append(seconds / PHOTOS)
        ours = statistics.median(times["vitrina"])
        runs = ", ".join(f"{t:.2f}" for t in times["vitrina"])
        rows.append(
            Row(
                "REM",
                f"Vitrina: s per photo ({PHOTOS} × 1200×1600)",
                f"{ours:.2f} s",
                note=f"{how}; runs {runs}",
            )  # fmt: skip
        )
        # quality: the motorcycle through both commands
        timed(_vitrina(moto, scratch / "vm" / "out"), env, scratch / "vm")
        alphas = {"vitrina": _alpha(scratch / "vm" / "out", "motorcycle")}
        if exe is not None:
            theirs = statistics.median(times["rembg"])
            runs = ", ".join(f"{t:.2f}" for t in times["rembg"])
            rows.append(
                Row(
                    "REM",
                    f"rembg dis_custom: s per photo ({PHOTOS} × 1200×1600)",
                    f"{theirs:.2f} s",
                    note=f"{how}; runs {runs}",
                )  # fmt: skip
            )
            rows.append(
                Row(
                    "REM",
                    "Vitrina's lead (rembg's seconds / Vitrina's)",
                    f"{theirs / ours:.2f}×",
                    ">= 1×",
                    theirs >= ours,
                    "same runs",
                )  # fmt: skip
            )
            timed(_rembg(exe, moto, scratch / "rm" / "out", model), env, scratch / "rm")
            alphas["rembg"] = _alpha(scratch / "rm" / "out", "motorcycle")
        else:
            rows.append(Row("REM", "rembg dis_custom", "not measured", note=why))
        rows += _quality(alphas, real, np.asarray(left))
    return rows


def _alpha(folder: Path, stem: str):  # noqa: ANN202 - numpy
    import numpy as np
    from PIL import Image

    (found,) = [p for p in folder.rglob("*.png") if p.stem.startswith(stem)]
    with Image.open(found) as png:
        return np.asarray(png.convert("RGBA"))[..., 3].astype(np.float32) / 255.0


def _quality(alphas: dict, real: Path, left) -> list[Row]:  # noqa: ANN001
    """IoU of each cut on the motorcycle (wheels: the disparity's truth; elsewhere only
    where the cuts agree) and the wheels' background each keeps."""
    import numpy as np
    from PIL import Image

    from services.operations.cutout import ObjectCutter
    from tests.motorcycle_truth import wheel_truth

    saliency = ObjectCutter(real, "cpu").isnet.predict(Image.fromarray(left)).probability
    truth = wheel_truth(saliency)
    cuts = {name: alpha >= 0.5 for name, alpha in alphas.items()}
    agree = np.logical_and.reduce([c == cuts["vitrina"] for c in cuts.values()])
    counted = truth.known & (truth.inside | agree)
    reference = np.where(truth.inside, ~truth.background, cuts["vitrina"])
    rows = []
    for name, cut in cuts.items():
        union = ((cut | reference) & counted).sum()
        whole = (cut & reference & counted).sum() / union
        inside = counted & truth.inside
        wheels = (cut & reference & inside).sum() / ((cut | reference) & inside).sum()
        kept = int((cut & truth.background).sum())
        rows.append(
            Row(
                "REM",
                f"{name}: IoU on the motorcycle (wheels alone)",
                f"{whole:.3f} ({wheels:.3f})",
                ">= 0.95" if name == "vitrina" else "",
                bool(whole >= 0.95) if name == "vitrina" else None,
                f"truth: stereo disparity in the wheels; background px kept in the wheels "
                f"{kept} of {int(truth.background.sum())}",
            )  # fmt: skip
        )
    return rows


def main() -> None:
    from benchmarks.table import markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    print(markdown(measure(parser.parse_args())))  # noqa: T201


if __name__ == "__main__":
    main()
