"""Edits: working sizes, the structure-kept blend (exact pixels), presets, the pix2pix editor
and the night/tulips/edit operations on tiny random weights."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.edit_presets import load_presets
from services.errors import BadImage, JobCancelled
from services.imaging import structure
from services.imaging.resize import smaller, to_size, to_working, working_size
from services.jobs import JobRequest
from services.models.pix2pix import Pix2PixEditor
from services.operations import RunContext
from services.operations.edit import MAX_PROMPT_CHARS, EditDefaults, EditOperation
from services.results import ImageResult


def _photo(
    photos: dict[str, bytes], name: str, size: tuple[int, int] | None = None
) -> Image.Image:
    image = Image.open(io.BytesIO(photos[name])).convert("RGB")
    return image.resize(size, Image.Resampling.LANCZOS) if size else image


# ---- working sizes


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1500, 400), (512, 136)),
        ((401, 999), (208, 512)),
        ((4000, 3000), (512, 384)),
        ((333, 333), (512, 512)),
        ((8000, 200), (512, 64)),
    ],
)
def test_working_size_keeps_the_aspect_in_multiples_of_8(size, expected):
    assert working_size(size, 512) == expected
    w, h = working_size(size, 516)  # not a multiple of 8: rounded down
    assert w % 8 == 0 and h % 8 == 0 and max(w, h) == 512


def test_back_to_the_original_size_and_smaller_retry_sizes():
    image = Image.new("RGB", (401, 999), (10, 20, 30))
    small = to_working(image, 64)
    assert small.size == (24, 64) or small.size == (64, 64) or small.size[1] == 64
    assert to_size(small, image.size).size == (401, 999)
    assert smaller(512) == 384 and smaller(384) == 288 and smaller(128) == 128


# ---- structure kept: exact pixels


def _square_edit(original: Image.Image, max_side: int = 96) -> tuple[Image.Image, Image.Image]:
    working = to_working(original, max_side)
    edited = working.copy()
    w, h = edited.size
    ImageDraw.Draw(edited).rectangle((w // 3, h // 3, w // 2, h // 2), fill=(250, 10, 200))
    return working, edited


def test_outside_the_changed_region_the_original_is_exact(photos):
    original = _photo(photos, "coffee", (301, 199))  # odd sizes
    working, edited = _square_edit(original)
    kept = structure.keep_structure(original, working, edited)
    out, orig = np.asarray(kept.image), np.asarray(original)
    mask = np.asarray(kept.mask)
    assert kept.image.size == original.size and mask.shape == orig.shape[:2]
    outside = mask == 0
    assert outside.mean() > 0.85
    assert np.array_equal(out[outside], orig[outside])
    # the square is in: its centre is the edit's colour
    cy, cx = int(original.height * 5 / 12), int(original.width * 5 / 12)
    assert mask[cy, cx] == 255 and tuple(out[cy, cx]) == (250, 10, 200)
    assert 0.02 < kept.changed_share < 0.2


def test_an_identity_edit_and_specks_change_nothing(photos):
    original = _photo(photos, "chelsea", (157, 103))
    working = to_working(original, 64)
    assert structure.keep_structure(original, working, working.copy()).changed_share == 0.0
    specks = np.asarray(working).copy()
    specks[::9, ::11] = 255 - specks[::9, ::11]  # isolated single pixels: noise, not an edit
    kept = structure.keep_structure(original, working, Image.fromarray(specks))
    assert kept.changed_share == 0.0 and np.array_equal(
        np.asarray(kept.image), np.asarray(original)
    )


def test_blend_is_exact_at_both_ends():
    a = Image.new("RGB", (5, 3), (1, 2, 3))
    b = Image.new("RGB", (5, 3), (200, 100, 50))
    mask = Image.new("L", (5, 3), 0)
    mask.putpixel((2, 1), 255)
    mask.putpixel((3, 1), 128)
    out = np.asarray(structure.blend(a, b, mask))
    assert tuple(out[0, 0]) == (1, 2, 3) and tuple(out[1, 2]) == (200, 100, 50)
    assert tuple(out[1, 3]) == (101, 51, 27)  # (3 * 127 + 50 * 128 + 127) // 255 = 27


def test_full_frame_detail_transfer_keeps_edges_sharp(photos):
    original = _photo(photos, "astronaut", (320, 320))
    working = to_working(original, 64)
    naive = to_size(working, original.size)
    kept = structure.full_frame(original, working, working.copy())
    error = np.abs(np.asarray(kept.image, float) - np.asarray(original, float)).mean()
    naive_error = np.abs(np.asarray(naive, float) - np.asarray(original, float)).mean()
    assert error < naive_error / 3  # the fine detail came back from the original
    assert kept.changed_share == 0.0
    darker = Image.fromarray((np.asarray(working) // 3).astype(np.uint8))  # a "night" edit
    night = structure.full_frame(original, working, darker)
    assert np.asarray(night.image).mean() < np.asarray(original).mean() / 2
    assert night.changed_share > 0.5


# ---- presets


def test_presets_file_has_the_named_edits():
    presets = load_presets()
    assert {"night", "tulips", "starry", "snow", "coffee", "pink_linen", "sunset"} <= set(presets)
    assert not presets["night"].keep_structure and presets["tulips"].keep_structure
    assert all(p.prompt and p.ru and p.en for p in presets.values())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("night\tн\tn\tmake it night\t7.5\t1.5\t\tmaybe", "keep_structure"),
        ("night\tн\tn\t\t7.5\t1.5\t\tno", "no prompt"),
        ("Night\tн\tn\tp\t7.5\t1.5\t\tno", "lowercase"),
        ("night\tн\tn\tp\tmany\t1.5\t\tno", "number"),
        ("night\tн\tn\tp\t7.5\t1.5\t\tno\nnight\tн\tn\tp\t7.5\t1.5\t\tno", "duplicate"),
    ],
)
def test_bad_presets_files_are_refused(tmp_path: Path, body: str, message: str):
    path = tmp_path / "presets.tsv"
    header = "name\tru\ten\tprompt\tguidance\timage_guidance\tsteps\tkeep_structure"
    path.write_text(f"# comment\n{header}\n{body}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_presets(path)


# ---- the editor and the operations (tiny random weights)


@pytest.fixture(scope="module")
def editor(tiny_weights: Path) -> Pix2PixEditor:
    editor = Pix2PixEditor(tiny_weights / "pix2pix", progress_interval_s=0.0)
    editor.load()
    return editor


def _context(cancel_after: int | None = None, counter: list[int] | None = None) -> RunContext:
    reports: list[tuple[float, int | None, int | None]] = []
    context = RunContext(
        report=lambda f, s, t: reports.append((f, s, t)),
        is_cancelled=lambda: cancel_after is not None and len(counter or []) >= cancel_after,
    )
    context.reports = reports  # type: ignore[attr-defined]
    return context


def _operation(editor: Pix2PixEditor, name: str = "edit", **kwargs: Any) -> EditOperation:
    defaults = EditDefaults(steps=2, max_side=kwargs.pop("max_side", 64))
    return EditOperation(name, editor, lambda: [], defaults, **kwargs)


def _request(tmp_path: Path, image: Image.Image, params: dict[str, Any], name: str = "p.png"):
    path = tmp_path / name
    image.save(path)
    return JobRequest("edit", 1, path, params)


def test_sdpa_attention_and_vae_slicing(editor):
    from diffusers.models.attention_processor import AttnProcessor2_0

    processors = editor.pipeline.unet.attn_processors.values()
    assert processors and all(isinstance(p, AttnProcessor2_0) for p in processors)
    assert editor.pipeline.vae.use_slicing


@pytest.mark.parametrize("size", [(151, 97), (375, 100), (134, 333)])  # odd; 1500x400, 401x999
def test_result_has_the_input_size(editor, photos, tmp_path, size):
    operation = _operation(editor, "night")
    request = _request(tmp_path, _photo(photos, "coffee", size), {"seed": 1})
    (result,) = operation.run([request], _context())
    assert isinstance(result, ImageResult) and result.image.size == size
    w, h = result.facts["working_size"]
    assert max(w, h) == 64 and w % 8 == 0 and h % 8 == 0
    assert result.facts["preset"] == "night" and result.facts["steps"] == 2
    assert 0.0 <= result.facts["changed_share"] <= 1.0 and not result.facts["oom_retry"]
    assert set(result.facts["timings"]) == {"load_s", "denoise_s", "decode_s", "blend_s"}


def test_same_seed_same_image_and_batches_match_single_runs(editor, photos, tmp_path):
    operation = _operation(editor, "tulips", max_side=128)
    image = _photo(photos, "chelsea", (121, 83))
    requests = [
        _request(tmp_path, image, {"seed": seed}, f"{index}.png")
        for index, seed in enumerate((5, 5, 6, 7))
    ]
    assert len({operation.batch_key(r) for r in requests}) == 1
    other = _request(tmp_path, _photo(photos, "chelsea", (83, 121)), {"seed": 5}, "tall.png")
    assert operation.batch_key(other) != operation.batch_key(requests[0])
    batch = operation.run(requests, _context())
    pixels = [np.asarray(result.image) for result in batch]
    assert np.array_equal(pixels[0], pixels[1]) and not np.array_equal(pixels[0], pixels[2])
    (alone,) = operation.run([requests[3]], _context())
    assert np.abs(np.asarray(alone.image, int) - pixels[3].astype(int)).max() <= 1


def test_one_unreadable_photo_fails_alone(editor, photos, tmp_path):
    operation = _operation(editor, "night")
    good = _request(tmp_path, _photo(photos, "coffee", (99, 66)), {"seed": 1})
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photos["coffee"][:200])
    outcomes = operation.run([good, JobRequest("night", 1, broken, {})], _context())
    assert isinstance(outcomes[0], ImageResult) and isinstance(outcomes[1], BadImage)


def test_russian_and_long_instructions_are_bounded(editor, photos, tmp_path):
    seen: list[tuple[int, ...]] = []
    hook = editor.pipeline.text_encoder.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(
            tuple((kwargs.get("input_ids") or args[0]).shape)
        ),
        with_kwargs=True,
    )
    translated: list[str] = []

    def translate(text: str) -> str:
        translated.append(text)
        return "add a vase of tulips " * 40  # even a translator's output is bounded

    try:
        image = _photo(photos, "coffee", (90, 60))
        plain = _operation(editor)
        (ru,) = plain.run(
            [_request(tmp_path, image, {"prompt": "добавь вазу с тюльпанами"})], _context()
        )
        assert ru.facts["prompt"] == "добавь вазу с тюльпанами"  # no translator: as written
        long = "сделай ночь и зажги лампы, " * 40
        assert len(long) > 1000
        (bounded,) = plain.run([_request(tmp_path, image, {"prompt": long})], _context())
        assert len(bounded.facts["prompt"]) <= MAX_PROMPT_CHARS
        with_translator = _operation(editor, translate_to_english=translate)
        (en,) = with_translator.run([_request(tmp_path, image, {"prompt": long})], _context())
        (latin,) = with_translator.run(
            [_request(tmp_path, image, {"prompt": "add a vase"})], _context()
        )
    finally:
        hook.remove()
    assert len(translated) == 1 and len(translated[0]) <= MAX_PROMPT_CHARS
    assert en.facts["prompt"].startswith("add a vase of tulips")
    assert (
        len(en.facts["prompt"]) <= MAX_PROMPT_CHARS
        and en.facts["instruction"] != en.facts["prompt"]
    )
    assert latin.facts["prompt"] == "add a vase"
    assert seen and all(shape[-1] <= 77 for shape in seen)  # the tokenizer's bound


def test_cancel_stops_the_loop_within_a_step(editor, photos):
    calls: list[int] = []
    hook = editor.pipeline.unet.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        with pytest.raises(JobCancelled, match="after step 2/20"):
            editor.edit(
                [_photo(photos, "coffee", (80, 60))],
                "make it night",
                [1],
                steps=20,
                max_side=64,
                cancelled=lambda: len(calls) >= 2,
            )
    finally:
        hook.remove()
    assert len(calls) == 2  # 18 of 20 steps never ran


def test_progress_reports_are_throttled(tiny_weights, photos, editor):
    image = [_photo(photos, "coffee", (80, 60))]
    every: list[tuple[float, int, int]] = []
    editor.edit(
        image, "night", [1], steps=6, max_side=64, progress=lambda f, s, t: every.append((f, s, t))
    )
    assert [(step, total) for _, step, total in every] == [(i, 6) for i in range(1, 7)]
    slow = Pix2PixEditor(tiny_weights / "pix2pix", progress_interval_s=60.0)
    slow._pipe, throttled = editor.pipeline, []
    slow.edit(
        image, "night", [1], steps=6, max_side=64, progress=lambda f, s, t: throttled.append(s)
    )
    assert throttled == [1, 6]  # the first, then only the last


def test_out_of_memory_retries_once_smaller(editor, photos, tmp_path):
    import torch

    raised: list[int] = []

    def out_of_memory(module: Any, args: Any) -> None:
        if not raised:
            raised.append(1)
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    hook = editor.pipeline.unet.register_forward_pre_hook(out_of_memory)
    try:
        operation = _operation(editor, "night", max_side=256)
        (result,) = operation.run(
            [_request(tmp_path, _photo(photos, "coffee", (150, 100)), {"seed": 2})], _context()
        )
    finally:
        hook.remove()
    assert raised and result.facts["oom_retry"] is True
    assert max(result.facts["working_size"]) == 192 and result.image.size == (150, 100)

    from bot.ops import caption as render_caption

    caption = render_caption("night", result.facts, "en")
    assert "Night: done." in caption and "ran out of memory" in caption and "192×" in caption


def test_unknown_preset_and_empty_edit_fail_cleanly(editor, photos, tmp_path):
    operation = _operation(editor)
    image = _photo(photos, "coffee", (64, 64))
    bad = operation.run([_request(tmp_path, image, {"preset": "volcano"})], _context())
    empty = operation.run([_request(tmp_path, image, {"prompt": "   "})], _context())
    assert "unknown edit preset" in str(bad[0]) and "needs a preset" in str(empty[0])


def test_missing_weights_name_the_folder(tmp_path):
    from services.errors import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="vitrina weights download"):
        Pix2PixEditor(tmp_path / "pix2pix").load()


# ---- a series without Telegram, and the settings


def test_process_a_folder_with_night_and_a_preset(tiny_weights, photos, tmp_path, monkeypatch):
    import json

    from bot.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    _photo(photos, "coffee", (151, 97)).save(folder / "coffee.jpg")
    _photo(photos, "chelsea", (67, 167)).save(folder / "chelsea.png")
    (folder / "broken.jpg").write_bytes(photos["coffee"][:100])
    for key, value in {
        "WEIGHTS_DIR": str(tiny_weights),
        "DEVICE": "cpu",
        "EDIT_MAX_SIDE": "64",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert (
        main(
            [
                "process",
                str(folder),
                "--night",
                "--preset",
                "coffee",
                "--seed",
                "4",
                "--steps",
                "2",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads((out / "results.json").read_text())
    assert len(rows) == 6 and sum(row["status"] == "failed" for row in rows) == 2
    for row in (r for r in rows if r["status"] == "done"):
        result = row["result"]
        assert result["seed"] == 4 and result["steps"] == 2
        with Image.open(row["output"]) as edited, Image.open(row["file"]) as source:
            assert edited.size == source.size
    assert {"coffee-night.png", "chelsea-edit.png"} <= {p.name for p in out.iterdir()}
    with Image.open(out / "contact-night.jpg") as sheet:
        assert sheet.size == (2 * 256 + 3 * 8, 2 * 256 + 3 * 8)  # 2 columns: originals, edits
    assert main(["process", str(folder), "--preset", "volcano", "-o", str(out)]) == 2


def test_edit_settings_are_checked():
    from bot.settings import SettingsError, settings_from_mapping

    settings = settings_from_mapping({"EDIT_STEPS": "8", "EDIT_MAX_SIDE": "640"})
    assert (settings.edit_steps, settings.edit_max_side, settings.edit_guidance) == (8, 640, 7.5)
    with pytest.raises(SettingsError, match="multiple of 8"):
        settings_from_mapping({"EDIT_MAX_SIDE": "500"})


async def test_four_edits_of_one_preset_and_size_run_as_one_batch(tiny_weights, photos, tmp_path):
    from services.config import ServiceConfig
    from services.scheduler import ModelServices

    path = tmp_path / "room.png"
    _photo(photos, "coffee", (97, 61)).save(path)
    config = ServiceConfig(tiny_weights, worker="thread", edit_steps=2, edit_max_side=64)
    async with ModelServices(config) as services:
        editor = services.operations["night"].editor
        editor.load()
        rows: list[int] = []
        hook = editor.pipeline.unet.register_forward_pre_hook(
            lambda module, args: rows.append(args[0].shape[0])
        )
        try:
            handles = [
                services.submit(JobRequest("night", user, path, {"seed": user}))
                for user in range(5)
            ]
            results = [await handle.result() for handle in handles]
        finally:
            hook.remove()
    assert all(r.image.size == (97, 61) for r in results)
    assert rows == [12, 12, 3, 3]  # 4 jobs x 3 guidance branches, 2 steps; then the fifth
