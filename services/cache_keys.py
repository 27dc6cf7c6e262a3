"""The result cache's key, and what a machine's results depend on (its result identity).

A key is sha256 over the photo, the op, what the job's result depends on
(`Operation.cache_identity`), the installed revision of each model it uses, the device,
the runtimes and CACHE_VERSION. With Redis workers the revisions, device and runtimes are
the ones the live workers publish (`result_identity`, in their heartbeats).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from services.config import ServiceConfig
from services.weights.manifest import load_manifest
from services.weights.revision import ABSENT, model_revision

if TYPE_CHECKING:
    from services.operations import Operation
    from services.worker import Engine

log = logging.getLogger("vitrina.jobs")
#: Part of every result-cache key: bump when a change of code changes results.
CACHE_VERSION = 1
#: ServiceConfig fields a result depends on besides its params, models, device, runtimes
RESULT_SETTINGS = (
    "tag_top_k",
    "tag_min_probability",
    "background_steps",
    "sam_model",
    "describe_gpt_language",
    "edit_steps",
    "edit_guidance",
    "edit_image_guidance",
    "edit_max_side",
)


def result_settings(config: ServiceConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in RESULT_SETTINGS}


def result_identity(config: ServiceConfig, models: Iterable[str] | None = None) -> dict[str, Any]:
    """What a machine's results depend on besides the job: device, runtimes, settings and
    the installed revision of each model (`models`; default: every model of the manifest).
    A Redis worker publishes it; the bot's cache keys are made of it."""
    names = list(load_manifest()) if models is None else list(models)
    return {
        "device": config.device,
        "runtimes": [config.clip_runtime, config.translation_runtime, config.isnet_runtime],
        "settings": result_settings(config),
        "models": {name: model_revision(config.weights_dir, name) for name in names},
    }


def make_key(
    op: str, photo_sha256: str, identity: Mapping[str, Any], computes: Mapping[str, Any]
) -> str:
    """The key of `op` on this photo: `identity` is the operation's cache identity less its
    "models"; `computes` the result identity of whoever computes it."""
    blob = {
        "version": CACHE_VERSION,
        "op": op,
        "photo": photo_sha256,
        "params": dict(identity),
        "models": dict(computes["models"]),
        "device": computes["device"],
        "runtimes": computes["runtimes"],
    }
    text = json.dumps(blob, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class CacheKeys:
    """`ModelServices.cache_key`: the keys of one scheduler, from its config and engine."""

    def __init__(self, config: ServiceConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self._warned_settings: set[str] = set()  # ops whose workers run other settings

    def key(
        self, operation: Operation, params: Mapping[str, Any], photo_sha256: str
    ) -> str | None:
        """None: not cacheable (the operation says so, odd params, no one identity of the
        workers), or the cache is off. Cheap: a few ``stat`` calls, no model is loaded."""
        op = operation.name
        if not self.config.result_cache or not photo_sha256:
            return None
        try:
            identity = operation.cache_identity(params)
        except Exception as exc:  # odd params: run the job, the operation will say what's wrong
            log.debug("no cache key for %s %s: %s", op, dict(params), exc)
            return None
        if identity is None:
            return None
        identity = dict(identity)
        models = list(identity.pop("models", []))
        computes = self._who_computes(op, models)
        if computes is None:
            return None
        revisions = {name: computes["models"].get(name, ABSENT) for name in models}
        return make_key(op, photo_sha256, identity, {**computes, "models": revisions})

    def _who_computes(self, op: str, models: list[str]) -> dict[str, Any] | None:
        """What `op`'s results will be computed with: this machine's `result_identity`, or
        with Redis the one every live worker serving `op` publishes. None (not cacheable):
        no live worker, workers that differ, or settings that differ from the bot's own
        (the bot's operations describe a job by its settings: the key would lie)."""
        if self.engine.live_workers is None:  # the worker runs here
            return result_identity(self.config, models)
        computes = self.engine.result_identity(op)
        if computes is None:
            return None
        own = result_settings(self.config)
        if computes.get("settings") != own:
            if op not in self._warned_settings:
                self._warned_settings.add(op)
                differ = sorted(k for k in own if computes.get("settings", {}).get(k) != own[k])
                log.warning(
                    "the workers serving %s run with other settings than the bot (%s):"
                    " its results are not cached; give every machine the same env/.env",
                    op,
                    ", ".join(differ),
                )
            return None
        return computes
