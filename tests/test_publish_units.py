"""Publishing's bot side without the network: the token rows and their erasure, the buttons,
the plan's text, doctor's SECRET_KEY line."""

from __future__ import annotations

from pathlib import Path

from bot import keyboards
from bot.cli.doctor_checks import secret_key_line
from bot.publish.planning import Plan, Source
from bot.publish.views import plan_text
from bot.settings import settings_from_mapping
from bot.storage import Photo, Storage
from services.publishing.limits import Refusal
from services.publishing.wb_client import Card


async def test_a_token_row_goes_with_an_erasure_in_one_transaction(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        await db.upsert_user(5, "ru", None)
        await db.store_token(5, "wb", b"gAAAA-sealed", "abcd")
        assert await db.token_of(5, "wb") == (b"gAAAA-sealed", "abcd")
        assert [what for _, what, _ in await db.pending_erasures()] == ["token"]
        assert await db.erase_tokens(5, "wb") == 1
        assert await db.token_of(5, "wb") is None
        assert [what for _, what, _ in await db.pending_erasures()] == ["token", "token"]
        assert await db.erase_tokens(5, "wb") == 0


async def test_forget_me_takes_tokens_and_uploads(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        await db.upsert_user(6, "ru", None)
        await db.store_token(6, "wb", b"sealed", "wxyz")
        await db.create_publish_run(6, 6, "wb", [(11, "A1", "T", 0)], [(1, "/x.jpg", "a", 11, 0)])
        await db.erase_user(6)
        assert await db.token_of(6, "wb") is None
        for table in ("marketplace_tokens", "publish_runs", "publish_cards", "publish_items"):
            async with db.db.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
                assert (await cursor.fetchone())[0] == 0, table


def test_fix_and_gallery_results_and_sets_have_the_wb_button() -> None:
    fix = keyboards.result_actions(41, 7, "fix", "en")
    tag = keyboards.result_actions(42, 7, "background", "en")
    gallery = keyboards.text_result_actions(43, "gallery", "en")
    assert "r:41:publish" in _data(fix) and "r:42:publish" not in _data(tag)
    assert gallery is not None and "r:43:publish" in _data(gallery)
    assert "pws:9" in _data(keyboards.set_actions(9, "ru"))


def _data(markup: object) -> list[str]:
    return [b.callback_data for row in markup.inline_keyboard for b in row]  # type: ignore[attr-defined]


def test_the_plan_names_everything_and_escapes_what_the_seller_wrote(tmp_path: Path) -> None:
    photo = Photo(1, 1, 1, 1, "f", "u", "0" * 64, 1, 1, 1, tmp_path / "p.jpg", None, False)
    plan = Plan(run_id=3)
    plan.cards[77] = Card(77, "A<1>", "Mug <b>XL</b>", ("u1", "u2"))
    plan.articles[77] = "A<1>"
    plan.by_card[77] = [Source(photo, "A<1>-1.jpg", photo.path, "A<1>-1.jpg", None)]
    plan.unmatched = [("IMG_1.jpg", None), ("9-1.jpg", "9")]
    plan.refused = [("small.jpg", Refusal("too_small", 600, 800))]
    plan.over[77] = 2
    text = plan_text(plan, "ru")
    assert "A&lt;1&gt; → 77, «Mug &lt;b&gt;XL&lt;/b&gt;», фото сейчас: 2" in text
    assert "IMG_1.jpg: артикул не виден" in text and "9-1.jpg: нет карточки с артикулом 9" in text
    assert "small.jpg: меньше 700×900 (600×800)" in text
    assert "2 последних не войдут" in text


def test_doctor_says_whether_secret_key_is_set() -> None:
    unset = secret_key_line(settings_from_mapping({}))
    assert unset.mark == "–" and "SECRET_KEY" in unset.name and not unset.blocks
    assert "stores no token" in unset.detail
    secret = "a-long-operator-secret-value"
    set_line = secret_key_line(settings_from_mapping({"SECRET_KEY": secret}))
    assert set_line.mark == "✓" and secret not in str(set_line)


def test_the_summary_says_what_went_where_with_wbs_reason() -> None:
    from bot.publish.report import summary_text
    from bot.storage.publish_queries import PublishCard, PublishItem

    ok = [PublishCard(i, f"A{i}", "t", 0, 0, 4, "done", None) for i in range(12)]
    bad = [
        PublishCard(100, "B1", "t", 0, 0, 0, "failed", "wb:Карточка в корзине"),
        PublishCard(101, "B2", "t", 3, 3, 3, "failed", "not_saved:3:4"),
    ]
    items = [PublishItem(n, 1, "/x", "x", n % 12, 0, "done", None) for n in range(46)]
    text = summary_text(ok + bad, items, "ru")
    assert text.splitlines() == [
        "Загружено 46 фото в 12 карточек.",
        "2 карточки: ошибка —",
        "• B1 → 100: Карточка в корзине",
        "• B2 → 101: Wildberries ответил «успешно», но в карточке 3 фото вместо 4",
    ]
