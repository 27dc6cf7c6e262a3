"""E1, erasing from the search index (issue 32): after rows leave `search_texts`, FTS5 keeps
their terms in its segments (a delete is a tombstone) until the segments are merged. Two
ways to merge them away, timed on a synthetic library of 50 000 photos (each with a
caption, words and a number as sellers write them, and a tag result: 100 000 index rows,
indexed 100 photos per transaction as a bot would), after erasing one photo (/delete) and
one user's 200 photos (/forget_me):

- ``optimize``: ``INSERT INTO search_index(search_index) VALUES('optimize')``, all
  segments merged into one, tombstones dropped;
- ``rebuild``: ``INSERT INTO search_index(search_index) VALUES('rebuild')``, the index
  dropped and made again from `search_texts` (every row read and split again);

each followed by ``PRAGMA wal_checkpoint(TRUNCATE)`` (timed apart). Both run with
``PRAGMA secure_delete = ON`` as the bot does. The last column says whether the erased
caption's digits are still in the database file afterwards (``none``: the control, no
merge), which is the point of the exercise.

    PYTHONPATH=$PWD python benchmarks/erase_fts.py [--photos 50000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.find import COLOURS, RU  # noqa: E402
from benchmarks.table import Row, markdown  # noqa: E402

USER, ERASED_USER = 1, 2
ERASED_USER_PHOTOS = 200
#: the caption of USER's photo 1 (erased alone) and of ERASED_USER's first photo
SECRETS = {"one photo": "секретная подпись 7311", "user": "личная заметка 8422"}
MARKS = {"one photo": b"7311", "user": b"8422"}
STAMP = "2026-01-01T00:00:00.000+00:00"


def _price(rng: random.Random) -> str:
    """A number as sellers write in captions (a price, an article): many distinct terms."""
    while True:
        price = str(rng.randint(100, 999_999))
        if not any(mark.decode() in price for mark in MARKS.values()):
            return price


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA secure_delete=ON")
    return db


def build(path: Path, photos: int) -> None:
    """The schema of bot/storage/schema.py and `photos` indexed photos: USER's, and
    ERASED_USER's last ERASED_USER_PHOTOS (SECRETS: the only digits of any caption)."""
    from bot.storage.schema import MIGRATIONS
    from services.search import text as search_text

    rng = random.Random(photos)
    db = _connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER)")
    for migration in MIGRATIONS:
        db.executescript("BEGIN;\n" + migration + "\nCOMMIT;")
    db.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS),))
    for user in (USER, ERASED_USER):
        db.execute(
            "INSERT INTO users (id, created_at, updated_at) VALUES (?, ?, ?)", (user, STAMP, STAMP)
        )
    first_erased = photos - ERASED_USER_PHOTOS + 1
    for start in range(1, photos + 1, 100):
        db.execute("BEGIN")
        for photo in range(start, min(start + 100, photos + 1)):
            user = ERASED_USER if photo >= first_erased else USER
            caption = f"{rng.choice(COLOURS)} {' '.join(rng.sample(RU, 2))} {_price(rng)}"
            if photo == 1:
                caption = SECRETS["one photo"]
            elif photo == first_erased:
                caption = SECRETS["user"]
            tags = rng.sample(RU, 3)
            db.execute(
                "INSERT INTO photos (id, user_id, chat_id, message_id, file_id, file_unique_id, "
                "sha256, size, width, height, path, caption, created_at) "
                "VALUES (?, ?, ?, ?, 'f', 'u', 's', 1, 64, 64, 'p', ?, ?)",
                (photo, user, user, photo, caption, STAMP),
            )
            db.execute(
                "INSERT INTO jobs (id, user_id, chat_id, photo_id, op, status, created_at) "
                "VALUES (?, ?, ?, ?, 'tag', 'done', ?)",
                (photo, user, user, photo, STAMP),
            )
            owner = search_text.owner_token(user)
            for job, source, texts in ((None, "caption", [caption]), (photo, "tags", tags)):
                db.execute(
                    "INSERT INTO search_texts (user_id, photo_id, job_id, source, raw, owner, "
                    "stems) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (user, photo, job, source, " · ".join(texts), owner,
                     search_text.index_text(texts)),
                )  # fmt: skip
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _erase(db: sqlite3.Connection, where: str, args: tuple[int, ...]) -> float:
    started = time.perf_counter()
    db.execute("BEGIN")
    photos = f"(SELECT id FROM photos WHERE {where})"
    db.execute(f"DELETE FROM search_texts WHERE photo_id IN {photos}", args)
    db.execute(f"DELETE FROM jobs WHERE photo_id IN {photos}", args)
    db.execute(f"DELETE FROM photos WHERE {where}", args)
    db.execute("COMMIT")
    return time.perf_counter() - started


def _merge(db: sqlite3.Connection, command: str | None) -> float:
    started = time.perf_counter()
    if command is not None:
        db.execute("BEGIN")
        db.execute("INSERT INTO search_index(search_index) VALUES (?)", (command,))
        db.execute("COMMIT")
    return time.perf_counter() - started


def _checkpoint(db: sqlite3.Connection) -> float:
    started = time.perf_counter()
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise RuntimeError("checkpoint blocked")
    return time.perf_counter() - started


def _left(path: Path, mark: bytes) -> bool:
    """Whether the erased caption's digits are in the database file or its WAL."""
    files = [path, path.with_name(path.name + "-wal")]
    return any(mark in f.read_bytes() for f in files if f.exists())


def trial(base: Path, folder: Path, erase: str, command: str | None) -> dict[str, float]:
    path = folder / "trial.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(base, path)
    db = _connect(path)
    db.execute("SELECT COUNT(*) FROM search_index WHERE search_index MATCH 'x*'").fetchone()
    if erase == "one photo":
        erased, mark = _erase(db, "id = ?", (1,)), MARKS["one photo"]
    else:
        erased, mark = _erase(db, "user_id = ?", (ERASED_USER,)), MARKS["user"]
    merged = _merge(db, command)
    checkpointed = _checkpoint(db)
    db.close()
    return {
        "erase": erased,
        "merge": merged,
        "checkpoint": checkpointed,
        "left": float(_left(path, mark)),
        "size": float(path.stat().st_size),
    }


def measure(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="vitrina-erase-") as tmp:
        folder = Path(tmp)
        base = folder / "base.sqlite3"
        started = time.perf_counter()
        build(base, args.photos)
        built = time.perf_counter() - started
        size = f"{args.photos:,}".replace(",", " ")
        what = {"one photo": "one photo", "user": f"one user's {ERASED_USER_PHOTOS} photos"}
        note = f"{base.stat().st_size / 2**20:.0f} MiB file, built in {built:.0f} s"
        for erase in ("one photo", "user"):
            for command in ("optimize", "rebuild", None):
                runs = [trial(base, folder, erase, command) for _ in range(args.repeats)]
                merge = statistics.median(r["merge"] for r in runs) * 1000
                checkpoint = statistics.median(r["checkpoint"] for r in runs) * 1000
                left = any(r["left"] for r in runs)
                rows.append(
                    Row(
                        "E1",
                        f"{size} photos, erase {what[erase]}, then {command or 'no merge'}",
                        f"{merge:.0f} ms" if command else "-",
                        note=(
                            f"checkpoint(TRUNCATE) {checkpoint:.0f} ms; erased digits in the "
                            f"file: {'FOUND' if left else 'none'}; {note}"
                        ),
                    )
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    print(markdown(measure(parser.parse_args())))  # noqa: T201


if __name__ == "__main__":
    main()
