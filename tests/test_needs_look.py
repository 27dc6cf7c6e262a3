"""A card whose photo held several objects (services/imaging/separate.py: none clearly the
product, or the product split from what stood behind it) is named, not passed silently: the
Fix caption says to check it, the set's summary names it and its results.csv row notes it."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image

from bot.check_rendering import fix_caption
from bot.sets.delivery import Outcome, SetDelivery
from bot.storage import JobStatus, Result, Storage
from bot.storage.set_rows import RunStatus, SetItem, SetRun
from services.results.kinds import NEEDS_LOOK_NOTE


class RecordingBot:
    """What the delivery sent (the Bot API's side, not ours): texts, and each document's bytes."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.documents: dict[str, bytes] = {}

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        self.texts.append(text)

    async def send_document(self, chat_id: int, document: Any, **_: Any) -> None:
        self.documents[document.filename] = Path(document.path).read_bytes()


FACTS = {"profile": "wb", "marketplace": "Wildberries", "width": 1200, "height": 1600}
FACTS.update(format="JPEG", fill=0.8)


def test_the_fix_caption_asks_for_a_look() -> None:
    assert "several objects" in fix_caption({**FACTS, "objects": 2, "needs_look": True}, "en")
    assert "несколько объектов" in fix_caption({**FACTS, "needs_look": True}, "ru")
    assert "несколько объектов" not in fix_caption({**FACTS, "objects": 1}, "ru")


async def test_the_sets_summary_and_results_csv_name_the_card(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as storage:
        storage.results_dir.mkdir(parents=True, exist_ok=True)
        outcomes = []
        for position, look in ((1, False), (2, True)):
            Image.new("RGB", (12, 16), "white").save(storage.results_dir / f"{position}.jpg")
            payload = {**FACTS, "objects": 2 if look else 1, "needs_look": look}
            payload.update(file=f"{position}.jpg", document=True)
            item = SetItem(
                run_id=1,
                position=position,
                photo_id=position,
                name=f"cup-{position}.jpg",
                measure_job_id=None,
                job_id=position,
                sent=True,
                measure_status=None,
                measure_error=None,
                status=JobStatus.DONE,
                error=None,
            )
            outcomes.append(Outcome(item, Result(position, "image", payload)))
        params = {"profile": "wb"}
        run = SetRun(1, 1, 7, 7, "fix", params, None, RunStatus.DONE, None, False, False)
        bot = RecordingBot()
        delivery = SetDelivery(bot, storage)  # type: ignore[arg-type]

        await delivery.send_summary(run, outcomes, "ru", None)
        await delivery.send_zip(run, outcomes, "ru", None)

    (summary,) = bot.texts
    named = [line for line in summary.splitlines() if "несколько объектов" in line]
    assert len(named) == 1 and "cup-2.jpg" in named[0], summary
    assert "cup-1.jpg" not in summary
    (data,) = bot.documents.values()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
    notes = {row["file"]: row["note"] for row in rows}
    assert notes == {"cup-1.jpg": "", "cup-2.jpg": NEEDS_LOOK_NOTE}
    assert "проверьте карточку: на фото несколько объектов" in NEEDS_LOOK_NOTE
