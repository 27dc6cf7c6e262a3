"""An fp16 ONNX graph opened as its float32 copy on the CPU (services/models/onnx_session.py,
issue 31 C1): the same network, no float16 left, outputs equal within fp16's rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from services.models.onnx_session import float32_graph, open_model_session


def _fp16_conv(path: Path) -> None:
    """input (fp32) -> Cast fp16 -> Conv (fp16 weights) + Constant -> Cast fp32 -> output,
    the shape of @imgly's ISNet."""
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(4, 3, 3, 3)).astype(np.float16)
    nodes = [
        helper.make_node("Cast", ["input"], ["x16"], to=TensorProto.FLOAT16),
        helper.make_node("Conv", ["x16", "w"], ["y16"], pads=[1, 1, 1, 1]),
        helper.make_node(
            "Constant",
            [],
            ["bias"],
            value=numpy_helper.from_array(np.full((1, 4, 1, 1), 0.5, np.float16), "bias"),
        ),
        helper.make_node("Add", ["y16", "bias"], ["z16"]),
        helper.make_node("Cast", ["z16"], ["output"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes,
        "fp16",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def test_an_fp16_graph_becomes_float32_with_the_same_outputs(tmp_path: Path) -> None:
    _fp16_conv(tmp_path / "model.onnx")
    widened = float32_graph(tmp_path / "model.onnx")
    assert widened is not None
    model = onnx.load_from_string(widened)
    assert all(init.data_type == TensorProto.FLOAT for init in model.graph.initializer)
    assert not any(
        a.i == TensorProto.FLOAT16 for n in model.graph.node for a in n.attribute if a.name == "to"
    )
    x = np.random.default_rng(1).normal(size=(1, 3, 8, 8)).astype(np.float32)
    before = ort.InferenceSession(str(tmp_path / "model.onnx")).run(None, {"input": x})[0]
    after = ort.InferenceSession(widened).run(None, {"input": x})[0]
    assert after.dtype == np.float32
    np.testing.assert_allclose(after, before, rtol=1e-2, atol=2e-2)  # fp16 rounding only


def test_a_float32_graph_is_left_as_it_is(tmp_path: Path) -> None:
    _fp16_conv(tmp_path / "model.onnx")
    widened = tmp_path / "fp32.onnx"
    widened.write_bytes(float32_graph(tmp_path / "model.onnx") or b"")
    assert float32_graph(widened) is None


def test_open_model_session_uses_the_copy_on_the_cpu_only_when_asked(tmp_path: Path) -> None:
    _fp16_conv(tmp_path / "model.onnx")
    x = np.ones((1, 3, 8, 8), np.float32)
    plain = open_model_session("m", tmp_path, "model.onnx")
    widened = open_model_session("m", tmp_path, "model.onnx", float32_on_cpu=True)
    copy = ort.InferenceSession(float32_graph(tmp_path / "model.onnx"))
    file = ort.InferenceSession(str(tmp_path / "model.onnx"))
    assert np.array_equal(widened.run(None, {"input": x})[0], copy.run(None, {"input": x})[0])
    assert np.array_equal(plain.run(None, {"input": x})[0], file.run(None, {"input": x})[0])
