"""/gallery's bot side without the engine: the command and caption parsing, where the text
comes from (the lines after the command, the caption, the /describe copy, a dialogue), the
stored kind and its view, the slide files (a cache hit's links, erasure), the ZIP layout and
the CLI's --texts."""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.cli.gallery_files import file_params, read_texts
from bot.command_parsing import split_command
from bot.gallery_rendering import refused_text, render_gallery
from bot.jobs.gallery_delivery import zip_gallery
from bot.jobs.preparing import prepared
from bot.ops import BY_OP, follow_up, parse_command
from bot.ops.gallery import parse_gallery, with_text
from bot.prompts import EditPrompt, dialogue
from bot.result_views import stored_message, summary_of
from bot.storage import Result, Storage
from services.errors import GalleryRefused
from services.operations import Op
from services.results import GALLERY
from services.results.gallery import StoredGallery, StoredSlide

COPY_PAYLOAD = {
    "domain": "product",
    "title": "Кружка керамическая",
    "benefits": ["Объём 350 мл", "Можно в посудомойку", "Не нагревается ручка"],
    "closing": "Закажите сегодня",
    "english": {"title": "Ceramic mug", "benefits": [], "closing": ""},
}


def gallery(job_id: int = 7, count: int = 5) -> StoredGallery:
    kinds = ("main", "hero", "benefits", "detail", "scene")[:count]
    slides = tuple(
        StoredSlide(
            kind, f"{job_id}-{n}.jpg", "good_infographic", n != 3, 0.97, ("ocr",) * (n == 3)
        )
        for n, kind in enumerate(kinds, start=1)
    )
    return StoredGallery("wb", 0, "Кружка", ("350 мл", "Керамика"), slides)


# ---- parsing


def test_a_caption_is_the_command_and_the_text_below_it() -> None:
    assert split_command("/gallery wb\nКружка\n350 мл") == ("gallery", "wb \nКружка\n350 мл")
    assert split_command("/gallery\nКружка") == ("gallery", "Кружка")
    parsed = parse_command(*split_command("/gallery wb\nКружка\n• 350 мл\n- керамика\n"))
    assert parsed is not None and parsed.problem is None
    assert parsed.params == {
        "profile": "wb",
        "title": "Кружка",
        "benefits": ["350 мл", "керамика"],
    }
    assert parse_gallery(Op.GALLERY, "Кружка\n350 мл").params == {
        "title": "Кружка",
        "benefits": ["350 мл"],
    }
    assert parse_gallery(Op.GALLERY, "ozon").params == {"profile": "ozon"}
    assert parse_gallery(Op.GALLERY, "").params == {}
    too_many = parse_gallery(Op.GALLERY, "\n".join(f"line {n}" for n in range(8)))
    assert too_many.problem == "gallery.too_many"


def test_the_spec_buttons_and_follow_ups() -> None:
    spec = BY_OP[Op.GALLERY]
    assert spec.commands == ("gallery",) and spec.takes_profile and spec.photo_button
    assert spec.text_buttons == ("text", "style", "zip")
    assert [a.key for a in spec.set_actions] == ["gallery"]
    style = follow_up(Op.GALLERY, "style")
    assert style is not None
    params = {"profile": "wb", "title": "T", "benefits": ["a", "b"]}
    assert style(Op.GALLERY, params, {"style": 2}) == (Op.GALLERY, {**params, "style": 3})
    edit = follow_up(Op.GALLERY, "text")
    assert edit is not None
    assert edit(Op.GALLERY, params | {"style": 1}, {}) == (
        Op.GALLERY,
        {"profile": "wb", "title": None, "style": 1},
    )


# ---- where the text comes from


async def _photo(db: Storage, caption: str | None = None, message_id: int = 1) -> Any:
    await db.upsert_user(1, "ru", None)
    return await db.add_photo(
        user_id=1,
        chat_id=1,
        message_id=message_id,
        file_id="f",
        file_unique_id=f"u{message_id}",
        data=b"photo bytes",
        width=64,
        height=64,
        caption=caption,
    )


async def test_text_from_the_caption_then_the_description_then_nothing(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        captioned = await _photo(db, "Кружка\n350 мл\nКерамика")
        assert await with_text(db, captioned, {"profile": "wb"}) == {
            "profile": "wb",
            "title": "Кружка",
            "benefits": ["350 мл", "Керамика"],
        }
        named = {"title": "Своё", "benefits": []}
        assert await with_text(db, captioned, named) == named  # the request's own text wins
        bare = await _photo(db, None, message_id=2)  # the same bytes, no caption
        assert await with_text(db, bare, {}) == {}
        command = await _photo(db, "/gallery wb", message_id=3)  # the command is no title
        assert await with_text(db, command, {}) == {}
        job = await db.create_job(
            user_id=1, chat_id=1, photo_id=bare.id, op="describe", params={}, cache_key=None
        )
        await db.save_result(job.id, "description", COPY_PAYLOAD)
        assert await with_text(db, bare, {}) == {
            "title": "Кружка керамическая",
            "benefits": COPY_PAYLOAD["benefits"],
        }
        assert await with_text(db, bare, {"title": None}) == {"title": None}  # Edit text


class FakeBot:
    id = 42

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> None:
        self.sent.append((chat_id, text))


async def test_no_text_anywhere_starts_the_dialogue_and_makes_no_job(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        photo = await _photo(db)
        bot = FakeBot()
        asked = await prepared(bot, db, photo, 1, "en", Op.GALLERY, {"profile": "wb", "style": 1})
        assert asked is None
        assert bot.sent and "title and 2–5 features" in bot.sent[0][1]
        state = dialogue(bot, db, photo.chat_id, 1)  # type: ignore[arg-type]
        assert await state.get_state() == EditPrompt.instruction.state
        data = await state.get_data()
        assert data["op"] == Op.GALLERY and data["photo_id"] == photo.id
        assert data["params"] == {"profile": "wb", "style": 1}
        # the answer, parsed by the op that asked, with what was asked before
        answer = parse_gallery(Op.GALLERY, "Кружка\n350 мл\nКерамика")
        assert {**data["params"], **answer.params} == {
            "profile": "wb",
            "style": 1,
            "title": "Кружка",
            "benefits": ["350 мл", "Керамика"],
        }
        # an op without a prepare hook goes as it is
        assert await prepared(bot, db, photo, 1, "en", Op.TAG, {"x": 1}) == {"x": 1}


# ---- the stored kind, its view, its files


def test_the_gallery_kind_round_trips_and_renders() -> None:
    value = gallery()
    payload = GALLERY.to_payload(value)
    assert GALLERY.from_payload(payload) == value
    assert GALLERY.texts_of(payload) == ["Кружка", "350 мл", "Керамика"]
    assert GALLERY.cells_of(payload)["grade"].startswith("main: good_infographic")
    assert GALLERY.files(value) == [f"7-{n}.jpg" for n in range(1, 6)]
    assert GALLERY.files(GALLERY.renamed(value, 9)) == [f"9-{n}.jpg" for n in range(1, 6)]
    text = stored_message(GALLERY.name, payload, "ru")
    assert text is not None and "Хорошая инфографика" in text and "правила пройдены" in text
    assert "Wildberries" in text and "OCR 97%" in text
    assert "Кружка" in (summary_of(GALLERY.name, payload, "en") or "")
    reasons = ("grade:bad_infographic", "rule:text", "unread_line:350 мл", "odd")
    flawed = StoredGallery(
        "wb", 0, "T", (), (StoredSlide("hero", "1-1.jpg", "x", False, None, reasons),)
    )
    line = render_gallery(flawed, "en").splitlines()[-1]
    assert "«Bad infographic»" in line and "rule text" in line and "«350 мл»" in line
    assert line.endswith("odd")
    only_title = StoredGallery("wb", 0, "Кружка", (), gallery(count=2).slides, ("title_only",))
    assert "Only a title" in render_gallery(only_title, "en")


def test_refusals_name_the_word_and_the_line() -> None:
    banned = refused_text(GalleryRefused("banned", words=("лучший",)), "ru")
    assert "«лучший»" in banned and "другим словом" in banned
    long = refused_text(GalleryRefused("too_long", line="Очень длинная строка", limit=12), "en")
    assert "«Очень длинная строка»" in long and "at most 12" in long
    assert "no product" in refused_text(GalleryRefused("no_product"), "en")


async def test_slide_files_are_linked_on_a_cache_hit_and_erased_with_the_photo(
    tmp_path: Path,
) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        photo = await _photo(db)

        async def job(key: str) -> Any:
            return await db.create_job(
                user_id=1, chat_id=1, photo_id=photo.id, op="gallery", params={}, cache_key=key
            )

        first = await job("k")
        paths = await db.write_result_files(first.id, [b"one", b"two", b"three"])
        assert [p.name for p in paths] == [f"{first.id}-{n}.jpg" for n in (1, 2, 3)]
        value = gallery(first.id, 3)
        await db.save_result(first.id, GALLERY.name, GALLERY.to_payload(value))
        cached = await db.find_cached("k")
        assert cached is not None and db.has_files(cached)
        hit = await db.create_cached_job(
            user_id=1,
            chat_id=1,
            photo_id=photo.id,
            op="gallery",
            params={},
            cache_key="k",
            cached=cached,
        )
        assert await db.link_cached_files(hit.id, cached)
        copy = await db.get_result(hit.id)
        assert copy is not None and copy.files == [f"{hit.id}-{n}.jpg" for n in (1, 2, 3)]
        assert (db.results_dir / f"{hit.id}-2.jpg").read_bytes() == b"two"
        files = await db.erase_photos([photo.id])
        names = {path.name for path in files}
        assert {f"{j}-{n}.jpg" for j in (first.id, hit.id) for n in (1, 2, 3)} <= names
        (db.results_dir / f"{first.id}-1.jpg").unlink()
        assert not db.has_files(Result(first.id, GALLERY.name, GALLERY.to_payload(value)))


def test_the_zip_holds_photo_folders_and_a_row_per_slide(tmp_path: Path) -> None:
    value = gallery(3)
    for n in range(1, 6):
        (tmp_path / f"3-{n}.jpg").write_bytes(f"slide {n}".encode())
    data = zip_gallery(tmp_path, "IMG_1.jpg", value)
    assert data is not None
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == [
        "IMG_1/01-main.jpg",
        "IMG_1/02-hero.jpg",
        "IMG_1/03-benefits.jpg",
        "IMG_1/04-detail.jpg",
        "IMG_1/05-scene.jpg",
        "results.csv",
    ]
    rows = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
    assert [row["slide"] for row in rows] == ["main", "hero", "benefits", "detail", "scene"]
    assert rows[0]["photo"] == "IMG_1.jpg" and rows[0]["ocr_accuracy"] == "0.970"
    assert rows[2]["passed"] == "no" and rows[2]["reasons"] == "ocr"
    (tmp_path / "3-5.jpg").unlink()
    assert zip_gallery(tmp_path, "IMG_1.jpg", value) is None


def test_cli_texts_csv_gives_each_file_its_text(tmp_path: Path) -> None:
    texts = tmp_path / "texts.csv"
    texts.write_text(
        "file,title,benefits\nmug.jpg,Кружка,350 мл|Керамика\nvase,Ваза,\n", encoding="utf-8"
    )
    args = argparse.Namespace(texts=texts, gallery="wb")
    read_texts.cache_clear()
    assert file_params(args, Path("in/mug.jpg"), {"profile": "wb"}) == {
        "profile": "wb",
        "title": "Кружка",
        "benefits": ["350 мл", "Керамика"],
    }
    assert file_params(args, Path("in/vase.png"), {}) == {"title": "Ваза", "benefits": []}
    assert file_params(args, Path("in/other.jpg"), {}) == {}
    assert file_params(SimpleNamespace(texts=None), Path("x.jpg"), {"a": 1}) == {"a": 1}  # type: ignore[arg-type]


def test_a_refused_product_says_why_in_the_sets_summary() -> None:
    from bot.sets.gallery import failure

    assert "caption" in (failure("GalleryRefused: gallery refused: no_text", "en") or "")
    assert "banned" in (failure("GalleryRefused: gallery refused: banned", "en") or "")
    assert failure("ValueError: broken", "en") is None and failure(None, "en") is None
