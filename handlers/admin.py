"""Commands for the operators in ADMIN_IDS."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.settings import Settings
from bot.storage import Storage
from bot.texts import t
from services.scheduler import ModelServices


async def is_admin(message: Message, settings: Settings) -> bool:
    return message.from_user is not None and settings.is_admin(message.from_user.id)


async def stats(message: Message, db: Storage, services: ModelServices, lang: str) -> None:
    counts = await db.counts(datetime.now(UTC) - timedelta(days=1))
    jobs = ", ".join(f"{status} {n}" for status, n in sorted(counts["jobs"].items())) or "0"
    features = ", ".join(
        f"{op} {'✓' if missing == [] else ('—' if missing is None else '✗')}"
        for op, missing in services.availability().items()
    )
    resident = await services.resident_models()
    loaded = [m for m in resident or [] if m.loaded]
    models = ", ".join(f"{m.name} {_size(m.bytes)} {m.device}" for m in loaded)
    if resident is None:
        models = "?"  # the worker is inside a load or a cut and did not answer in time
    unloads = sum(m.unloads for m in resident or [])
    text = t(
        lang,
        "admin.stats",
        queued=services.queued,
        jobs=jobs,
        users=counts["users"],
        photos=counts["photos"],
        features=features,
    )
    text += "\n" + t(lang, "admin.models", models=models or "—", unloads=unloads)
    workers = services.workers()
    if workers is not None:  # SERVICE_BACKEND=redis://: the machines serving the jobs
        lines = "\n".join(_worker_line(worker) for worker in workers)
        if workers:
            text += "\n" + t(lang, "admin.workers", count=len(workers), workers=lines)
        else:
            text += "\n" + t(lang, "admin.no_workers")
    await message.answer(text)


def _worker_line(worker: dict[str, Any]) -> str:
    """One heartbeat: id · device · free memory · what runs now · batches served · the
    models it holds."""
    free = worker.get("free_bytes")
    busy = ", ".join(op for op in (worker.get("busy") or {}).values() if op) or "idle"
    served = ", ".join(f"{op} {n}" for op, n in sorted((worker.get("served") or {}).items()))
    models = ", ".join(
        f"{m.get('name')} {_size(int(m.get('bytes') or 0))}" for m in worker.get("models") or ()
    )
    parts = [str(worker.get("id")), str(worker.get("device"))]
    if free is not None:
        parts.append(f"{free / 2**30:.1f} GB free")
    parts += [busy, served or "—", models or "—"]
    return "• " + html.escape(" · ".join(parts))


def _size(size: int) -> str:
    return f"{size / 2**30:.2f} GB" if size >= 2**30 else f"{size / 2**20:.1f} MB"


def get_router() -> Router:
    router = Router(name=__name__)
    router.message.register(stats, Command("stats"), is_admin)
    return router
