"""ISNet through OpenVINO (services/models/openvino_session.py, issue 31 C1): the runtime
setting picks it only on the CPU, the session speaks onnxruntime's API, and the tiny ISNet
gives onnxruntime's map (float32: within rounding; the CPU's own precision: the same mask)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.config import ServiceConfig, ServiceSettings
from services.errors import ModelUnavailable
from services.models import openvino_session
from services.models.isnet import MODEL_FILE, IsnetSaliency
from services.models.onnx_session import open_model_session
from services.models.openvino_session import OpenVinoSession, wants_openvino

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def photo(photos: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    path = tmp_path_factory.mktemp("photo") / "coffee.jpg"
    path.write_bytes(photos["coffee"])
    return Image.open(path).convert("RGB")


def test_the_setting_picks_openvino_only_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not wants_openvino("openvino", "cuda")
    assert not wants_openvino("auto", "cuda:0")
    assert not wants_openvino("onnxruntime", "cpu")
    assert wants_openvino("openvino", "cpu")
    monkeypatch.setattr(openvino_session, "native_bf16", lambda: False)
    assert not wants_openvino("auto", "cpu")  # float32 OpenVINO is slower than onnxruntime
    monkeypatch.setattr(openvino_session, "native_bf16", lambda: True)
    assert wants_openvino("auto", "cpu")


def test_without_openvino_installed_onnxruntime_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openvino_session, "openvino_installed", lambda: False)
    monkeypatch.setattr(openvino_session, "native_bf16", lambda: False)
    assert not wants_openvino("openvino", "cpu")
    assert not wants_openvino("auto", "cpu")


def test_the_setting_is_declared_once_and_reaches_the_config() -> None:
    assert ServiceConfig(Path("w")).isnet_runtime == "auto"
    assert ServiceSettings(isnet_runtime="OpenVINO").isnet_runtime == "openvino"
    with pytest.raises(ValueError):
        ServiceSettings(isnet_runtime="tensorrt")


def test_the_session_speaks_onnxruntimes_api(tiny_weights: Path) -> None:
    import onnxruntime as ort

    path = tiny_weights / "isnet" / MODEL_FILE
    reference = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    session = OpenVinoSession(path, threads=1, precision="f32")
    assert [p.name for p in session.get_inputs()] == [p.name for p in reference.get_inputs()]
    assert [p.name for p in session.get_outputs()] == [p.name for p in reference.get_outputs()]
    assert session.get_inputs()[0].shape[:2] == [1, 3]
    assert session.get_providers() == ["OpenVINO CPU float32"]
    name = reference.get_inputs()[0].name
    height, width = (int(s) for s in reference.get_inputs()[0].shape[-2:])
    x = np.random.default_rng(1).normal(size=(1, 3, height, width)).astype(np.float32)
    expected = reference.run(None, {name: x})
    every = session.run(None, {name: x})  # None: every output, in order, as onnxruntime
    assert len(every) == len(expected) == len(reference.get_outputs())
    for got, wanted in zip(every, expected, strict=True):
        np.testing.assert_allclose(got, wanted, atol=1e-4)
    last = session.get_outputs()[-1].name
    (again,) = session.run([last], {name: x * 0.5})
    np.testing.assert_allclose(again, reference.run([last], {name: x * 0.5})[0], atol=1e-4)
    np.testing.assert_allclose(every[-1], expected[-1], atol=1e-4)  # a copy: not overwritten


def test_isnet_on_openvino_draws_onnxruntimes_mask(tiny_weights: Path, photo: Image.Image) -> None:
    folder = tiny_weights / "isnet"
    onnx = IsnetSaliency(folder, "cpu", runtime="onnxruntime")
    openvino = IsnetSaliency(folder, "cpu", runtime="openvino")
    expected, got = onnx.predict(photo), openvino.predict(photo)
    assert openvino.providers[0].startswith("OpenVINO CPU")
    assert onnx.providers == ["CPUExecutionProvider"]
    assert got.probability.shape == expected.probability.shape == (photo.height, photo.width)
    assert float(np.abs(got.probability - expected.probability).mean()) < 0.02
    assert float(((got.probability > 0.5) != (expected.probability > 0.5)).mean()) < 0.01


def test_a_broken_file_is_model_unavailable_on_openvino(tmp_path: Path) -> None:
    folder = tmp_path / "isnet"
    folder.mkdir()
    (folder / MODEL_FILE).write_bytes(b"not an onnx model" * 10)
    with pytest.raises(ModelUnavailable) as caught:
        open_model_session("isnet", folder, MODEL_FILE, "cpu", runtime="openvino")
    assert "unreadable" in str(caught.value)
