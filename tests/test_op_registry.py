"""The operation registry (bot/ops): every `Op` has a complete spec, the lists built from it
are consistent, and one operation lives in few files (issue 26's op-spread goal)."""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from pathlib import Path

import pytest

from bot import ops
from bot.app import bot_commands
from bot.cli.process import add_parser
from bot.i18n import catalogs
from bot.ops import BY_OP, SET_ACTIONS, SPECS, help_text, menu_commands
from services.operations import LIBRARY_OPS, Op

ROOT = Path(__file__).resolve().parents[1]


def _catalog_has(key: str) -> bool:
    i18n = catalogs()
    return all(i18n.gettext(key, locale=lang) != key for lang in ("ru", "en"))


@pytest.mark.parametrize("op", list(Op))
def test_every_op_has_a_complete_spec(op: Op) -> None:
    spec = BY_OP.get(op)
    assert spec is not None, f"{op}: no OpSpec in bot/ops (add it to SPECS)"
    assert spec.op is op
    assert spec.commands, f"{op}: no command runs it"
    assert spec.menu_key, f"{op}: no line in Telegram's menu"
    for key in (spec.label_key, spec.menu_key, spec.help_key):
        assert key is None or _catalog_has(key), f"{op}: {key!r} is in no catalog"
    assert spec.library == (op in LIBRARY_OPS)
    if not spec.library:  # a photo operation: parsed, and reachable from the CLI
        assert spec.cli is not None, f"{op}: no `vitrina process` flag"
        parsed = spec.parse(op, "")
        assert parsed.op == op


def test_the_lists_built_from_the_registry_are_consistent() -> None:
    words = [word for spec in SPECS for word in spec.commands]
    assert len(words) == len(set(words)), "a command word runs two operations"
    buttons = [spec.photo_button for spec in SPECS if spec.photo_button is not None]
    assert len(buttons) == len(set(buttons))
    keys = [action.key for action in SET_ACTIONS]
    assert len(keys) == len(set(keys))
    assert all(_catalog_has(action.label_key) for action in SET_ACTIONS)
    assert [spec.op for spec in ops.PHOTO_ACTIONS] == [
        Op.TAG, Op.NIGHT, Op.TULIPS, Op.BACKGROUND, Op.DESCRIBE, Op.EDIT, Op.CHECK, Op.GALLERY
    ]  # fmt: skip
    assert keys == ["tag", "background", "card", "night", "edit", "describe", "check", "fix"] + [
        "gallery",
        "order",
        "split",
    ]
    # a hotelier's set: no card backgrounds or galleries; its gallery's order instead
    hotel = [a.key for a in SET_ACTIONS if "hotel" in a.domains]
    assert hotel == ["tag", "night", "edit", "describe", "check", "fix", "order", "split"]
    product = [a.key for a in SET_ACTIONS if "product" in a.domains]
    assert "order" not in product


def test_the_menu_and_help_come_from_the_specs() -> None:
    commands = [command for command, _ in menu_commands()]
    assert commands[:9] == ["tag", "night", "tulips", "edit", "background", "describe"] + [
        "check",
        "clean",
        "fix",
    ]  # /fix was missing from the menu before the registry
    assert {"find", "groups", "history", "settings", "help", "forget_me"} <= set(commands)
    ru = {c.command: c.description for c in bot_commands("ru")}
    en = {c.command: c.description for c in bot_commands("en")}
    assert ru["tag"] == "Теги по фото" and en["tag"] == "Tags for the photo"
    text = help_text("en", domain="products")
    assert text.startswith("<b>What I can do</b>\n/tag")
    assert "/night — make it night · /tulips — add tulips" in text
    assert "(now: <b>products</b>)" in text
    for spec in SPECS:
        if spec.help_key:
            assert f"/{spec.commands[0]}" in text


def test_every_photo_op_has_a_process_flag() -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["process", "x.jpg", "--tag", "--night", "--check", "-o", "out"])
    from bot.cli.process import _ops

    assert list(_ops(args)) == ["tag", "night", "check"]
    assert _ops(args)["check"]["profile"]


def test_an_operation_lives_in_few_files() -> None:
    """The op-spread goal of issue 26: median <= 3 files, any op <= 6 (bot/ + handlers/)."""
    path = ROOT / "benchmarks" / "op_spread.py"
    spec = importlib.util.spec_from_file_location("op_spread", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counts = {op: len(files) for op, files in module.spread().items()}
    assert set(counts) == {op.value for op in Op}
    assert statistics.median(counts.values()) <= module.MEDIAN_GOAL, counts
    assert max(counts.values()) <= module.MAX_GOAL, counts
