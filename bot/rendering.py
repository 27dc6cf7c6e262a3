"""How a finished job's result is shown to the user and kept in storage."""

from __future__ import annotations

import dataclasses
import html
import secrets
from collections.abc import Callable
from typing import Any

from bot import background_requests, check_rendering
from bot.texts import DOMAIN_KEYS, op_label, t
from services.describer.result import DescriptionResult
from services.edit_presets import load_presets
from services.marketplace.summary import CheckSummary
from services.models.clip import Tag, TagResult
from services.operations import EDIT_OPS

#: op -> caption of its image result from the stored facts. Ops not listed get the default.
CaptionRenderer = Callable[[dict[str, Any], str], str]
IMAGE_CAPTIONS: dict[str, CaptionRenderer] = {
    "background": background_requests.caption,
    "clean": check_rendering.clean_caption,
    "fix": check_rendering.fix_caption,
}


#: A button under a result -> the job it asks for: (op, job params, result facts) -> (op,
#: params). "again" is shared by every image op; an op adds its own (e.g. "wrong object").
#: None = nothing to ask for (the button answers "result.<action>_none").
FollowUp = Callable[[str, dict[str, Any], dict[str, Any]], tuple[str, dict[str, Any]] | None]


def _again(op: str, params: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The same job with a new seed."""
    return op, {**params, "seed": secrets.randbelow(2**31)}


def _next_variant(
    op: str, params: dict[str, Any], facts: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The same description job asking for the next text variant."""
    return op, {**params, "variant": int(facts.get("variant", params.get("variant", 0))) + 1}


FOLLOW_UPS: dict[str, FollowUp] = {
    "again": _again,
    "variant": _next_variant,
    "wrong": background_requests.wrong_object,
    "card": background_requests.card,
}


def _share_percent(share: float) -> str:
    percent = share * 100
    if 0 < percent < 1:
        return "&lt;1"
    return str(round(percent))


def edit_caption(op: str) -> CaptionRenderer:
    """Caption of an instruct-pix2pix result: what share changed, the instruction, the seed."""

    def render(facts: dict[str, Any], lang: str) -> str:
        name = op_label(lang, op)
        preset = facts.get("preset")
        if preset and op == "edit":
            found = load_presets().get(str(preset))
            label = (found.ru if lang == "ru" else found.en) if found else str(preset)
            name = f"{name} ({html.escape(label)})"
        share = _share_percent(float(facts.get("changed_share", 0.0)))
        lines = [t(lang, "edit.caption", op=name, percent=share)]
        if not preset:
            said = str(facts.get("instruction") or facts.get("prompt") or "")
            lines.append(f"«{html.escape(said[:300])}»")
        seed, steps = facts.get("seed"), facts.get("steps")
        lines.append(t(lang, "edit.caption_seed", seed=seed, steps=steps))
        if facts.get("oom_retry"):
            width, height = facts.get("working_size") or (0, 0)
            lines.append(t(lang, "edit.oom", size=f"{width}×{height}"))
        return "\n".join(lines)

    return render


for _op in EDIT_OPS:
    IMAGE_CAPTIONS[_op] = edit_caption(_op)


def result_payload(result: Any) -> tuple[str, dict[str, Any]]:
    """(kind, JSON-able payload) for the results table (image results are stored by jobs)."""
    if isinstance(result, TagResult):
        return "tags", dataclasses.asdict(result)
    if isinstance(result, DescriptionResult):
        return "description", dataclasses.asdict(result)
    if isinstance(result, CheckSummary):
        return "check", result.to_payload()
    raise TypeError(f"no storage format for {type(result).__name__}")


def render_caption(op: str, facts: dict[str, Any], lang: str) -> str:
    """The caption under an image result; past Telegram's 1024 characters the delivery
    sends the rest as a message (`check_rendering.split_caption`)."""
    renderer = IMAGE_CAPTIONS.get(op)
    text = renderer(facts, lang) if renderer else t(lang, "result.image", op=op_label(lang, op))
    return text[: 2 * TELEGRAM_TEXT_LIMIT]


def _percent(probability: float) -> int:
    return max(1, round(probability * 100)) if probability > 0 else 0


def render_tags(result: TagResult, lang: str) -> str:
    title = t(lang, "tags.title", domain=t(lang, DOMAIN_KEYS[result.domain]))
    if not result.tags and not result.attributes:
        return f"{title}\n{t(lang, 'tags.empty')}"
    lines = [title]
    lines += [
        t(
            lang,
            "tags.line",
            ru=html.escape(tag.ru),
            en=html.escape(tag.en),
            percent=_percent(tag.probability),
        )
        for tag in result.tags
    ]
    if result.attributes:
        described = " · ".join(
            f"{html.escape(a.ru)} — {html.escape(a.en)} ({_percent(a.probability)}%)"
            for a in result.attributes
        )
        lines.append(t(lang, "tags.attributes", attributes=described))
    words = [tag.ru for tag in (*result.tags, *result.attributes)]
    hashtags = " ".join("#" + word.replace(" ", "_").replace("-", "_") for word in words)
    return "\n".join([*lines, "", html.escape(hashtags)])


TELEGRAM_TEXT_LIMIT = 4096


def _fit(render: Callable[[int], str]) -> str:
    """``render(limit)`` with fields cut to ``limit`` characters, tightened until it fits."""
    limit = 1000
    text = render(limit)
    while len(text) > TELEGRAM_TEXT_LIMIT and limit > 20:
        limit //= 2
        text = render(limit)
    return text[:TELEGRAM_TEXT_LIMIT]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _copy_html(title: str, benefits: list[str], closing: str, limit: int) -> str:
    lines = [f"<b>{html.escape(_cut(title, limit), quote=False)}</b>", ""]
    lines += [f"• {html.escape(_cut(line, limit), quote=False)}" for line in benefits]
    return "\n".join([*lines, "", html.escape(_cut(closing, limit), quote=False)])


def _path_note(path: str, lang: str) -> str:
    if path == "gpt":
        return t(lang, "describe.by_gpt")
    if path.startswith("local (GPT failed"):
        reason = path.removeprefix("local (GPT failed:").rstrip(")").strip()
        return t(lang, "describe.gpt_failed", reason=html.escape(reason))
    return t(lang, "describe.by_local")


def render_description(payload: dict[str, Any], lang: str) -> str:
    """The Russian text (a stored payload or ``dataclasses.asdict`` of the result)."""
    note = _path_note(str(payload.get("path", "local")), lang)
    return _fit(
        lambda limit: (
            _copy_html(payload["title"], list(payload["benefits"]), payload["closing"], limit)
            + f"\n\n<i>{note}</i>"
        )
    )


def render_english(payload: dict[str, Any], lang: str) -> str:
    english = payload["english"]
    return _fit(
        lambda limit: (
            t(lang, "describe.english_head")
            + "\n\n"
            + _copy_html(english["title"], list(english["benefits"]), english["closing"], limit)
        )
    )


def render_copy_ready(payload: dict[str, Any]) -> str:
    """Plain lines in a <pre> block (Telegram copies it with one tap) for a marketplace form."""
    lines = [payload["title"], *payload["benefits"], payload["closing"]]
    return _fit(
        lambda limit: (
            "<pre>"
            + html.escape("\n".join(_cut(line, limit) for line in lines), quote=False)
            + "</pre>"
        )
    )


def render_stored(kind: str, payload: dict[str, Any], lang: str) -> str | None:
    """A stored text result rendered again ("Show again"); None if the kind is unknown."""
    if kind == "tags":

        def tags(items: list[dict[str, Any]]) -> tuple[Tag, ...]:
            return tuple(Tag(**item) for item in items)

        result = TagResult(payload["domain"], tags(payload["tags"]), tags(payload["attributes"]))
        return render_tags(result, lang)
    if kind == "description":
        return render_description(payload, lang)
    if kind == "check":
        return check_rendering.render_check(CheckSummary.from_payload(payload), lang)
    return None


def render_text(result: Any, lang: str) -> str:
    if isinstance(result, TagResult):
        return render_tags(result, lang)
    if isinstance(result, DescriptionResult):
        return render_description(dataclasses.asdict(result), lang)
    if isinstance(result, CheckSummary):
        return check_rendering.render_check(result, lang)
    raise TypeError(f"no renderer for {type(result).__name__}")
