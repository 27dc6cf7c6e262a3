"""The checks of `vitrina doctor`: each returns lines (✓ works, ✗ does not, – not checked or
not used); a line that ``blocks`` means the bot cannot start. Network checks have short
timeouts and say so when they cannot reach anything: offline is not a failure of ours."""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.settings import Settings

OK, BAD, SKIP = "✓", "✗", "–"
GIB = 1 << 30
#: Free space below which a folder cannot take what the bot writes (photos, results, weights).
MIN_FREE = {"DATABASE_PATH": 1 * GIB, "WEIGHTS_DIR": 2 * GIB}
FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),)


@dataclass(frozen=True)
class Line:
    mark: str
    name: str
    detail: str
    blocks: bool = False  # the bot cannot start while this is so

    def __str__(self) -> str:
        return f"{self.mark} {self.name}: {self.detail}"


def python_line() -> Line:
    return Line(OK, "Python", f"{platform.python_version()} ({platform.python_implementation()})")


def torch_lines(settings: Settings) -> list[Line]:
    try:
        import torch
    except Exception as exc:  # a broken install is a finding
        return [Line(BAD, "torch", f"cannot import: {exc}; run: make run (installs)", True)]
    lines = [Line(OK, "torch", torch.__version__)]
    if not torch.cuda.is_available():
        wanted = settings.device == "cuda"
        detail = "no GPU visible to torch: models run on the CPU"
        if wanted:
            detail = "DEVICE=cuda but torch sees no GPU; fix: DEVICE=auto or DEVICE=cpu"
        return [*lines, Line(BAD if wanted else SKIP, "CUDA", detail, wanted)]
    free, total = torch.cuda.mem_get_info()
    name = torch.cuda.get_device_name(0)
    detail = f"{name}, {free / GIB:.1f} of {total / GIB:.1f} GiB free (CUDA {torch.version.cuda})"
    return [*lines, Line(OK, "CUDA", detail)]


def feature_lines(settings: Settings) -> list[Line]:
    """Each operation with the model folders it uses: ready, missing, or tiny.

    Whether an operation is ready is its own rule (`missing_weights`), asked against a
    folder that links only the usable models (present and complete per the manifest): a
    cut needs ISNet *or* SAM, so one of them absent is named but does not stop the feature.
    """
    from services.weights import incomplete_reason, load_manifest, model_dir, read_marker
    from services.wiring import default_operations

    config = replace(settings.service_config(), features_dir=None)
    manifest = load_manifest()

    def folder(name: str) -> Path:
        return model_dir(settings.weights_dir, name)

    def unusable(name: str) -> str | None:
        spec = manifest.get(name)
        reason = incomplete_reason(folder(name), spec) if spec else None
        if spec is None and not folder(name).is_dir():
            reason = "folder missing"
        return reason

    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as usable:
        # Against an empty folder every model an operation uses counts as missing.
        every = _needs(default_operations(replace(config, weights_dir=Path(empty))))
        reasons = {name: unusable(name) for models in every.values() for name in models}
        for name, reason in reasons.items():
            if reason is None:
                model_dir(Path(usable), name).symlink_to(
                    folder(name).resolve(), target_is_directory=True
                )
        blocking = _needs(default_operations(replace(config, weights_dir=Path(usable))))
    lines = []
    if settings.service_backend.startswith(("redis://", "rediss://")):
        note = "SERVICE_BACKEND=redis://: the workers' weights count; run vitrina doctor there"
        lines.append(Line(SKIP, "weights", note))
    for op, models in every.items():
        label = f"feature {op}"
        missing = [f"{name} ({reasons.get(name, 'folder missing')})" for name in blocking[op]]
        if missing:
            names = " ".join(blocking[op])
            fill = f"vitrina weights download {names}"
            lines.append(Line(BAD, label, f"missing {', '.join(missing)}; run: {fill}"))
            continue
        present = [name for name in models if reasons[name] is None]
        absent = [name for name in models if reasons[name] is not None]
        detail = ", ".join(present) or "no model needed"
        if absent:  # an alternative the operation does without
            detail += f" (without {', '.join(absent)}: {reasons[absent[0]]}; optional)"
        tiny = [n for n in present if (read_marker(folder(n)) or {}).get("tiny")]
        if tiny:
            detail += f"; tiny random weights in {', '.join(tiny)}"
            lines.append(Line(SKIP, label, detail + " (outputs are noise)"))
        else:
            lines.append(Line(OK, label, detail))
    return lines


def _needs(operations: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each operation's missing model folders (and a generated background's, apart)."""
    needs = {op: list(operations[op].missing_weights()) for op in operations}
    needs["background (a prompt)"] = needs["background"] + list(
        operations["background"].missing_weights_for({"kind": "prompt"})
    )
    return needs


def tesseract_line() -> Line:
    from services.models.ocr_reader import LANGUAGES, TextReader

    reader = TextReader()
    reason = reader.unavailable_reason()
    if reason is not None:
        return Line(BAD, "Tesseract", f"{reason}; only text recognition is unavailable")
    return Line(OK, "Tesseract", f"{reader.version}, languages {'+'.join(LANGUAGES)}")


def fonts_line() -> Line:
    found = [str(f) for f in FONTS if f.is_file()]
    if found:
        return Line(OK, "fonts", ", ".join(found))
    return Line(SKIP, "fonts", "no DejaVu fonts (Debian: fonts-dejavu-core; the OCR tests draw)")


def gallery_fonts_line() -> Line:
    """/gallery draws with Inter, Roboto or Open Sans and Font Awesome's icons (Debian)."""
    from services.gallery.icons import font_path
    from services.gallery.style import missing_fonts

    missing = missing_fonts() + ([] if font_path() else ["fonts-font-awesome"])
    if not missing:
        return Line(OK, "gallery fonts", "Inter, Roboto, Open Sans, Font Awesome")
    fix = f"apt-get install {' '.join(missing)} (make run does)"
    return Line(BAD, "gallery fonts", f"missing {', '.join(missing)}; fix: {fix}")


def _get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) from settings
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def bot_token_line(settings: Settings, online: bool, timeout: float) -> Line:
    token = settings.bot_token.get()
    if not token:
        fix = "put BOT_TOKEN=<token from @BotFather> in env/.env"
        return Line(BAD, "BOT_TOKEN", f"not set; fix: {fix}", True)
    if not online:
        return Line(SKIP, "BOT_TOKEN", "set; not checked with Telegram (--offline)")
    base = settings.telegram_api_url.rstrip("/")
    try:
        status, body = _get(f"{base}/bot{token}/getMe", {}, timeout)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Line(SKIP, "BOT_TOKEN", f"set; not checked: Telegram unreachable ({reason})")
    if status == 200:
        me = json.loads(body).get("result", {})
        return Line(OK, "BOT_TOKEN", f"valid: @{me.get('username', '?')}")
    if status in (401, 404):
        fix = "get the token again from @BotFather and put it in env/.env"
        return Line(BAD, "BOT_TOKEN", f"rejected by Telegram ({status}); fix: {fix}", True)
    return Line(SKIP, "BOT_TOKEN", f"set; Telegram answered {status}, try again later")


def redis_line(settings: Settings, timeout: float) -> Line:
    url = settings.service_backend
    if not url.startswith(("redis://", "rediss://")):
        return Line(SKIP, "Redis", "not used (SERVICE_BACKEND=local)")
    import redis

    from services.worker.redis_url import redacted

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except Exception as exc:  # refused, DNS, TLS, auth: all say the same to the operator
        fix = "start redis-server there or fix SERVICE_BACKEND"
        reason = " ".join(str(exc).split())[:160]
        return Line(BAD, "Redis", f"{redacted(url)} unreachable ({reason}); fix: {fix}", True)
    finally:
        client.close()
    return Line(OK, "Redis", f"{redacted(url)} answers")


def openai_line(settings: Settings, online: bool, timeout: float) -> Line:
    key = settings.openai_api_key.get()
    if not key:
        return Line(SKIP, "OpenAI", "not set (descriptions use the local caption path)")
    if not online:
        return Line(SKIP, "OpenAI", "set; not checked (--offline)")
    base = (settings.openai_base_url or "https://api.openai.com/v1").rstrip("/")
    try:
        status, _ = _get(f"{base}/models", {"Authorization": f"Bearer {key}"}, timeout)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Line(BAD, "OpenAI", f"{base} unreachable ({reason}); the local path is used")
    if status == 200:
        return Line(OK, "OpenAI", f"{base} answers (model {settings.openai_model})")
    fix = "check OPENAI_API_KEY and OPENAI_BASE_URL"
    return Line(BAD, "OpenAI", f"{base} answered {status}; fix: {fix}")


def secret_key_line(settings: Settings) -> Line:
    """SECRET_KEY seals the sellers' marketplace tokens (/connect wb); without it /connect
    stores nothing (the bot still starts)."""
    if not settings.secret_key.get():
        fix = "set SECRET_KEY (e.g. `openssl rand -base64 32`) in env/.env"
        return Line(SKIP, "SECRET_KEY", f"not set: /connect wb stores no token; {fix}")
    return Line(OK, "SECRET_KEY", "set: marketplace tokens are stored encrypted")


def _existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def storage_lines(settings: Settings) -> list[Line]:
    """Free disk and write access where the database and the weights live."""
    lines = []
    places = {"DATABASE_PATH": settings.database_path.parent, "WEIGHTS_DIR": settings.weights_dir}
    for name, folder in places.items():
        blocks = name == "DATABASE_PATH"  # without weights the bot starts, without its db not
        anchor = _existing(folder)
        free = shutil.disk_usage(anchor).free
        low = free < MIN_FREE[name]
        detail = f"{free / GIB:.1f} GiB free at {anchor}"
        if low:
            detail += f"; needs {MIN_FREE[name] / GIB:.0f} GiB: free some space"
        lines.append(Line(BAD if low else OK, f"disk for {name}", detail, blocks and low))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder):
                pass
        except OSError as exc:
            fix = f"make {folder} writable by this user or point {name} elsewhere"
            detail = f"{exc.strerror}: {folder}; fix: {fix}"
            lines.append(Line(BAD, f"write {name}", detail, blocks))
        else:
            lines.append(Line(OK, f"write {name}", str(folder)))
    return lines
