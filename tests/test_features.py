"""Per-photo features on disk (services/features.py): the cutter's saliency, SAM embedding and
candidates, and CLIP image embeddings, reused by a fresh service (a restart) and recomputed
when a file is corrupt. Real model classes on tiny random weights."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.features import FeatureStore
from services.models.clip import ClipTagger, TagResult
from services.operations.cutout import ObjectCutter
from services.weights.digest import sha256_file


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Image.Image, str]:
    pixels = np.full((96, 128, 3), 230, np.uint8)
    pixels[20:70, 30:90] = (190, 40, 40)
    path = tmp_path_factory.mktemp("photo") / "product.png"
    Image.fromarray(pixels).save(path)
    return Image.open(path).convert("RGB"), sha256_file(path)


class Counted:
    """The real cutter; counts ISNet runs and SAM image embeddings."""

    def __init__(self, weights: Path, store: FeatureStore) -> None:
        self.cutter = ObjectCutter(weights, "cpu", features=store)
        self.saliency_runs = 0
        predict = self.cutter.isnet.predict

        def counted(*args, **kwargs):
            self.saliency_runs += 1
            return predict(*args, **kwargs)

        self.cutter.isnet.predict = counted  # type: ignore[method-assign]

    @property
    def embeddings(self) -> int:
        return self.cutter.sam.embeddings_computed


def files(store: FeatureStore, sha: str) -> dict[str, Path]:
    return {p.name.split("-")[0]: p for p in (store.root / sha).glob("*.npz")}


def test_a_restarted_cutter_reads_saliency_embedding_and_candidates_from_disk(
    tiny_weights: Path, tmp_path: Path, photo: tuple[Image.Image, str]
) -> None:
    image, sha = photo
    store = FeatureStore(tmp_path / "features")
    first = Counted(tiny_weights, store)
    cut = first.cutter.cut(image, cache_key=sha)
    assert (first.saliency_runs, first.embeddings) == (1, 1)
    assert set(files(store, sha)) == {"isnet", "sam", "cutter"}
    again = first.cutter.cut(image, candidate=1, cache_key=sha)  # "Wrong object?": memory
    assert (first.saliency_runs, first.embeddings) == (1, 1)

    fresh = Counted(tiny_weights, store)  # a new worker process: nothing in memory
    restored = fresh.cutter.cut(image, cache_key=sha)
    assert (fresh.saliency_runs, fresh.embeddings) == (0, 0)
    assert np.array_equal(restored.alpha, cut.alpha) and restored.source == cut.source
    assert restored.candidates == cut.candidates
    assert np.array_equal(fresh.cutter.cut(image, candidate=1, cache_key=sha).alpha, again.alpha)

    # without the stored candidates, the stored saliency and SAM embedding still serve
    files(store, sha)["cutter"].unlink()
    third = Counted(tiny_weights, store)
    recut = third.cutter.cut(image, cache_key=sha)
    assert (third.saliency_runs, third.embeddings) == (0, 0)
    assert np.array_equal(recut.alpha, cut.alpha) and recut.candidates == cut.candidates


def test_corrupt_or_foreign_feature_files_are_ignored_and_recomputed(
    tiny_weights: Path, tmp_path: Path, photo: tuple[Image.Image, str]
) -> None:
    image, sha = photo
    store = FeatureStore(tmp_path / "features")
    cut = Counted(tiny_weights, store).cutter.cut(image, cache_key=sha)
    stored = files(store, sha)
    stored["cutter"].write_bytes(b"not a zip at all")
    stored["sam"].write_bytes(stored["sam"].read_bytes()[:100])  # truncated
    buffer = io.BytesIO()
    np.savez(buffer, saliency=np.zeros((3, 3), np.float16))  # readable, wrong shape
    stored["isnet"].write_bytes(buffer.getvalue())

    fresh = Counted(tiny_weights, store)
    recut = fresh.cutter.cut(image, cache_key=sha)
    assert (fresh.saliency_runs, fresh.embeddings) == (1, 1)
    assert np.array_equal(recut.alpha, cut.alpha)
    last = Counted(tiny_weights, store)  # the files were written again, and are good now
    last.cutter.cut(image, cache_key=sha)
    assert (last.saliency_runs, last.embeddings) == (0, 0)


def test_clip_embeddings_are_stored_once_per_photo_and_survive_a_restart(
    tiny_weights: Path, tmp_path: Path, photo: tuple[Image.Image, str]
) -> None:
    image, sha = photo
    store = FeatureStore(tmp_path / "features")
    tagger = ClipTagger(tiny_weights / "clip", features=store)
    plain = ClipTagger(tiny_weights / "clip").tag([image], "product")[0]
    first = tagger.tag([image, image], "product", keys=[sha, None])
    assert tagger.images_embedded == 2 and same(first[0], plain) and same(first[1], plain)
    assert tagger.tag([image], "hotel", keys=[sha])[0].domain == "hotel"
    assert tagger.images_embedded == 2  # another vocabulary, the same image embedding

    fresh = ClipTagger(tiny_weights / "clip", features=store)
    assert same(fresh.tag([image], "product", keys=[sha])[0], first[0])
    assert fresh.images_embedded == 0 and store.loads >= 2

    (path,) = files(store, sha).values()
    path.write_bytes(b"garbage")
    assert same(fresh.tag([image], "product", keys=[sha])[0], plain)
    assert fresh.images_embedded == 1  # the corrupt file was ignored, recomputed, rewritten
    assert FeatureStore(store.root).load(sha, *path.stem.split("-", 2)) is not None


def same(a: TagResult, b: TagResult) -> bool:
    """Equal tags; probabilities equal up to float noise (a batch of 2 sums differently)."""
    pairs = list(zip(a.tags + a.attributes, b.tags + b.attributes, strict=True))
    return all(
        x.en == y.en and x.probability == pytest.approx(y.probability, abs=1e-5) for x, y in pairs
    )


def test_only_sha256_keys_are_stored(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    store.save("../../etc", "clip", "r", "image", {"x": np.zeros(2)})
    store.save("photo.jpg", "clip", "r", "image", {"x": np.zeros(2)})
    assert list(tmp_path.iterdir()) == []
    store.save("c" * 64, "clip", "r", "image", {"x": np.ones(2)})
    assert store.load("c" * 64, "clip", "r", "image")["x"].tolist() == [1.0, 1.0]
    store.remove("c" * 64)
    assert not (tmp_path / ("c" * 64)).exists()


async def test_a_fresh_service_reuses_the_stored_cut_of_a_photo(
    tiny_weights: Path, tmp_path: Path
) -> None:
    """The wiring: ServiceConfig.features_dir reaches the cutter through default_operations;
    a second background of a photo in a new ModelServices (a restart) runs neither model."""
    from services.config import ServiceConfig
    from services.jobs import JobRequest
    from services.results import ImageResult
    from services.scheduler import ModelServices

    pixels = np.full((96, 128, 3), 230, np.uint8)
    pixels[20:70, 30:90] = (40, 40, 190)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    sha = sha256_file(path)
    config = ServiceConfig(tiny_weights, worker="thread", features_dir=tmp_path / "features")
    embedded = []
    for value in ("#ffc0cb", "#000000"):
        async with ModelServices(config) as services:
            cutter = services.operations["background"].cutter  # type: ignore[attr-defined]
            request = JobRequest(
                "background", 1, path, {"kind": "colour", "value": value}, photo_sha256=sha
            )
            result = await services.submit(request).result()
            assert isinstance(result, ImageResult) and result.size == (128, 96)
            embedded.append(cutter.sam.embeddings_computed)
    assert embedded == [1, 0]
    assert {p.name.split("-")[0] for p in (tmp_path / "features" / sha).iterdir()} == {
        "isnet",
        "sam",
        "cutter",
    }
