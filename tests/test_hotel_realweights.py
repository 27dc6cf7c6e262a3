"""/check for Booking with the REAL text detector (PP-OCRv4) and Tesseract: a phone number
and a link drawn on a real photo are found, read and named by the contacts rule, and "Fix
for Booking" removes them (the re-check passes). Marked ``realweights``: `make quality`
fetches the weights into VITRINA_REAL_WEIGHTS_DIR; elsewhere these skip, saying why."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage import data

from bot.check_rendering import render_check
from services.config import ServiceConfig
from services.jobs import JobRequest
from services.marketplace.summary import CheckSummary
from services.models.residency import ModelResidency
from services.operations import Operation, RunContext
from services.operations.cutout import ObjectCutter
from services.wiring import marketplace_operations
from tests.marketplace_photos import font
from tests.test_check_realweights import WEIGHTS, _skip_reason

CONTEXT = RunContext(report=lambda fraction, step, total: None, is_cancelled=lambda: False)
PHONE, LINK = "+7 (862) 555-12-34", "www.sochi-hotel.ru"

pytestmark = [
    pytest.mark.realweights,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]


@pytest.fixture(scope="module")
def ops() -> dict[str, Operation]:
    config = ServiceConfig(weights_dir=WEIGHTS)
    return marketplace_operations(config, ModelResidency.from_gb(0, 0), ObjectCutter(WEIGHTS))


def run(op: Operation, path: Path, **params: object):
    outcome = op.run([JobRequest(op.name, 1, path, params)], CONTEXT)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def room_with_contacts(path: Path) -> Path:
    """A real photo (scikit-image's coffee, 1600×1067) with a phone number (top left) and
    a link (bottom right) in white, as a hotel puts its contacts on a photo."""
    image = Image.fromarray(data.coffee()).resize((1600, 1067), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    draw.text((60, 60), PHONE, font=font(48), fill="white")
    draw.text((900, 900), LINK, font=font(48), fill="white")
    image.save(path, quality=92)
    return path


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_the_phone_and_the_link_are_found_and_named(
    ops: dict[str, Operation], tmp_path: Path
) -> None:
    summary: CheckSummary = run(
        ops["check"], room_with_contacts(tmp_path / "room.jpg"), profile="booking"
    )
    assert summary.domain == "hotel" and summary.grade is None and not summary.ready
    contacts = next(r for r in summary.failures if r.rule == "contacts")
    assert contacts.level == "required"
    found = contacts.measured or ""
    assert LINK in found, found
    assert _digits(PHONE)[-7:] in _digits(found), found  # the number, however it is spaced
    reply = render_check(summary, "ru")
    assert "Нужно поправить для Booking.com" in reply and LINK in reply
    print("\nread:", [t.text for t in summary.texts], "\n", reply)  # noqa: T201


def test_fix_for_booking_removes_them(ops: dict[str, Operation], tmp_path: Path) -> None:
    result = run(ops["fix"], room_with_contacts(tmp_path / "room.jpg"), profile="booking")
    assert result.document and result.extension == "jpg"
    with Image.open(io.BytesIO(result.data)) as fixed:
        assert fixed.format == "JPEG" and fixed.width >= 840 and fixed.height >= 460
        pixels = np.asarray(fixed.convert("RGB"))
    assert result.facts["cleaned"]["regions"] >= 2
    recheck = CheckSummary.from_payload(result.facts["check"])
    assert recheck.ready, recheck.failures
    assert not any(r.rule == "contacts" for r in recheck.failures)
    assert pixels.shape[:2] == (result.image.height, result.image.width)
