#!/usr/bin/env python3
"""Writes the small model files the Packager tests inspect, into Tests/PackagerTests/Fixtures/.

Run inside a virtualenv with `pip install onnx numpy safetensors`; the generated files are committed (each under 100 KB), so the
tests themselves need no Python. Deterministic: the same versions of onnx and numpy give the same bytes.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "PackagerTests", "Fixtures")


def classifier():
    """A tiny image classifier: input [N,3,224,224] float, a 3x3 convolution with 8 filters, global pooling and a
    linear layer to 10 classes. Opset 17, IR version 8."""
    rng = np.random.default_rng(7)
    weights = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "conv.weight")
    bias = numpy_helper.from_array(np.zeros(8, dtype=np.float32), "conv.bias")
    fc = numpy_helper.from_array(rng.standard_normal((8, 10)).astype(np.float32), "fc.weight")
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv"], kernel_shape=[3, 3]),
        helper.make_node("GlobalAveragePool", ["conv"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc.weight"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-classifier",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=[weights, bias, fc],
    )
    model = helper.make_model(
        graph, producer_name="modelctl-fixtures", producer_version="1", opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def legacy_inputs():
    """IR version 3 style: the weights are also listed as graph inputs; an NHWC uint8 image input; two opsets."""
    weights = numpy_helper.from_array(np.ones((4, 4), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "legacy",
        [
            helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 224, 224, 3]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[weights],
    )
    model = helper.make_model(
        graph,
        producer_name="legacy-exporter",
        opset_imports=[helper.make_opsetid("", 9), helper.make_opsetid("com.microsoft", 1)],
    )
    model.ir_version = 3
    return model


def write_safetensors(path):
    """Two tensors and metadata, written by the safetensors package."""
    from safetensors.numpy import save_file

    save_file(
        {
            "encoder.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
            "encoder.bias": np.zeros(3, dtype=np.float16),
        },
        path,
        metadata={"format": "np", "source": "modelctl-fixtures"},
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, model in [("tiny-classifier.onnx", classifier()), ("legacy-inputs.onnx", legacy_inputs())]:
        path = os.path.join(OUT, name)
        onnx.save(model, path)
        size = os.path.getsize(path)
        assert size < 100_000, f"{name} is {size} bytes"
        print(f"{name}: {size} bytes")
    path = os.path.join(OUT, "tiny.safetensors")
    write_safetensors(path)
    print(f"tiny.safetensors: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    sys.exit(main())
