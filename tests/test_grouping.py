"""Grouping a catalogue: generated embeddings with known groups (the clustering real), the
group operation over tiny CLIP with injected embeddings, and `vitrina process --group`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import adjusted_rand_score

from bot.cli.process import process
from bot.settings import settings_from_mapping
from services.config import ServiceConfig
from services.features import FeatureStore
from services.grouping import PhotoTag, cluster, distances, group_photos
from services.jobs import NO_PHOTO, JobRequest
from services.models.clip import ClipTagger
from services.operations.library import GroupOperation, LibraryGroups
from services.scheduler import ModelServices
from services.search.vectors import EmbeddingRows

CLASSES = {"mug": "кружка", "sneakers": "кроссовки", "dress": "платье", "lamp": "лампа"}


def catalogue(
    sizes: list[int], width: int = 512, spread: float = 0.45, seed: int = 0
) -> tuple[np.ndarray, list[int]]:
    """Unit vectors around one random centre per class (cosine to the centre about 0.9)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), width))
    rows, truth = [], []
    for label, size in enumerate(sizes):
        for _ in range(size):
            rows.append(
                centres[label]
                + spread * rng.normal(size=width) * np.linalg.norm(centres[label]) / np.sqrt(width)
            )
            truth.append(label)
    return np.array(rows), truth


def test_the_groups_found_are_the_true_groups_and_their_number_is_the_datas() -> None:
    embeddings, truth = catalogue([12, 9, 7, 4])
    names = list(CLASSES)
    tags = [[PhotoTag(names[label], CLASSES[names[label]], 0.7)] for label in truth]
    grouping = group_photos(embeddings, tags)
    assert len(grouping.groups) == 4  # not given: chosen by the data
    assert adjusted_rand_score(truth, grouping.labels) == 1.0
    assert [len(g.members) for g in grouping.groups] == [12, 9, 7, 4]  # biggest first
    assert [g.name_en for g in grouping.groups] == names
    assert grouping.groups[1].name_ru == "кроссовки"
    assert grouping.distinct_top_tags == 4
    assert "32 photos -> 4 groups; 4 distinct top tags" in grouping.report()
    # the cut chosen is scikit-learn's own clustering at that distance
    assert grouping.threshold is not None
    assert cluster(distances(embeddings, tags), grouping.threshold) is not None
    assert (
        adjusted_rand_score(truth, cluster(distances(embeddings, tags), grouping.threshold)) == 1.0
    )


@pytest.mark.parametrize("groups", [2, 3, 6])
def test_other_numbers_of_groups_are_found_too(groups: int) -> None:
    embeddings, truth = catalogue([5] * groups, seed=groups)
    assert adjusted_rand_score(truth, group_photos(embeddings).labels) == 1.0


def test_one_kind_of_photo_is_one_group() -> None:
    embeddings, _ = catalogue([15], seed=3)
    grouping = group_photos(embeddings)
    assert len(grouping.groups) == 1 and grouping.threshold is None


def test_tags_are_the_second_signal() -> None:
    """Two kinds whose embeddings barely differ: their tags tell them apart."""
    rng = np.random.default_rng(5)
    centre = rng.normal(size=64)
    embeddings = centre + 0.25 * rng.normal(size=(12, 64)) * np.linalg.norm(centre) / 8
    truth = [0] * 6 + [1] * 6
    tags = [[PhotoTag("mug" if label == 0 else "cup", "кружка", 0.8)] for label in truth]
    assert adjusted_rand_score(truth, group_photos(embeddings).labels) < 1.0
    assert adjusted_rand_score(truth, group_photos(embeddings, tags).labels) == 1.0


def test_few_photos() -> None:
    assert group_photos(np.zeros((0, 4)), []).groups == ()
    assert group_photos(np.ones((1, 4))).labels == [0]
    assert len(group_photos(np.eye(2)).groups) == 2


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


async def test_the_group_operation_reads_embeddings_and_computes_the_missing(
    tiny_weights: Path, tmp_path: Path
) -> None:
    store = FeatureStore(tmp_path / "features")
    tagger = ClipTagger(tiny_weights / "clip", features=store)
    tagger.load()
    revision, width = tagger.feature_revision(), tagger.embedding_width
    embeddings, truth = catalogue([4, 4], width=width, spread=0.3, seed=1)
    keys = [f"{i:064x}" for i in range(len(truth))]
    for key, row in zip(keys, embeddings, strict=True):
        store.save(key, "clip", revision, "image", {"embedding": row.astype(np.float32)})
    photo = tmp_path / "extra.jpg"
    photo.write_bytes(_jpeg((200, 30, 30)))
    params = {
        "photos": [*keys, "f" * 64, "e" * 64],
        "paths": ["" for _ in keys] + [str(photo), str(tmp_path / "gone.jpg")],
        "tags": [[["mug", "кружка", 0.9]] if label == 0 else [] for label in truth] + [[], []],
    }
    operation = GroupOperation(tagger, EmbeddingRows(store), lambda: [])
    async with ModelServices(ServiceConfig(weights_dir=tiny_weights), {"group": operation}) as s:
        result = await s.submit(JobRequest("group", 1, NO_PHOTO, params)).result()
    assert isinstance(result, LibraryGroups)
    assert result.left_out == (9,)  # no embedding, no file
    labels = result.grouping.labels
    assert adjusted_rand_score(truth, labels[:8]) == 1.0
    assert labels[8] >= 0  # its embedding was computed from the file, and kept
    assert store.load("f" * 64, "clip", revision, "image") is not None
    mugs = next(g for g in result.grouping.groups if 0 in g.members)
    assert mugs.name_en == "mug" and mugs.name_ru == "кружка"


async def test_vitrina_process_group_writes_csv_sheets_and_index(
    tiny_weights: Path, tmp_path: Path, photos: dict[str, bytes]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in photos.items():
        (folder / f"{name}.jpg").write_bytes(data)
    (folder / "red.jpg").write_bytes(_jpeg((220, 20, 20)))
    settings = settings_from_mapping(
        {
            "WEIGHTS_DIR": str(tiny_weights),
            "DATABASE_PATH": str(tmp_path / "data" / "db.sqlite3"),
            "MODEL_WORKER": "thread",
            "DEVICE": "cpu",
        }
    )
    images = sorted(folder.iterdir())
    out = tmp_path / "out"
    rows = await process(settings, images, {"tag": {"domain": "product"}}, out, group=True)
    assert all(row["status"] == "done" for row in rows)
    with (out / "groups.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert sorted(row["file"] for row in table) == [str(image) for image in images]
    groups = {row["group"] for row in table}
    sheets = sorted(out.glob("group-*.jpg"))
    assert len(sheets) == len(groups) >= 1
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "distinct top tags" in index and all(sheet.name in index for sheet in sheets)
    assert not (tmp_path / "data" / "features").exists()  # no photo rows: nothing kept
