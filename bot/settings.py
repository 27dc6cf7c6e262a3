"""One frozen settings object, read once: env/.env (python-dotenv), then the environment.

Only this module reads the environment. Secrets are kept as `Secret` so that a repr,
a log line or a traceback never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_ENV_FILE = Path("env/.env")
DEFAULT_API_URL = "https://api.telegram.org"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


class Secret:
    """A string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    bot_token: Secret = field(default_factory=lambda: Secret(""))
    telegram_api_url: str = DEFAULT_API_URL
    weights_dir: Path = Path("weights")
    database_path: Path = Path("data/vitrina.sqlite3")
    openai_api_key: Secret = field(default_factory=lambda: Secret(""))
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o"
    device: str = "auto"
    allowed_users: frozenset[int] = frozenset()
    admin_ids: frozenset[int] = frozenset()
    service_backend: str = "local"
    log_level: str = "INFO"
    clip_model: str | None = None
    tag_top_k: int = 5
    tag_min_probability: float | None = None
    queue_max_size: int = 200
    queue_max_per_user: int = 20
    max_image_mb: float = 20.0
    progress_interval_s: float = 1.0
    edit_steps: int = 20
    edit_guidance: float = 7.5
    edit_image_guidance: float = 1.5
    edit_max_side: int = 512

    @property
    def photos_dir(self) -> Path:
        """Photos users sent are kept next to the database, named by their sha256."""
        return self.database_path.parent / "photos"

    def is_allowed(self, user_id: int) -> bool:
        return not self.allowed_users or user_id in self.allowed_users or self.is_admin(user_id)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids

    def require_bot_token(self) -> str:
        token = self.bot_token.get()
        if not token:
            raise SettingsError(
                "BOT_TOKEN is not set: put BOT_TOKEN=<token from @BotFather> in env/.env "
                "or the environment"
            )
        return token


def _ids(name: str, raw: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated Telegram ids, got {raw!r}") from None


def _number(name: str, raw: str, kind: type[int] | type[float], minimum: float) -> int | float:
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def settings_from_mapping(values: Mapping[str, str | None]) -> Settings:
    """Build settings from a plain mapping (tests use this directly)."""

    def get(name: str) -> str:
        return (values.get(name) or "").strip()

    device = get("DEVICE").lower() or "auto"
    if device not in {"auto", "cpu", "cuda"} and not device.startswith("cuda:"):
        raise SettingsError(f"DEVICE must be auto, cpu or cuda, got {device!r}")
    backend = get("SERVICE_BACKEND") or "local"
    if backend != "local" and not backend.startswith(("redis://", "rediss://")):
        raise SettingsError(f"SERVICE_BACKEND must be 'local' or a redis:// URL, got {backend!r}")
    min_prob = get("TAG_MIN_PROBABILITY")
    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    edit_max_side = int(_number("EDIT_MAX_SIDE", get("EDIT_MAX_SIDE") or "512", int, 64))
    if edit_max_side % 8:
        raise SettingsError(f"EDIT_MAX_SIDE must be a multiple of 8, got {edit_max_side}")
    return Settings(
        bot_token=Secret(get("BOT_TOKEN")),
        telegram_api_url=(get("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/"),
        weights_dir=Path(get("WEIGHTS_DIR") or "weights"),
        database_path=Path(get("DATABASE_PATH") or "data/vitrina.sqlite3"),
        openai_api_key=Secret(get("OPENAI_API_KEY")),
        openai_base_url=get("OPENAI_BASE_URL") or None,
        openai_model=get("OPENAI_MODEL") or "gpt-4o",
        device=device,
        allowed_users=_ids("ALLOWED_USERS", get("ALLOWED_USERS")),
        admin_ids=_ids("ADMIN_IDS", get("ADMIN_IDS")),
        service_backend=backend,
        log_level=level,
        clip_model=get("CLIP_MODEL") or None,
        tag_top_k=int(_number("TAG_TOP_K", get("TAG_TOP_K") or "5", int, 1)),
        tag_min_probability=(
            float(_number("TAG_MIN_PROBABILITY", min_prob, float, 0.0)) if min_prob else None
        ),
        queue_max_size=int(_number("QUEUE_MAX_SIZE", get("QUEUE_MAX_SIZE") or "200", int, 1)),
        queue_max_per_user=int(
            _number("QUEUE_MAX_PER_USER", get("QUEUE_MAX_PER_USER") or "20", int, 1)
        ),
        max_image_mb=float(_number("MAX_IMAGE_MB", get("MAX_IMAGE_MB") or "20", float, 0.1)),
        progress_interval_s=float(
            _number("PROGRESS_INTERVAL_S", get("PROGRESS_INTERVAL_S") or "1", float, 0.0)
        ),
        edit_steps=int(_number("EDIT_STEPS", get("EDIT_STEPS") or "20", int, 1)),
        edit_guidance=float(_number("EDIT_GUIDANCE", get("EDIT_GUIDANCE") or "7.5", float, 1.0)),
        edit_image_guidance=float(
            _number("EDIT_IMAGE_GUIDANCE", get("EDIT_IMAGE_GUIDANCE") or "1.5", float, 1.0)
        ),
        edit_max_side=edit_max_side,
    )


def load_settings(env_file: Path | None = DEFAULT_ENV_FILE) -> Settings:
    """env/.env first, then the real environment on top (the environment wins)."""
    values: dict[str, str | None] = {}
    if env_file is not None and env_file.is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ)
    return settings_from_mapping(values)
