"""One frozen settings object, read once: env/.env (python-dotenv), then the environment.

Only this module reads the environment. Secrets are kept as `Secret` so that a repr,
a log line or a traceback never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dotenv import dotenv_values

from services.worker.redis_url import REDIS_SCHEMES, redacted

if TYPE_CHECKING:
    from services.config import ServiceConfig

DEFAULT_ENV_FILE = Path("env/.env")
DEFAULT_API_URL = "https://api.telegram.org"
TELEGRAM_DOWNLOAD_LIMIT_MB = 20


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
    openai_timeout_s: float = 30.0
    describe_gpt_language: str = "ru"
    blip_model: str | None = None
    device: str = "auto"
    allowed_users: frozenset[int] = frozenset()
    admin_ids: frozenset[int] = frozenset()
    service_backend: str = "local"
    redis_visibility_s: float = 60.0  # REDIS_VISIBILITY_S: a silent worker's job moves on
    #: SHARED_DIR: with Redis, photos and result images go through this folder (mounted on
    #: the bot and every worker) instead of Redis; None: through Redis
    shared_dir: Path | None = None
    log_level: str = "INFO"
    clip_model: str | None = None
    sam_model: str | None = None  # vit_h | vit_l | vit_b; None: vit_h on CUDA, vit_b on CPU
    tag_top_k: int = 5
    tag_min_probability: float | None = None
    queue_max_size: int = 200
    queue_max_per_user: int = 20
    max_image_mb: float = 20.0
    max_pixels: int = 50_000_000
    progress_interval_s: float = 1.0
    #: a job's progress message (and chat action) only once it has run this long: a quick
    #: job's result is its first message (P4: no Bot API call before the result)
    progress_delay_s: float = 1.0
    rate_limit_per_minute: float = 40.0
    retention_days: float = 30.0
    shutdown_grace_s: float = 20.0
    rate_limit_burst: int = 15
    background_steps: int = 25
    edit_steps: int = 20
    edit_guidance: float = 7.5
    edit_image_guidance: float = 1.5
    edit_max_side: int = 512
    model_worker: str = "process"  # MODEL_WORKER: process | thread
    batch_window_ms: float = 5.0
    worker_threads: int = 0
    result_cache: bool = True  # RESULT_CACHE: a repeated job answered from storage
    gpu_memory_budget_gb: float = 0.0  # models on CUDA may hold this much; 0 = no limit
    cpu_memory_budget_gb: float = 0.0  # models on the CPU may hold this much RAM; 0 = no limit
    translation_runtime: str = "auto"  # auto | transformers | ctranslate2
    clip_runtime: str = "auto"  # auto | torch | onnx
    #: FIND_MIN_SIMILARITY: a photo found by CLIP alone needs this cosine to its query
    find_min_similarity: float = 0.25
    set_window_s: float = 3.0  # SET_WINDOW_S: photos this close to the previous join a set
    #: MAX_UNPROCESSED_PHOTOS: a user's photos stored but not processed yet (a day's worth);
    #: more are refused with a message naming the limit (flood control drops no photo)
    max_unprocessed_photos: int = 300
    #: WEBHOOK_URL: Telegram posts updates there (https, public); empty: long polling.
    #: The bot listens on WEBHOOK_LISTEN:WEBHOOK_PORT at WEBHOOK_PATH (the URL's path).
    webhook_url: str | None = None
    webhook_path: str = "/"
    webhook_listen: str = "0.0.0.0"  # behind the operator's reverse proxy
    webhook_port: int = 8080
    #: WEBHOOK_SECRET: Telegram sends it with every update; empty: a new random one per start
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    metrics_port: int = 0  # METRICS_PORT: Prometheus metrics on this port; 0 = off
    #: RETRY_AFTER_SCALE: multiplies every Retry-After wait. For tests only (1 in production)
    retry_after_scale: float = 1.0

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

        return ServiceConfig(
            weights_dir=self.weights_dir,
            device=resolve_device(self.device),
            queue_max_size=self.queue_max_size,
            queue_max_per_user=self.queue_max_per_user,
            tag_top_k=self.tag_top_k,
            tag_min_probability=self.tag_min_probability,
            background_steps=self.background_steps,
            sam_model=self.sam_model,
            preload=preload,
            max_pixels=self.max_pixels,
            openai_api_key=self.openai_api_key.get(),
            openai_base_url=self.openai_base_url,
            openai_model=self.openai_model,
            openai_timeout_s=self.openai_timeout_s,
            describe_gpt_language=self.describe_gpt_language,
            edit_steps=self.edit_steps,
            edit_guidance=self.edit_guidance,
            edit_image_guidance=self.edit_image_guidance,
            edit_max_side=self.edit_max_side,
            worker=self.model_worker,
            batch_window_ms=self.batch_window_ms,
            backend=self.service_backend,
            redis_visibility_s=self.redis_visibility_s,
            shared_dir=self.shared_dir,
            worker_threads=self.worker_threads,
            result_cache=self.result_cache,
            features_dir=self.features_dir,
            gpu_memory_budget_gb=self.gpu_memory_budget_gb,
            cpu_memory_budget_gb=self.cpu_memory_budget_gb,
            translation_runtime=self.translation_runtime,
            clip_runtime=self.clip_runtime,
        )

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


def _switch(name: str, raw: str, default: bool) -> bool:
    if not raw:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be on or off, got {raw!r}")


def settings_from_mapping(values: Mapping[str, str | None]) -> Settings:
    """Build settings from a plain mapping (tests use this directly)."""

    def get(name: str) -> str:
        return (values.get(name) or "").strip()

    device = get("DEVICE").lower() or "auto"
    if device not in {"auto", "cpu", "cuda"} and not device.startswith("cuda:"):
        raise SettingsError(f"DEVICE must be auto, cpu or cuda, got {device!r}")
    backend = get("SERVICE_BACKEND") or "local"
    if backend != "local" and not backend.startswith(REDIS_SCHEMES):
        raise SettingsError(
            f"SERVICE_BACKEND must be 'local' or a redis:// URL, got {redacted(backend)!r}"
        )
    min_prob = get("TAG_MIN_PROBABILITY")
    gpt_language = (get("DESCRIBE_GPT_LANGUAGE") or "ru").lower()
    if gpt_language not in {"ru", "en"}:
        raise SettingsError(f"DESCRIBE_GPT_LANGUAGE must be ru or en, got {gpt_language!r}")
    sam_model = get("SAM_MODEL").lower() or None
    if sam_model not in {None, "vit_h", "vit_l", "vit_b"}:
        raise SettingsError(f"SAM_MODEL must be vit_h, vit_l or vit_b, got {sam_model!r}")
    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    edit_max_side = int(_number("EDIT_MAX_SIDE", get("EDIT_MAX_SIDE") or "512", int, 64))
    model_worker = (get("MODEL_WORKER") or "process").lower()
    if model_worker not in {"process", "thread"}:
        raise SettingsError(f"MODEL_WORKER must be process or thread, got {model_worker!r}")
    if edit_max_side % 8:
        raise SettingsError(f"EDIT_MAX_SIDE must be a multiple of 8, got {edit_max_side}")
    runtimes = {}
    for name, allowed in (
        ("TRANSLATION_RUNTIME", ("auto", "transformers", "ctranslate2")),
        ("CLIP_RUNTIME", ("auto", "torch", "onnx")),
    ):
        runtimes[name] = get(name).lower() or "auto"
        if runtimes[name] not in allowed:
            raise SettingsError(f"{name} must be {', '.join(allowed)}, got {runtimes[name]!r}")
    webhook_url = get("WEBHOOK_URL") or None
    if webhook_url is not None and not webhook_url.startswith(("https://", "http://")):
        raise SettingsError(f"WEBHOOK_URL must be a URL (https://...), got {webhook_url!r}")
    return Settings(
        webhook_url=webhook_url,
        webhook_path=get("WEBHOOK_PATH") or urlsplit(webhook_url or "").path or "/",
        webhook_listen=get("WEBHOOK_LISTEN") or "0.0.0.0",
        webhook_port=int(_number("WEBHOOK_PORT", get("WEBHOOK_PORT") or "8080", int, 1)),
        webhook_secret=Secret(get("WEBHOOK_SECRET")),
        metrics_port=int(_number("METRICS_PORT", get("METRICS_PORT") or "0", int, 0)),
        retry_after_scale=float(
            _number("RETRY_AFTER_SCALE", get("RETRY_AFTER_SCALE") or "1", float, 0.0)
        ),
        bot_token=Secret(get("BOT_TOKEN")),
        telegram_api_url=(get("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/"),
        weights_dir=Path(get("WEIGHTS_DIR") or "weights"),
        database_path=Path(get("DATABASE_PATH") or "data/vitrina.sqlite3"),
        openai_api_key=Secret(get("OPENAI_API_KEY")),
        openai_base_url=get("OPENAI_BASE_URL") or None,
        openai_model=get("OPENAI_MODEL") or "gpt-4o",
        openai_timeout_s=float(
            _number("OPENAI_TIMEOUT_S", get("OPENAI_TIMEOUT_S") or "30", float, 0.1)
        ),
        describe_gpt_language=gpt_language,
        blip_model=get("BLIP_MODEL") or None,
        device=device,
        allowed_users=_ids("ALLOWED_USERS", get("ALLOWED_USERS")),
        admin_ids=_ids("ADMIN_IDS", get("ADMIN_IDS")),
        service_backend=backend,
        shared_dir=Path(get("SHARED_DIR")) if get("SHARED_DIR") else None,
        redis_visibility_s=float(
            _number("REDIS_VISIBILITY_S", get("REDIS_VISIBILITY_S") or "60", float, 1.0)
        ),
        log_level=level,
        clip_model=get("CLIP_MODEL") or None,
        sam_model=sam_model,
        tag_top_k=int(_number("TAG_TOP_K", get("TAG_TOP_K") or "5", int, 1)),
        tag_min_probability=(
            float(_number("TAG_MIN_PROBABILITY", min_prob, float, 0.0)) if min_prob else None
        ),
        queue_max_size=int(_number("QUEUE_MAX_SIZE", get("QUEUE_MAX_SIZE") or "200", int, 1)),
        queue_max_per_user=int(
            _number("QUEUE_MAX_PER_USER", get("QUEUE_MAX_PER_USER") or "20", int, 1)
        ),
        max_image_mb=float(_number("MAX_IMAGE_MB", get("MAX_IMAGE_MB") or "20", float, 0.1)),
        max_pixels=int(_number("MAX_PIXELS", get("MAX_PIXELS") or "50000000", int, 1024)),
        rate_limit_per_minute=float(
            _number("RATE_LIMIT_PER_MINUTE", get("RATE_LIMIT_PER_MINUTE") or "40", float, 0.0)
        ),
        retention_days=float(_number("RETENTION_DAYS", get("RETENTION_DAYS") or "30", float, 0.0)),
        shutdown_grace_s=float(
            _number("SHUTDOWN_GRACE_S", get("SHUTDOWN_GRACE_S") or "20", float, 0.0)
        ),
        rate_limit_burst=int(_number("RATE_LIMIT_BURST", get("RATE_LIMIT_BURST") or "15", int, 1)),
        progress_interval_s=float(
            _number("PROGRESS_INTERVAL_S", get("PROGRESS_INTERVAL_S") or "1", float, 0.0)
        ),
        progress_delay_s=float(
            _number("PROGRESS_DELAY_S", get("PROGRESS_DELAY_S") or "1", float, 0.0)
        ),
        background_steps=int(_number("BACKGROUND_STEPS", get("BACKGROUND_STEPS") or "25", int, 1)),
        edit_steps=int(_number("EDIT_STEPS", get("EDIT_STEPS") or "20", int, 1)),
        edit_guidance=float(_number("EDIT_GUIDANCE", get("EDIT_GUIDANCE") or "7.5", float, 1.0)),
        edit_image_guidance=float(
            _number("EDIT_IMAGE_GUIDANCE", get("EDIT_IMAGE_GUIDANCE") or "1.5", float, 1.0)
        ),
        edit_max_side=edit_max_side,
        model_worker=model_worker,
        batch_window_ms=float(
            _number("BATCH_WINDOW_MS", get("BATCH_WINDOW_MS") or "5", float, 0.0)
        ),
        worker_threads=int(_number("WORKER_THREADS", get("WORKER_THREADS") or "0", int, 0)),
        result_cache=_switch("RESULT_CACHE", get("RESULT_CACHE"), True),
        gpu_memory_budget_gb=float(
            _number("GPU_MEMORY_BUDGET_GB", get("GPU_MEMORY_BUDGET_GB") or "0", float, 0.0)
        ),
        cpu_memory_budget_gb=float(
            _number("CPU_MEMORY_BUDGET_GB", get("CPU_MEMORY_BUDGET_GB") or "0", float, 0.0)
        ),
        translation_runtime=runtimes["TRANSLATION_RUNTIME"],
        clip_runtime=runtimes["CLIP_RUNTIME"],
        find_min_similarity=_share("FIND_MIN_SIMILARITY", get("FIND_MIN_SIMILARITY"), 0.25),
        set_window_s=float(_number("SET_WINDOW_S", get("SET_WINDOW_S") or "3", float, 0.0)),
        max_unprocessed_photos=int(
            _number("MAX_UNPROCESSED_PHOTOS", get("MAX_UNPROCESSED_PHOTOS") or "300", int, 1)
        ),
    )


def _share(name: str, raw: str, default: float) -> float:
    value = float(_number(name, raw, float, 0.0)) if raw else default
    if value > 1.0:
        raise SettingsError(f"{name} must be between 0 and 1, got {raw!r}")
    return value


def load_settings(env_file: Path | None = DEFAULT_ENV_FILE) -> Settings:
    """env/.env first, then the real environment on top (the environment wins)."""
    values: dict[str, str | None] = {}
    if env_file is not None and env_file.is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ)
    return settings_from_mapping(values)
