"""One frozen settings object, read once: env/.env (python-dotenv), then the environment.

Each setting is declared once, as a field: its environment name is the field's name in
capitals, with its type, default, bounds and meaning (its docstring; env/example.env and the
README's table are generated from them: `python -m bot.settings_docs`). The services'
fields are declared in `services.config.ServiceSettings`, the bot's here. Only this module
reads the environment. Secrets are `Secret`s: a repr, a log line or a traceback never
shows them. A bad value is a `SettingsError`, one line naming the variable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import pydantic_settings
from pydantic import (
    AfterValidator,
    AliasGenerator,
    BeforeValidator,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from services.config import RENAMED, Secret, ServiceSettings

if TYPE_CHECKING:
    from services.config import ServiceConfig

__all__ = ["Secret", "Settings", "SettingsError", "load_settings", "settings_from_mapping"]

DEFAULT_ENV_FILE = Path("env/.env")
TELEGRAM_DOWNLOAD_LIMIT_MB = 20
_ONLY_GIVEN: ContextVar[bool] = ContextVar("settings_only_given", default=False)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


def _ids(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(f"must be comma-separated Telegram ids, got {value!r}") from None


def _url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError(f"must be a URL (https://...), got {value!r}")
    return value


def _no_slash(url: str) -> str:
    return url.rstrip("/")


Ids = Annotated[frozenset[int], BeforeValidator(_ids)]
Upper = BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value)


class Settings(ServiceSettings, BaseSettings):
    """The bot's settings; the services' (`ServiceSettings`) come first in the class."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=True,
        alias_generator=AliasGenerator(validation_alias=str.upper),
        enable_decoding=False,  # ALLOWED_USERS=1,2 is no JSON: the fields parse their text
        use_attribute_docstrings=True,
        env_file=DEFAULT_ENV_FILE,
    )

    bot_token: Secret = Secret("")
    """Telegram bot token from @BotFather; required to run the bot (without it the bot exits
    with code 2 and one line)."""
    telegram_api_url: Annotated[str, AfterValidator(lambda url: url.rstrip("/"))] = (
        "https://api.telegram.org"
    )
    """Base URL of the Bot API server (a local telegram-bot-api server, or a test emulator)."""
    database_path: Path = Path("data/vitrina.sqlite3")
    """SQLite database; the photos users send (photos/) and their model features (features/)
    are kept next to it."""
    allowed_users: Ids = frozenset()
    """Comma-separated Telegram user ids let in; empty: everyone."""
    admin_ids: Ids = frozenset()
    """Comma-separated Telegram ids of the admins (/stats; always let in)."""
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], Upper] = "INFO"
    """DEBUG, INFO, WARNING or ERROR."""
    clip_model: str | None = None
    """CLIP checkpoint for /tag (a Hugging Face repo id, owner/repo[@revision]); empty:
    openai/clip-vit-large-patch14 on a GPU, openai/clip-vit-base-patch32 on CPU."""
    blip_model: str | None = None
    """Caption model for /describe (owner/repo[@revision]); empty:
    Salesforce/blip-image-captioning-large; a BLIP-2 repo (e.g. Salesforce/blip2-opt-2.7b,
    for GPUs) is loaded as BLIP-2."""
    max_image_mb: float = Field(20.0, ge=0.1)
    """Largest image accepted, in MB (Telegram's own download limit for bots, 20 MB, caps it)."""
    progress_interval_s: float = Field(1.0, ge=0.0)
    """Seconds between edits of a job's progress message."""
    progress_delay_s: float = Field(1.0, ge=0.0)
    """A job's progress message (and chat action) appears only once it has run this many
    seconds: a quick job answers with its result alone; 0: at once."""
    rate_limit_per_minute: float = Field(40.0, ge=0.0)
    """Flood control per user: messages and button presses a minute on average (one polite
    'slow down' per burst; photos and image files are never dropped); 0: off."""
    rate_limit_burst: int = Field(15, ge=1)
    """Flood control per user: messages and button presses at once."""
    set_window_s: float = Field(3.0, ge=0.0)
    """Photos and image files sent at most this many seconds after the previous one (nothing
    else between) are one set, answered with one message; an album always is; 0: only albums."""
    max_unprocessed_photos: int = Field(300, ge=1)
    """A user's photos stored but not processed yet (last 24 h); more are refused with a
    message naming this limit until an action runs on them."""
    find_min_similarity: float = Field(0.25, ge=0.0, le=1.0)
    """/find: the cosine a photo found only by CLIP (no word of the query in its texts) needs;
    about 0.25 suits CLIP ViT-B/32 and ViT-L/14; 0: the best matches whatever they are."""
    retention_days: float = Field(30.0, ge=0.0)
    """Photos and results older than this many days are deleted (users can erase theirs at
    any time with /forget_me); 0: kept forever."""
    shutdown_grace_s: float = Field(20.0, ge=0.0)
    """On SIGTERM: seconds the running job may take to finish and be delivered; a job still
    running then is queued again at the next start."""
    webhook_url: Annotated[str | None, AfterValidator(_url)] = None
    """A public https URL: Telegram posts updates there instead of long polling (every update
    is stored before it is acknowledged, either way); empty: long polling."""
    webhook_path: str = ""
    """The path the bot listens at for webhook updates; empty: WEBHOOK_URL's path, else /."""
    webhook_listen: str = "0.0.0.0"
    """The address the webhook server listens on (put your reverse proxy in front)."""
    webhook_port: int = Field(8080, ge=1)
    """The port the webhook server listens on."""
    webhook_secret: Secret = Secret("")
    """Sent by Telegram with every webhook update and checked; empty: a new random one at
    each start."""
    metrics_port: int = Field(0, ge=0)
    """Prometheus metrics at http://host:METRICS_PORT/metrics (the bot and each
    `vitrina worker`); 0: off."""
    retry_after_scale: float = Field(1.0, ge=0.0)
    """Multiplies every Telegram Retry-After wait; for tests only (1 in production)."""
    secret_key: Secret = Secret("")
    """Encrypts the sellers' marketplace tokens at rest (/connect wb): a Fernet key or any
    long random text (`openssl rand -base64 32`); empty: /connect says the operator must set
    it and stores nothing. Changed: the stored tokens no longer open (sellers /connect again)."""
    wb_content_api_url: Annotated[str, AfterValidator(_url), AfterValidator(_no_slash)] = (
        "https://content-api.wildberries.ru"
    )
    """Base URL of Wildberries' Content API (/publish wb; a local double in tests)."""
    wb_rate_scale: float = Field(1.0, ge=0.0)
    """Multiplies WB's request interval (600 ms) and its X-Ratelimit-Retry waits; for tests
    only (1 in production)."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_default(cls, data: Any) -> Any:
        """Values are stripped; an empty one means the default. WEBHOOK_PATH defaults to
        WEBHOOK_URL's path."""
        if not isinstance(data, Mapping):
            return data
        values = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        values = {k: v for k, v in values.items() if v is not None and v != ""}
        if "WEBHOOK_PATH" not in values:
            values["WEBHOOK_PATH"] = urlsplit(str(values.get("WEBHOOK_URL", ""))).path or "/"
        return values

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment, then the env file; `settings_from_mapping`: its mapping only."""
        if _ONLY_GIVEN.get():
            return (init_settings,)
        return (init_settings, env_settings, dotenv_settings)

    @property
    def photos_dir(self) -> Path:
        """Photos users sent are kept next to the database, named by their sha256."""
        return self.database_path.parent / "photos"

    @property
    def features_dir(self) -> Path:
        """Per-photo model features (CLIP embedding, saliency, SAM) next to the photos."""
        return self.database_path.parent / "features"

    @property
    def max_image_bytes(self) -> int:
        """MAX_IMAGE_MB, capped by the Bot API's 20 MB getFile limit (bigger can't be fetched)."""
        return int(min(self.max_image_mb, TELEGRAM_DOWNLOAD_LIMIT_MB) * 2**20)

    def is_allowed(self, user_id: int) -> bool:
        return not self.allowed_users or user_id in self.allowed_users or self.is_admin(user_id)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids

    def service_config(self, *, preload: bool = False) -> ServiceConfig:
        """What the services need from the settings (the bot's and `vitrina worker`'s)."""
        from services.config import ServiceConfig
        from services.device import resolve_device

        names = {f.name for f in dataclasses.fields(ServiceConfig)}
        values = {
            RENAMED.get(name, name): getattr(self, name)
            for name in ServiceSettings.model_fields
            if RENAMED.get(name, name) in names
        }
        return ServiceConfig(
            **values
            | {
                "device": resolve_device(self.device),
                "openai_api_key": self.openai_api_key.get(),
                "features_dir": self.features_dir,
                "preload": preload,
            }
        )

    def require_bot_token(self) -> str:
        token = self.bot_token.get()
        if not token:
            raise SettingsError(
                "BOT_TOKEN is not set: put BOT_TOKEN=<token from @BotFather> in env/.env "
                "or the environment"
            )
        return token


def _one_line(exc: ValidationError) -> str:
    """The first error as `NAME what is wrong, got 'value'` (a secret's value never)."""
    error = exc.errors(include_url=False)[0]
    name = str(error["loc"][0]) if error["loc"] else "a setting"
    field = Settings.model_fields.get(name.lower())
    bounds = {type(m).__name__: m for m in field.metadata} if field else {}
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "value_error":
        return f"{name} {ctx['error']}"
    if "Ge" in bounds and "Le" in bounds and kind in {"greater_than_equal", "less_than_equal"}:
        what = f"must be between {bounds['Ge'].ge:g} and {bounds['Le'].le:g}"
    elif kind in {"greater_than_equal", "less_than_equal"}:
        what = f"must be at {'least' if 'ge' in ctx else 'most'} {ctx.get('ge', ctx.get('le'))}"
    elif kind == "multiple_of":
        what = f"must be a multiple of {ctx['multiple_of']}"
    elif kind == "literal_error":
        what = "must be " + str(ctx["expected"]).replace("'", "")
    elif kind == "bool_parsing":
        what = "must be on or off"
    elif kind.startswith(("int_", "float_")):
        what = "must be a number"
    else:
        what = str(error["msg"]).lower()
    secret = field is not None and field.annotation is Secret
    return f"{name} {what}" if secret else f"{name} {what}, got {error['input']!r}"


@contextmanager
def _settings_errors() -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    except pydantic_settings.SettingsError as exc:
        raise SettingsError(str(exc).splitlines()[0]) from None


def settings_from_mapping(values: Mapping[str, str | None]) -> Settings:
    """Settings from this mapping alone, by environment name (tests use this directly)."""
    only_given = _ONLY_GIVEN.set(True)
    try:
        with _settings_errors():
            return Settings(**{str(name): value for name, value in values.items()})
    finally:
        _ONLY_GIVEN.reset(only_given)


def load_settings(env_file: Path | None = DEFAULT_ENV_FILE) -> Settings:
    """env/.env first, then the real environment on top (the environment wins)."""
    with _settings_errors():
        return Settings(_env_file=env_file)
