"""Settings are declared once: env/example.env and the README's table are generated from the
fields, ServiceConfig takes its defaults from them, and reading them keeps its rules."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings, settings_from_mapping
from bot.settings_docs import EXAMPLE_ENV, README, example_env, readme_table
from services.config import RENAMED, ServiceConfig, ServiceSettings

REGENERATE = "run `python -m bot.settings_docs` and commit the result"


def test_every_setting_has_a_meaning() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description, f"{name.upper()} has no docstring"
        assert "|" not in info.description, name  # a column of the README's table


def test_example_env_is_generated_from_the_fields() -> None:
    committed = EXAMPLE_ENV.read_text(encoding="utf-8")
    keys = re.findall(r"^([A-Z0-9_]+)=", committed, flags=re.MULTILINE)
    assert sorted(keys) == sorted(name.upper() for name in Settings.model_fields), REGENERATE
    assert committed == example_env(), REGENERATE


def test_readme_table_is_generated_from_the_fields() -> None:
    assert readme_table() in README.read_text(encoding="utf-8"), REGENERATE


def test_service_config_defaults_are_the_settings_defaults() -> None:
    """No second copy: a bare ServiceConfig is what default settings give the services."""
    settings = settings_from_mapping({"DEVICE": "cpu"})
    bare = ServiceConfig(Path("weights"), features_dir=settings.features_dir)
    assert settings.service_config() == bare
    assert bare.worker == "process" and bare.batch_window_ms == 5.0  # what the bot runs
    config_names = {f.name for f in dataclasses.fields(ServiceConfig)}
    for name in ServiceSettings.model_fields:
        assert RENAMED.get(name, name) in config_names, f"ServiceConfig lacks {name}"


def test_mapping_alone_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVICE", "cuda")
    monkeypatch.setenv("TAG_TOP_K", "x")
    assert settings_from_mapping({}).device == "auto"


def test_empty_in_the_environment_means_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("TAG_TOP_K=7\nEDIT_STEPS=9\nUNKNOWN_KEY=1\nqueue_max_size=3\n")
    monkeypatch.setenv("TAG_TOP_K", "")
    monkeypatch.setenv("edit_steps", "2")  # names are capitals only
    settings = load_settings(env)
    assert (settings.tag_top_k, settings.edit_steps, settings.queue_max_size) == (5, 9, 200)
    monkeypatch.setenv("EDIT_STEPS", " 0 ")
    with pytest.raises(SettingsError, match=r"^EDIT_STEPS must be at least 1, got '0'$"):
        load_settings(env)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"DEVICE": "tpu"}, "DEVICE must be auto, cpu or cuda, got 'tpu'"),
        ({"TAG_TOP_K": "x"}, "TAG_TOP_K must be a number, got 'x'"),
        ({"ADMIN_IDS": "1;2"}, "ADMIN_IDS must be comma-separated Telegram ids, got '1;2'"),
        ({"EDIT_MAX_SIDE": "500"}, "EDIT_MAX_SIDE must be a multiple of 8, got '500'"),
        ({"FIND_MIN_SIMILARITY": "2"}, "FIND_MIN_SIMILARITY must be between 0 and 1, got '2'"),
        ({"RESULT_CACHE": "maybe"}, "RESULT_CACHE must be on or off, got 'maybe'"),
        ({"MODEL_WORKER": "fork"}, "MODEL_WORKER must be process or thread, got 'fork'"),
        ({"WEBHOOK_URL": "example.org"}, "WEBHOOK_URL must be a URL"),
    ],
)
def test_bad_values_name_the_variable(values: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(values)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_normalised_values() -> None:
    settings = settings_from_mapping(
        {
            "SAM_MODEL": " VIT_B ",
            "LOG_LEVEL": "debug",
            "DEVICE": "CUDA:1",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "RESULT_CACHE": "off",
            "ALLOWED_USERS": " 1, 2,",
        }
    )
    assert (settings.sam_model, settings.log_level) == ("vit_b", "DEBUG")
    assert settings.device == "cuda:1"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.webhook_path == "/hook" and settings.result_cache is False
    assert settings.allowed_users == frozenset({1, 2})
    assert settings_from_mapping({}).webhook_path == "/"


def test_secrets_and_redis_passwords_never_print() -> None:
    settings = settings_from_mapping(
        {
            "BOT_TOKEN": "123:SECRET",
            "WEBHOOK_SECRET": "SECRET",
            "OPENAI_API_KEY": "sk-SECRET",
            "SERVICE_BACKEND": "redis://:SECRET@127.0.0.1:6379/0",
        }
    )
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings)
    assert settings.webhook_secret.get() == "SECRET"
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping({"SERVICE_BACKEND": "http://:SECRET@host"})
    assert "SECRET" not in str(caught.value) and "SERVICE_BACKEND" in str(caught.value)
