"""/settings: stored per user, kept over Telegram's language, shaping the next job; the
marketplace profile row is the profile /check and Fix use."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import ops, user_settings
from bot.storage import Storage
from services.config import ServiceConfig
from services.operations.edit import EditOperation


async def test_a_chosen_language_is_kept_over_telegrams(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        user = await db.upsert_user(1, "ru", "a")
        assert not user.language_chosen
        assert await user_settings.choose(db, user, "language", "en")
        user = await db.upsert_user(1, "ru", "b")  # Telegram still says Russian
        assert (user.language, user.language_chosen, user.username) == ("en", True, "b")
        other = await db.upsert_user(2, "ru", None)
        assert (await db.upsert_user(2, "en", None)).language == "en" != other.language


async def test_choices_are_checked_and_stored(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        user = await db.upsert_user(1, "ru", None)
        assert await user_settings.current(db, user) == {
            "language": "ru",
            "domain": "product",
            "background": "ask",
            "tags_mode": "top_k",
            "edit_strength": "normal",
            "profile": "wb",  # profiles.toml's default until a check or a choice
            "brand": "product",
        }
        assert not await user_settings.choose(db, user, "background", "plaid")
        assert not await user_settings.choose(db, user, "profile", "amazon")
        assert not await user_settings.choose(db, user, "nonsense", "x")
        for name, value in (
            ("domain", "hotel"),
            ("background", "marble"),
            ("tags_mode", "threshold"),
        ):
            assert await user_settings.choose(db, user, name, value)
        user = await db.get_user(1)
        assert user is not None
        assert (user.domain, user.background, user.tags_mode) == ("hotel", "marble", "threshold")
        assert await user_settings.choose(db, user, "background", "ask")
        assert (await db.get_user(1)).background is None  # type: ignore[union-attr]


async def test_the_profile_row_is_the_one_checks_use(tmp_path: Path) -> None:
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        user = await db.upsert_user(1, "ru", None)
        names = [row.name for row in await user_settings.rows(db)]
        assert names == [
            "language",
            "domain",
            "profile",
            "background",
            "tags_mode",
            "edit_strength",
            "brand",
        ]
        assert (await user_settings.current(db, user))["profile"] == "wb"
        assert await user_settings.choose(db, user, "profile", "ozon")
        assert await db.get_setting(1, "profile") == "ozon"
        assert (await db.get_user(1)).profile == "ozon"  # type: ignore[union-attr]
        row = user_settings.BY_NAME["profile"]
        assert row.label("ru", "wb") == "Wildberries"


async def test_settings_shape_the_next_job(tmp_path: Path) -> None:
    config = ServiceConfig(weights_dir=tmp_path, tag_min_probability=None)
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        user = await db.upsert_user(1, "ru", None)
        assert ops.job_params("tag", {}, user, config) == {}
        await db.set_setting(1, "tags_mode", "threshold")
        await db.set_setting(1, "edit_strength", "gentle")
        user = await db.get_user(1)
        assert ops.job_params("tag", {}, user, config) == {
            "min_probability": 0.1,
            "top_k": 0,
        }
        assert ops.job_params("tag", {"top_k": 3}, user, config)["top_k"] == 3
        assert ops.job_params("night", {}, user, config) == {"strength": "gentle"}
        await db.set_setting(1, "tags_mode", "top_k")
        user = await db.get_user(1)
        assert ops.job_params("tag", {}, user, config) == {"min_probability": None}


def test_edit_strength_moves_the_image_guidance(tmp_path: Path) -> None:
    operation = EditOperation("night", None, lambda: [])  # type: ignore[arg-type]
    base = operation.plan({}).image_guidance
    assert operation.plan({"strength": "gentle"}).image_guidance == pytest.approx(base * 1.25)
    assert operation.plan({"strength": "strong"}).image_guidance == pytest.approx(base * 0.8)
    assert operation.plan({"strength": "odd"}).image_guidance == base


async def test_the_brand_colour_goes_into_galleries_unless_asked(tmp_path: Path) -> None:
    config = ServiceConfig(weights_dir=tmp_path)
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        user = await db.upsert_user(1, "ru", None)
        assert ops.job_params("gallery", {"profile": "wb"}, user, config) == {"profile": "wb"}
        assert await user_settings.choose(db, user, "brand", "#c0392b")
        user = await db.get_user(1)
        assert user is not None and user.brand == "#c0392b"
        assert ops.job_params("gallery", {}, user, config) == {"brand": "#c0392b"}
        assert ops.job_params("gallery", {"brand": "#000000"}, user, config)["brand"] == "#000000"
        assert ops.job_params("check", {}, user, config) == {}
        assert user_settings.BY_NAME["brand"].label("en", "#c0392b") == "🟥 #c0392b"
        assert not await user_settings.choose(db, user, "brand", "#123456")  # not offered
        assert await user_settings.choose(db, user, "brand", "product")
        assert (await db.get_user(1)).brand is None  # type: ignore[union-attr]
