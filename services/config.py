"""What the service layer is told, declared once.

`ServiceSettings` declares each setting the services read: its environment name (the field's
name in capitals), type, default, bounds and meaning (its docstring: env/example.env and the
README's table are generated from them). `bot.settings.Settings` reads these fields with the
bot's own; `ServiceConfig`, the frozen object the services get (from
`Settings.service_config`, or from a test), takes its defaults from these fields.
Cheap to import: no model library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from services.worker.redis_url import REDIS_SCHEMES, redacted


class Secret(SecretStr):
    """A string that never prints itself (repr, str, logs, tracebacks)."""

    def get(self) -> str:
        return self.get_secret_value()


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _device(value: str) -> str:
    if value not in {"auto", "cpu", "cuda"} and not value.startswith("cuda:"):
        raise ValueError(f"must be auto, cpu or cuda, got {value!r}")
    return value


def _backend(value: str) -> str:
    if value != "local" and not value.startswith(REDIS_SCHEMES):
        raise ValueError(f"must be 'local' or a redis:// URL, got {redacted(value)!r}")
    return value


Lower = BeforeValidator(_lower)


class ServiceSettings(BaseModel):
    """The services' settings; the environment names them in capitals (EDIT_STEPS). Each
    field's docstring is its meaning (env/example.env, the README's table)."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    weights_dir: Path = Path("weights")
    """One sub-folder per model, in the layout `vitrina weights download` writes
    (`vitrina weights tiny DIR` writes random-weight stand-ins of the same classes for tests)."""
    device: Annotated[str, Lower, AfterValidator(_device)] = "auto"
    """cuda, cpu or auto (cuda when torch sees a GPU)."""
    service_backend: Annotated[str, AfterValidator(_backend)] = Field("local", repr=False)
    """local: the models run on this machine (MODEL_WORKER); redis://host:6379/0 (a password:
    redis://:secret@host:6379/0; TLS: rediss://host:6380/0?ssl_ca_certs=/path/ca.pem): jobs go
    through Redis to `vitrina worker` processes, one per GPU (README: Scale-out)."""
    redis_visibility_s: float = Field(60.0, ge=1.0)
    """With Redis: a job whose worker has been silent this many seconds goes to another one."""
    shared_dir: Path | None = None
    """With Redis: a folder the bot and every worker mount; photos and result images go
    through it instead of Redis (big deployments). Empty: through Redis."""
    model_worker: Annotated[Literal["process", "thread"], Lower] = "process"
    """process: the models run in a process of their own, so a diffusion never stalls the
    bot's answers (a crashed worker is restarted); thread: in a thread of the bot (less RAM)."""
    worker_threads: int = Field(0, ge=0)
    """torch CPU threads of the worker process; 0: all cores but one on CPU (the bot keeps
    one), unless OMP_NUM_THREADS is set."""
    batch_window_ms: float = Field(5.0, ge=0.0)
    """How long (ms) a batch waits for more compatible jobs (a burst of /tag) before it starts."""
    gpu_memory_budget_gb: float = Field(0.0, ge=0.0)
    """GB the models on CUDA may hold: models load on first use and the least recently used
    idle one is unloaded when the next would not fit (one bigger still loads); 0: no limit."""
    cpu_memory_budget_gb: float = Field(0.0, ge=0.0)
    """GB of RAM the models on the CPU may hold, as GPU_MEMORY_BUDGET_GB; 0: no limit."""
    queue_max_size: int = Field(200, ge=1)
    """Jobs waiting in the queue, all users together."""
    queue_max_per_user: int = Field(20, ge=1)
    """Jobs one user may have waiting."""
    max_pixels: int = Field(50_000_000, ge=1024)
    """Largest image accepted, in pixels (decompression-bomb guard); under 32 px a side is
    refused."""
    result_cache: bool = True
    """on: a job repeated on the same photo with the same options and model files is answered
    from storage, no model runs (a photo's model features are kept and reused either way)."""
    tag_top_k: int = Field(5, ge=1)
    """How many tags /tag returns."""
    tag_min_probability: float | None = Field(None, ge=0.0)
    """The probability a tag needs to be listed; empty: no threshold."""
    sam_model: Annotated[Literal["vit_h", "vit_l", "vit_b"] | None, Lower] = None
    """SAM checkpoint for /background: vit_h, vit_l or vit_b
    (`WEIGHTS_DIR/sam/sam_<variant>_*.pth`); empty: ViT-H on a GPU, ViT-B on CPU."""
    background_steps: int = Field(25, ge=1)
    """Diffusion steps of a generated background (/background on a marble table)."""
    edit_steps: int = Field(20, ge=1)
    """Denoising steps of an edit (/night, /tulips, /edit with instruct-pix2pix; presets in
    services/edit_presets.tsv may override)."""
    edit_guidance: float = Field(7.5, ge=1.0)
    """How strongly an edit follows its instruction."""
    edit_image_guidance: float = Field(1.5, ge=1.0)
    """How strongly an edit stays close to the photo."""
    edit_max_side: int = Field(512, ge=64, multiple_of=8)
    """The edit model's working size: the photo's long side, a multiple of 8 (the result comes
    back at the photo's own size)."""
    translation_runtime: Annotated[Literal["auto", "transformers", "ctranslate2"], Lower] = "auto"
    """opus-mt runtime: transformers, ctranslate2 (the folder `vitrina weights convert` writes
    and checks), or auto: CTranslate2 on CPU when that folder passed its check."""
    clip_runtime: Annotated[Literal["auto", "torch", "onnx"], Lower] = "auto"
    """CLIP image tower runtime: torch, onnx (ONNX Runtime, converted and checked the same
    way), or auto: ONNX on CPU when its folder passed its check."""
    isnet_runtime: Annotated[Literal["auto", "onnxruntime", "openvino"], Lower] = "auto"
    """ISNet (the cut) on the CPU: onnxruntime, openvino, or auto: OpenVINO in bfloat16 where
    the CPU computes it natively (AVX512-BF16/AMX: ~0.6x the time, the same masks), else
    onnxruntime."""
    openai_api_key: Secret = Secret("")
    """OpenAI (or compatible) key: /describe writes with GPT; empty: BLIP caption + templates
    + opus-mt."""
    openai_base_url: str | None = None
    """An OpenAI-compatible server; empty: OpenAI's."""
    openai_model: str = "gpt-4o"
    """The GPT model /describe asks."""
    openai_timeout_s: float = Field(30.0, ge=0.1)
    """Seconds one GPT request may take; 429/5xx/timeouts are retried (3 attempts), then the
    description is made locally and says so."""
    describe_gpt_language: Annotated[Literal["ru", "en"], Lower] = "ru"
    """ru: GPT writes the Russian text itself; en: GPT writes English, opus-mt-en-ru
    translates."""


def _default(name: str) -> Any:
    """The declared default of ServiceSettings' field `name` (a secret's as plain text)."""
    value = ServiceSettings.model_fields[name].default
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@dataclass(frozen=True)
class ServiceConfig:
    """The services' view of the settings: defaults from `ServiceSettings`, `device`
    resolved (never "auto"), a few fields that are no setting (preload, features_dir)."""

    weights_dir: Path
    device: str = "cpu"  # resolved (services.device.resolve_device), never "auto"
    queue_max_size: int = _default("queue_max_size")
    queue_max_per_user: int = _default("queue_max_per_user")
    tag_top_k: int = _default("tag_top_k")
    tag_min_probability: float | None = _default("tag_min_probability")
    background_steps: int = _default("background_steps")
    sam_model: str | None = _default("sam_model")
    preload: bool = False  # load every available model when the worker starts
    max_pixels: int = _default("max_pixels")
    # /describe: the GPT path is on when a key is given (never printed: repr=False)
    openai_api_key: str = field(default=_default("openai_api_key"), repr=False)
    openai_base_url: str | None = _default("openai_base_url")
    openai_model: str = _default("openai_model")
    openai_timeout_s: float = _default("openai_timeout_s")
    openai_backoff_s: float = 1.0
    describe_gpt_language: str = _default("describe_gpt_language")
    edit_steps: int = _default("edit_steps")
    edit_guidance: float = _default("edit_guidance")
    edit_image_guidance: float = _default("edit_image_guidance")
    edit_max_side: int = _default("edit_max_side")
    worker: str = _default("model_worker")  # MODEL_WORKER: "process" or "thread"
    batch_window_ms: float = _default("batch_window_ms")
    worker_threads: int = _default("worker_threads")
    result_cache: bool = _default("result_cache")
    features_dir: Path | None = None  # CLIP/ISNet/SAM features per photo; None: not kept
    gpu_memory_budget_gb: float = _default("gpu_memory_budget_gb")
    cpu_memory_budget_gb: float = _default("cpu_memory_budget_gb")
    translation_runtime: str = _default("translation_runtime")
    clip_runtime: str = _default("clip_runtime")
    isnet_runtime: str = _default("isnet_runtime")
    #: SERVICE_BACKEND: "local" (the worker above) or redis://host:port/db (taskiq workers)
    backend: str = field(default=_default("service_backend"), repr=False)
    redis_visibility_s: float = _default("redis_visibility_s")
    shared_dir: Path | None = _default("shared_dir")


#: ServiceConfig's name of a ServiceSettings field where the two differ
RENAMED = {"model_worker": "worker", "service_backend": "backend"}
