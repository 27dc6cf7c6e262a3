"""Pure functions: settings, command parsing, texts and the rendering of results."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.command_parsing import parse_background, split_command
from bot.logs import RedactSecrets
from bot.ops import parse_command
from bot.rendering import render_tags
from bot.settings import SettingsError, load_settings, settings_from_mapping
from bot.texts import language_of, t
from services.models.clip import Tag, TagResult


def test_defaults_follow_the_design_contracts() -> None:
    settings = settings_from_mapping({})
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.weights_dir == Path("weights")
    assert settings.database_path == Path("data/vitrina.sqlite3")
    assert settings.device == "auto" and settings.service_backend == "local"
    assert not settings.openai_api_key and not settings.allowed_users
    with pytest.raises(SettingsError, match="BOT_TOKEN"):
        settings.require_bot_token()


def test_env_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("BOT_TOKEN=111:from-file\nALLOWED_USERS=1, 2\nDEVICE=cpu\n")
    monkeypatch.setenv("DEVICE", "cuda")
    settings = load_settings(env)
    assert settings.bot_token.get() == "111:from-file"
    assert settings.allowed_users == frozenset({1, 2}) and settings.device == "cuda"
    assert settings.is_allowed(1) and not settings.is_allowed(3)


def test_secrets_never_print() -> None:
    settings = settings_from_mapping({"BOT_TOKEN": "123:SECRET", "OPENAI_API_KEY": "sk-SECRET"})
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEVICE", "tpu"), ("ALLOWED_USERS", "1,x"), ("TAG_TOP_K", "0"), ("SERVICE_BACKEND", "x")],
)
def test_bad_values_are_one_clear_line(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        settings_from_mapping({name: value})


def test_log_filter_scrubs_secrets() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "url %s", ("/bot123:SECRET/",), None
    )
    RedactSecrets(["123:SECRET"]).filter(record)
    assert record.getMessage() == "url /bot***/"


def test_split_and_parse_commands() -> None:
    assert split_command("/Tag@vitrina_bot  hotel", "vitrina_bot") == ("tag", "hotel")
    assert split_command("/tag@other_bot", "vitrina_bot") is None
    assert split_command("hello") is None
    assert parse_command("tag", "").op == "tag"
    assert parse_command("edit", "").problem == "edit.ask"
    assert parse_command("edit", "make it sunset").params == {"prompt": "make it sunset"}
    assert parse_command("background", "").problem == "background.ask"
    assert parse_command("background", "#").problem == "background.bad"
    assert parse_command("start", "") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pink", {"kind": "colour", "value": "#ffc0cb", "name": "pink"}),
        ("Розовый", {"kind": "colour", "value": "#ffc0cb", "name": "розовый"}),
        ("#FC0", {"kind": "colour", "value": "#ffcc00"}),
        ("transparent", {"kind": "transparent"}),
        ("marble", {"kind": "preset", "value": "marble"}),
        ("on a marble table", {"kind": "prompt", "value": "on a marble table"}),
        ("#12", None),
        ("42", None),
    ],
)
def test_background_specs(value: str, expected: dict | None) -> None:
    assert parse_background(value) == expected


def test_texts_in_both_languages() -> None:  # the catalogs themselves: tests/test_i18n.py
    assert language_of("ru") == "ru" and language_of("uk-UA") == "ru"
    assert language_of("de") == "en" and language_of(None) == "en"
    assert t("ru", "job.queued", op="Теги", position=2) == "⏳ Теги: в очереди, перед вами 2."
    assert t("xx", "op.tag") == "Tags"


def test_tags_render_in_both_languages_with_attributes() -> None:
    result = TagResult(
        "product",
        (Tag("handbag", "сумка", 0.8214), Tag("wallet", "кошелёк", 0.0004)),
        (Tag("red", "красный", 0.64, "colour"), Tag("leather", "кожаный", 0.551, "material")),
    )
    text = render_tags(result, "ru")
    assert text.splitlines()[:3] == [
        "<b>Теги</b> (товары):",
        "• сумка — handbag (82%)",
        "• кошелёк — wallet (1%)",
    ]
    assert "<i>Свойства:</i> красный — red (64%) · кожаный — leather (55%)" in text
    assert text.endswith("#сумка #кошелёк #красный #кожаный")
    assert "No confident tags" in render_tags(TagResult("hotel", ()), "en")
