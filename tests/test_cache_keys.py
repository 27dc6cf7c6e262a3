"""The result cache's key: model revisions, each operation's identity, and storage lookups."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from bot.storage import Storage
from services.config import ServiceConfig
from services.jobs import JobRequest
from services.scheduler import ModelServices
from services.weights.manifest import read_marker, write_marker
from services.weights.revision import ABSENT, model_revision

PHOTO = "a" * 64
OTHER = "b" * 64
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def weights(tiny_weights: Path, tmp_path: Path) -> Path:
    """A copy of the tiny weights this test may change."""
    folder = tmp_path / "weights"
    for name in ("clip", "isnet", "sam"):
        shutil.copytree(tiny_weights / name, folder / name)
    return folder


def services(weights: Path, **options: object) -> ModelServices:
    return ModelServices(ServiceConfig(weights_dir=weights, **{"worker": "thread", **options}))  # type: ignore[arg-type]


def test_revision_of_a_tiny_folder_is_a_fingerprint_that_follows_its_files(weights: Path):
    first = model_revision(weights, "clip")
    assert first.startswith("fp:") and model_revision(weights, "clip") == first
    config = weights / "clip" / "config.json"
    data = json.loads(config.read_text())
    data["logit_scale_init_value"] = 3.0
    config.write_text(json.dumps(data))  # rewritten in place: the folder's mtime stays
    assert model_revision(weights, "clip") not in (first, ABSENT)
    assert model_revision(weights, "no-such-model") == ABSENT


def test_revision_of_a_download_is_what_the_downloader_recorded(weights: Path):
    folder = weights / "clip"
    marker = read_marker(folder) or {}
    fields = {**marker, "tiny": False, "repo_id": "openai/clip", "complete": True}
    write_marker(folder, **fields, commit=COMMIT)
    assert model_revision(weights, "clip") == f"openai/clip@{COMMIT}"
    write_marker(folder, **fields, commit="f" * 40)  # another snapshot recorded
    assert model_revision(weights, "clip") == "openai/clip@" + "f" * 40
    write_marker(folder, **{**fields, "complete": False}, commit=COMMIT)  # unfinished
    assert model_revision(weights, "clip").startswith("fp:")
    npm = {**fields, "repo_id": "@imgly/data", "commit": None, "sha256": {"model.onnx": "ab"}}
    write_marker(weights / "isnet", **npm)
    isnet = model_revision(weights, "isnet")
    assert isnet.startswith("@imgly/data@sha256:")
    write_marker(weights / "isnet", **{**npm, "sha256": {"model.onnx": "cd"}})
    assert model_revision(weights, "isnet") != isnet


def test_tag_key_changes_with_every_param_the_photo_and_the_model(weights: Path):
    layer = services(weights)
    base = {"domain": "product"}
    key = layer.cache_key("tag", base, PHOTO)
    assert key is not None and len(key) == 64
    assert layer.cache_key("tag", dict(base), PHOTO) == key  # stable
    variants = [
        layer.cache_key("tag", {"domain": "hotel"}, PHOTO),
        layer.cache_key("tag", {**base, "top_k": 3}, PHOTO),
        layer.cache_key("tag", {**base, "min_probability": 0.2}, PHOTO),
        layer.cache_key("tag", base, OTHER),
        services(weights, tag_top_k=7).cache_key("tag", base, PHOTO),  # a setting counts
        services(weights, device="cuda").cache_key("tag", base, PHOTO),
    ]
    assert len({key, *variants}) == len(variants) + 1
    (weights / "clip" / "preprocessor_config.json").write_text("{}")  # another model file
    assert layer.cache_key("tag", base, PHOTO) != key
    assert services(weights, result_cache=False).cache_key("tag", base, PHOTO) is None
    assert layer.cache_key("tag", base, "") is None  # no photo hash, no key


def test_background_key_follows_params_seed_and_its_models(weights: Path):
    layer = services(weights)
    pink = {"kind": "colour", "value": "pink"}
    key = layer.cache_key("background", pink, PHOTO)
    others = [
        layer.cache_key("background", {**pink, "value": "#000000"}, PHOTO),
        layer.cache_key("background", {**pink, "candidate": 1}, PHOTO),  # "Wrong object?"
        layer.cache_key("background", {**pink, "card": "3:4"}, PHOTO),
        layer.cache_key("background", {**pink, "seed": 5}, PHOTO),  # "Again": never a repeat
        layer.cache_key("background", {"kind": "preset", "value": "marble"}, PHOTO),
        layer.cache_key("background", {"kind": "prompt", "value": "a table"}, PHOTO),
        layer.cache_key("background", {"kind": "prompt", "value": "a table", "steps": 3}, PHOTO),
        services(weights, sam_model="vit_h").cache_key("background", pink, PHOTO),
    ]
    assert None not in others and len({key, *others}) == len(others) + 1
    # the background photo counts by its content (named by sha256), not by its row
    one = {"kind": "photo", "background_path": f"/x/{OTHER}.jpg", "background_photo_id": 1}
    two = {"kind": "photo", "background_path": f"/y/{OTHER}.jpg", "background_photo_id": 2}
    assert layer.cache_key("background", one, PHOTO) == layer.cache_key("background", two, PHOTO)
    (weights / "sam" / "sam_config.json").write_text(
        (weights / "sam" / "sam_config.json").read_text() + " "
    )
    assert layer.cache_key("background", pink, PHOTO) != key
    assert layer.cache_key("background", {"kind": "nonsense"}, PHOTO) is None


def test_edits_are_cached_only_with_a_seed_and_describe_per_variant(weights: Path):
    layer = services(weights)
    assert layer.cache_key("night", {}, PHOTO) is None  # the worker draws a seed: random
    seeded = layer.cache_key("night", {"seed": 1}, PHOTO)
    assert seeded is not None
    assert layer.cache_key("night", {"seed": 2}, PHOTO) != seeded  # "Again": a new seed
    assert layer.cache_key("night", {"seed": 1, "steps": 3}, PHOTO) != seeded
    red = {"prompt": "make it red", "seed": 1}
    assert services(weights, edit_guidance=5.0).cache_key("edit", red, PHOTO) != (
        layer.cache_key("edit", red, PHOTO)
    )  # a setting the job uses counts (the night preset sets its own guidance)
    assert layer.cache_key("tulips", {"seed": 1}, PHOTO) not in (None, seeded)
    assert layer.cache_key("edit", {"prompt": "make it red", "seed": 1}, PHOTO) is not None
    assert layer.cache_key("edit", {"seed": 1}, PHOTO) is None  # invalid: no instruction
    first = layer.cache_key("describe", {"domain": "product"}, PHOTO)
    again = layer.cache_key("describe", {"domain": "product", "variant": 1}, PHOTO)
    assert first is not None and again is not None and first != again  # "Another variant"
    gpt = services(weights, openai_api_key="sk-x").cache_key("describe", {}, PHOTO)
    assert gpt not in (None, layer.cache_key("describe", {}, PHOTO))


def test_job_request_with_the_photo_hash_pickles():
    request = JobRequest(
        "tag", 1, Path("p.jpg"), {"domain": "hotel"}, job_id=3, photo_sha256=PHOTO
    )
    assert pickle.loads(pickle.dumps(request)) == request


async def test_storage_finds_done_results_by_key_and_shares_files_safely(tmp_path: Path):
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        await db.upsert_user(1, "en", None)
        photo = await db.add_photo(
            user_id=1,
            chat_id=1,
            message_id=1,
            file_id="f",
            file_unique_id="u",
            data=b"x",
            width=64,
            height=64,
        )

        async def job(key: str | None):
            return await db.create_job(
                user_id=1, chat_id=1, photo_id=photo.id, op="background", params={}, cache_key=key
            )

        assert await db.find_cached("k") is None
        first = await job("k")
        assert (await db.get_job(first.id)).cache_key == "k"
        assert await db.find_cached("k") is None  # not done yet
        source = await db.write_result_file(first.id, b"png bytes", "png")
        await db.save_result(first.id, "image", {"file": source.name})
        found = await db.find_cached("k")
        assert found is not None and found.job_id == first.id and found.kind == "image"
        second = await job("k")
        linked = await db.link_result_file(second.id, source)
        assert (
            linked == db.results_dir / f"{second.id}.png" and linked.read_bytes() == b"png bytes"
        )
        assert await db.link_result_file(99, db.results_dir / "gone.png") is None
        # a result that must not answer repeats drops its key
        degraded = await job("d")
        await db.save_result(degraded.id, "tags", {}, cacheable=False)
        assert (
            await db.find_cached("d") is None and (await db.get_job(degraded.id)).cache_key is None
        )
        # erasing the first job's photo row removes its file name only: the link stays valid
        source.unlink()
        assert linked.read_bytes() == b"png bytes"


async def test_erasing_a_photo_erases_its_features_unless_another_row_keeps_the_file(
    tmp_path: Path,
):
    async with Storage(tmp_path / "db.sqlite3", tmp_path / "photos") as db:
        await db.upsert_user(1, "en", None)
        await db.upsert_user(2, "en", None)
        rows = []
        for user, data in ((1, b"mine"), (1, b"shared"), (2, b"shared")):
            rows.append(
                await db.add_photo(
                    user_id=user,
                    chat_id=user,
                    message_id=len(rows) + 1,
                    file_id="f",
                    file_unique_id="u",
                    data=data,
                    width=64,
                    height=64,
                )
            )
        for photo in rows:
            (db.features_dir / photo.sha256).mkdir(parents=True, exist_ok=True)
        orphans = await db.erase_user(1)
        assert db.features_dir / rows[0].sha256 in orphans  # only user 1 had it
        assert db.features_dir / rows[1].sha256 not in orphans  # user 2 sent it too
