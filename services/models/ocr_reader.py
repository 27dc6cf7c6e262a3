"""Reading the detected text lines with Tesseract 5 (``eng`` + ``rus``, Debian packages).

Tesseract loads its language models at every start (0.1-0.3 s), so one run per line would
cost seconds per photo: the lines go onto one page (services/models/ocr_page.py) that one
run per language reads as a block (``--psm 6``), the runs side by side. Why one run per
language rather than one ``-l rus+eng`` run: Tesseract tries the language of the previous
word first and keeps an answer it is fairly sure of, so after a Russian line it reads a
bold Latin "NEW" as Cyrillic "МЕМ/" (92 %); the separate runs give "МЕМ/" 92 % and
"NEW" 96 %, and the more confident reading of each spot is kept. At most ``max_regions``
lines (the biggest) are read.

Holds no memory between calls, so it is not a ResidentModel; it has their lazy, log-once
availability: a missing Tesseract makes only recognition unavailable.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from services.errors import ModelUnavailable, ServiceError
from services.models.ocr_boxes import TextRegion
from services.models.ocr_page import build_page, merge_readings, parse_tsv, to_photo

log = logging.getLogger("vitrina.ocr")
PACKAGES = ("tesseract-ocr", "tesseract-ocr-rus", "tesseract-ocr-eng")
LANGUAGES = ("eng", "rus")
TESSDATA = Path("/usr/share/tesseract-ocr")
MAX_REGIONS = 40
TIMEOUT_S = 60.0
#: a block of lines; no inverted second try (the page is dark on light already); TSV out
RUN_ARGS = ("--psm", "6", "-c", "tessedit_do_invert=0", "tsv")
_logged: set[str] = set()
_log_lock = threading.Lock()


class TesseractUnavailable(ModelUnavailable):
    """Tesseract or its rus/eng traineddata is missing: recognition only is unavailable."""

    def __init__(self, model: str, folder: Path, reason: str = "missing") -> None:
        self.model, self.folder, self.reason = model, folder, reason
        ServiceError.__init__(
            self,
            f"text recognition is unavailable ({reason}); install the Debian packages "
            f"{' '.join(PACKAGES)} ('make run' does)",
        )


class TesseractFailed(ServiceError):
    """A tesseract run failed or timed out (the message says how)."""


@dataclass(frozen=True)
class RecognisedText:
    text: str  # one word
    confidence: float  # Tesseract's word confidence, 0..1
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in the photo's pixels
    region: int  # index of its line in the regions passed to ``read``


class TextReader:
    """Tesseract through its command line; availability checked once, lazily."""

    name = "tesseract"

    def __init__(
        self,
        command: str = "tesseract",
        languages: Sequence[str] = LANGUAGES,
        *,
        max_regions: int = MAX_REGIONS,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.command = command
        self.languages = tuple(languages)
        self.max_regions = max_regions
        self.timeout = timeout
        self.version = ""  # "tesseract 5.3.0" once checked
        self._lock = threading.Lock()
        self._checked = False
        self._reason: str | None = None
        self._binary = command

    @property
    def available(self) -> bool:
        return self.unavailable_reason() is None

    def unavailable_reason(self) -> str | None:
        """None when Tesseract and every language is installed; checked once, logged once."""
        with self._lock:
            if not self._checked:
                self._reason = self._check()
                self._checked = True
                if self._reason is not None:
                    _log_once(f"text recognition unavailable: {self._reason}")
            return self._reason

    def _check(self) -> str | None:
        binary = shutil.which(self.command)
        if binary is None:
            return f"no '{self.command}' program (Debian: {' '.join(PACKAGES)})"
        try:
            version = _run([binary, "--version"], b"", 10.0).decode(errors="replace")
            listed = _run([binary, "--list-langs"], b"", 10.0).decode(errors="replace")
        except TesseractFailed as exc:
            return str(exc)
        self.version = version.split("\n", 1)[0].strip()
        installed = {line.strip() for line in listed.splitlines()[1:]}
        missing = [lang for lang in self.languages if lang not in installed]
        if missing:
            packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
            return f"Tesseract has no {'+'.join(missing)} traineddata (Debian: {packages})"
        self._binary = binary
        return None

    def read(
        self, image: Image.Image, regions: Sequence[TextRegion], *, min_confidence: float = 0.0
    ) -> list[RecognisedText]:
        """The words in ``regions`` of ``image`` (at most ``max_regions``, the biggest), in
        the regions' order. TesseractUnavailable when Tesseract is not installed."""
        reason = self.unavailable_reason()
        if reason is not None:
            raise TesseractUnavailable(self.name, TESSDATA, reason)
        if not regions:
            return []
        chosen = sorted(range(len(regions)), key=lambda i: -regions[i].area)[: self.max_regions]
        rgb = np.asarray(image.convert("RGB"))
        page, lines = build_page(rgb, [(i, regions[i]) for i in sorted(chosen)])
        ok, png = cv2.imencode(".png", page)
        if not ok:
            raise TesseractFailed("could not encode the page for tesseract")
        commands = [
            [self._binary, "stdin", "stdout", "-l", lang, *RUN_ARGS] for lang in self.languages
        ]
        outputs = _run_all(commands, png.tobytes(), self.timeout)
        words = merge_readings(
            [
                w
                for i, out in enumerate(outputs)
                for w in parse_tsv(out.decode(errors="replace"), lines, i)
            ]
        )
        size = (rgb.shape[1], rgb.shape[0])
        found = [
            RecognisedText(
                w.text, w.confidence, to_photo(w.box, lines[w.line], size), lines[w.line].region
            )
            for w in sorted(words, key=lambda w: (w.line, w.box[0]))
        ]
        return [w for w in found if w.confidence >= min_confidence]


def _run_all(commands: list[list[str]], stdin: bytes, timeout: float) -> list[bytes]:
    """Run the commands side by side, each fed ``stdin``; their outputs, in order."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(lambda command: _run(command, stdin, timeout), commands))


def _run(command: list[str], stdin: bytes, timeout: float) -> bytes:
    # one OpenMP thread: more only slow Tesseract down on pages this small
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, timeout=timeout, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TesseractFailed(f"tesseract failed: {type(exc).__name__}: {exc}") from exc
    if done.returncode != 0:
        tail = " ".join(done.stderr.decode(errors="replace").split())[-300:]
        raise TesseractFailed(f"tesseract exited with {done.returncode}: {tail}")
    return done.stdout


def _log_once(message: str) -> None:
    with _log_lock:
        if message in _logged:
            return
        _logged.add(message)
    log.warning(message)
