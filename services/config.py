"""What the service layer is told: one frozen `ServiceConfig`, built from the bot's settings
(`bot.settings.Settings.service_config`) or by a test. Cheap to import: no model library."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServiceConfig:
    weights_dir: Path
    device: str = "cpu"
    queue_max_size: int = 200
    queue_max_per_user: int = 20
    tag_top_k: int = 5
    tag_min_probability: float | None = None
    background_steps: int = 25  # diffusion steps of a generated background
    sam_model: str | None = None  # SAM_MODEL: forces vit_h / vit_l / vit_b for the cut
    preload: bool = False  # load every available model when the worker starts
    max_pixels: int = 50_000_000  # the intake gate's pixel budget (MAX_PIXELS)
    # /describe: the GPT path is on when a key is given (never printed: repr=False)
    openai_api_key: str = field(default="", repr=False)
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o"
    openai_timeout_s: float = 30.0
    openai_backoff_s: float = 1.0
    describe_gpt_language: str = "ru"  # "ru": GPT writes Russian; "en": English + opus-mt
    edit_steps: int = 20
    edit_guidance: float = 7.5
    edit_image_guidance: float = 1.5
    edit_max_side: int = 512  # the model's working size: long side, a multiple of 8
    worker: str = "thread"  # MODEL_WORKER: "process" (the bot's default) or "thread"
    batch_window_ms: float = 0.0  # BATCH_WINDOW_MS: how long a batch waits for a burst
    worker_threads: int = 0  # WORKER_THREADS: torch CPU threads of a worker process; 0 = auto
    # Result cache and per-photo features (issue 9, P5)
    result_cache: bool = True  # RESULT_CACHE: a repeated job is answered from storage
    features_dir: Path | None = None  # CLIP/ISNet/SAM features per photo; None: not kept
    # memory the models may hold (GB; 0 = no limit): least recently used ones are unloaded
    gpu_memory_budget_gb: float = 0.0  # GPU_MEMORY_BUDGET_GB: models on CUDA
    cpu_memory_budget_gb: float = 0.0  # CPU_MEMORY_BUDGET_GB: models on the CPU, in RAM
    # CPU runtimes (services/runtimes.py): auto = the converted, checked folder on the CPU
    translation_runtime: str = "auto"  # auto | transformers | ctranslate2
    clip_runtime: str = "auto"  # auto | torch | onnx
    #: SERVICE_BACKEND: "local" (the worker above) or redis://host:port/db (taskiq workers)
    backend: str = field(default="local", repr=False)  # a redis:// URL may hold a password
    redis_visibility_s: float = 60.0  # REDIS_VISIBILITY_S: a silent worker's job moves on
    shared_dir: Path | None = None  # SHARED_DIR: photos and result images travel through it
