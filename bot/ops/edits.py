"""/night, /tulips and /edit: instruct-pix2pix changes one thing and keeps the room or the
product (services/operations/edit.py); a preset or the user's own instruction."""

from __future__ import annotations

import argparse
import html
from typing import TYPE_CHECKING, Any

from bot.command_parsing import ParsedCommand
from bot.ops.spec import ASK, CaptionRenderer, CliFlag, OpSpec, SetAction
from bot.settings import SettingsError
from bot.texts import t
from services.edit_presets import load_presets
from services.operations import Op

if TYPE_CHECKING:
    from bot.storage import User
    from services.config import ServiceConfig


def parse_instruction(op: Op, args: str) -> ParsedCommand:
    """`/edit add a vase` or `/edit preset:starry`; nothing after it: ask for it."""
    if not args:
        return ParsedCommand(op, problem="edit.ask")
    if args.lower().startswith("preset:"):
        name = args.split(":", 1)[1].strip().lower()
        if name not in load_presets():
            return ParsedCommand(op, {"value": name}, problem="edit.bad_preset")
        return ParsedCommand(op, {"preset": name})
    return ParsedCommand(op, {"prompt": args[:300]})


def with_strength(
    params: dict[str, Any], user: User | None, config: ServiceConfig
) -> dict[str, Any]:
    """/settings' edit strength (gentle, normal, strong)."""
    if user is not None and user.edit_strength:
        params.setdefault("strength", user.edit_strength)
    return params


def _share_percent(share: float) -> str:
    percent = share * 100
    if 0 < percent < 1:
        return "&lt;1"
    return str(round(percent))


#: each edit's name (its spec's label)
EDIT_LABEL_KEYS = {Op.NIGHT: "op.night", Op.TULIPS: "op.tulips", Op.EDIT: "op.edit"}


def edit_caption(op: Op) -> CaptionRenderer:
    """Caption of an instruct-pix2pix result: what share changed, the instruction, the seed."""

    def render(facts: dict[str, Any], lang: str) -> str:
        name = t(lang, EDIT_LABEL_KEYS[op])
        preset = facts.get("preset")
        if preset and op == Op.EDIT:  # night and tulips are presets named by the op
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


# ---- vitrina process: --night, --tulips, --edit PROMPT | --preset NAME, --seed, --steps


def _seeded(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    if args.steps is not None and not 1 <= args.steps <= 100:
        raise SettingsError("--steps must be between 1 and 100")
    chosen = (("seed", args.seed), ("steps", args.steps))
    return params | {key: value for key, value in chosen if value is not None}


def _preset_flag(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument(f"--{name}", action="store_true")


def _preset_params(name: str) -> CliFlag:
    return CliFlag(
        lambda parser: _preset_flag(parser, name),
        lambda args: _seeded(args, {}) if getattr(args, name) else None,
    )


def _add_edit_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edit", metavar="PROMPT", help="an instruction, e.g. 'add a vase'")
    parser.add_argument("--preset", metavar="NAME", help="a named edit (edit_presets.tsv)")
    parser.add_argument("--seed", type=int, default=None, help="edits: same seed, same result")
    parser.add_argument("--steps", type=int, default=None, help="edits: denoising steps")


def _edit_params(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.edit and args.preset:
        raise SettingsError("--edit and --preset are one edit each: give one of them")
    if args.edit:
        return _seeded(args, {"prompt": args.edit})
    if args.preset:
        if args.preset.lower() not in load_presets():
            known = ", ".join(load_presets())
            raise SettingsError(f"--preset: unknown preset {args.preset!r}; known: {known}")
        return _seeded(args, {"preset": args.preset.lower()})
    return None


SPECS = (
    OpSpec(
        Op.NIGHT,
        label_key=EDIT_LABEL_KEYS[Op.NIGHT],
        commands=("night",),
        menu_key="menu.night",
        help_key="help.night",  # with /tulips: one line of /help
        fill_params=with_strength,
        seed_per_set=True,
        photo_button=2,
        caption=edit_caption(Op.NIGHT),
        set_actions=(SetAction("night", label_key="op.night", position=4, op=Op.NIGHT),),
        cli=_preset_params("night"),
    ),
    OpSpec(
        Op.TULIPS,
        label_key=EDIT_LABEL_KEYS[Op.TULIPS],
        commands=("tulips",),
        menu_key="menu.tulips",
        fill_params=with_strength,
        seed_per_set=True,
        photo_button=3,
        caption=edit_caption(Op.TULIPS),
        cli=_preset_params("tulips"),
    ),
    OpSpec(
        Op.EDIT,
        label_key=EDIT_LABEL_KEYS[Op.EDIT],
        commands=("edit",),
        menu_key="menu.edit",
        help_key="help.edit",
        parse=parse_instruction,
        fill_params=with_strength,
        seed_per_set=True,
        photo_button=6,
        photo_step=ASK,
        caption=edit_caption(Op.EDIT),
        set_actions=(SetAction("edit", label_key="op.edit", position=5, op=Op.EDIT, step=ASK),),
        cli=CliFlag(_add_edit_flags, _edit_params),
    ),
)
