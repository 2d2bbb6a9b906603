#!/usr/bin/env python3
"""Writes the small model files the Packager tests inspect, into Tests/PackagerTests/Fixtures/.

Run inside a virtualenv:

    python3 -m venv /tmp/fxvenv
    /tmp/fxvenv/bin/pip install onnx==1.17.0 numpy safetensors h5py
    /tmp/fxvenv/bin/python scripts/make-fixtures.py

(last run with onnx 1.17.0, numpy 2.4.6, safetensors 0.8.0, h5py 3.16.0). The generated files are committed (each
under 100 KB), so the tests themselves need no Python. Deterministic: the same package versions give the same bytes.

Which files come from the real library and which are hand-encoded:

- tiny-classifier.onnx, legacy-inputs.onnx: written by the `onnx` package.
- tiny.safetensors: written by the `safetensors` package.
- tiny-keras.h5, tiny-keras3-sequential.h5, plain.h5: real HDF5 written by h5py. Keras itself is not installed (it
  needs TensorFlow or another large backend), so the Keras files lay out by hand what Keras writes with
  `model.save("x.h5")`: the root attributes `keras_version`, `backend` and `model_config` (JSON) and the weights as
  `model_weights/<layer>/<weight name>` datasets. tiny-keras.h5 follows Keras 2.15 (string attributes as h5py 3
  writes `str` and `bytes`: variable-length), tiny-keras3-sequential.h5 a Keras 3 Sequential config (`batch_shape`,
  `DTypePolicy`) with fixed-length string attributes, as h5py 2 wrote `bytes`.
- tiny-savedmodel/: TensorFlow is too large to install, so saved_model.pb is encoded here with a small protobuf
  writer, following tensorflow/core/protobuf/saved_model.proto and meta_graph.proto, and
  tensorflow/core/framework/tensor_shape.proto and types.proto (field numbers in `saved_model_pb`). The variables/ files are placeholders of the right
  names (their content is not inspected).
- tiny-torchscript.pt: PyTorch is too large to install, so the zip is written with `zipfile` in the layout of
  `torch.jit.save` (`<name>/data.pkl`, `<name>/code/__torch__/*.py`, `<name>/constants.pkl`, `<name>/data/<n>`,
  `<name>/version`, `<name>/byteorder`, `<name>/extra/*`), entries stored uncompressed as torch does.
"""
import json
import os
import pickle
import sys
import zipfile

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


# MARK: HDF5 / Keras (h5py)


def keras_layer(class_name, config, inbound=None, module="keras.layers"):
    """A layer entry of a Keras 2 Functional `model_config`."""
    layer = {"module": module, "class_name": class_name, "config": config, "registered_name": None}
    layer["name"] = config["name"]
    layer["inbound_nodes"] = [[[name, 0, 0, {}] for name in inbound]] if inbound else []
    return layer


def write_keras_weights(f, layers, keras_version, backend):
    """`model_weights/<layer>/<weight name>` datasets with the attributes Keras writes beside them (Keras 2 weight
    names are `<layer>/<weight>:0`, Keras 3 ones the variable path)."""
    weights = f.create_group("model_weights")
    weights.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
    weights.attrs["backend"] = backend
    weights.attrs["keras_version"] = keras_version
    for name, arrays in layers:
        group = weights.create_group(name)
        group.attrs["weight_names"] = np.array([weight.encode() for weight, _ in arrays], dtype="S")
        for weight, array in arrays:
            group.create_dataset(weight, data=array)


def write_keras2_functional(path):
    """What tf.keras 2.15 writes for `model.save("x.h5")` of a small Functional image classifier: input
    [None,224,224,3], Conv2D (8 filters, 3x3), global average pooling, Dense (10). 314 parameters."""
    import h5py

    rng = np.random.default_rng(11)
    config = {
        "class_name": "Functional",
        "config": {
            "name": "tiny_cnn",
            "trainable": True,
            "layers": [
                keras_layer(
                    "InputLayer",
                    {
                        "batch_input_shape": [None, 224, 224, 3],
                        "dtype": "float32",
                        "sparse": False,
                        "ragged": False,
                        "name": "input_1",
                    },
                ),
                keras_layer(
                    "Conv2D",
                    {
                        "name": "conv2d",
                        "trainable": True,
                        "dtype": "float32",
                        "filters": 8,
                        "kernel_size": [3, 3],
                        "strides": [1, 1],
                        "padding": "valid",
                        "data_format": "channels_last",
                        "activation": "relu",
                        "use_bias": True,
                    },
                    ["input_1"],
                ),
                keras_layer(
                    "GlobalAveragePooling2D",
                    {"name": "global_average_pooling2d", "trainable": True, "dtype": "float32", "keepdims": False},
                    ["conv2d"],
                ),
                keras_layer(
                    "Dense",
                    {"name": "dense", "trainable": True, "dtype": "float32", "units": 10, "activation": "softmax"},
                    ["global_average_pooling2d"],
                ),
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["dense", 0, 0]],
        },
    }
    with h5py.File(path, "w", libver="earliest") as f:
        # Keras 2 assigns str values (variable-length UTF-8) and the JSON as bytes (variable-length ASCII).
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        write_keras_weights(
            f,
            [
                ("input_1", []),
                (
                    "conv2d",
                    [
                        ("conv2d/kernel:0", rng.standard_normal((3, 3, 3, 8)).astype(np.float32)),
                        ("conv2d/bias:0", np.zeros(8, dtype=np.float32)),
                    ],
                ),
                ("global_average_pooling2d", []),
                (
                    "dense",
                    [
                        ("dense/kernel:0", rng.standard_normal((8, 10)).astype(np.float32)),
                        ("dense/bias:0", np.zeros(10, dtype=np.float32)),
                    ],
                ),
            ],
            "2.15.0",
            "tensorflow",
        )


def write_keras3_sequential(path):
    """A Keras 3 Sequential config (InputLayer with `batch_shape`, dtypes as `DTypePolicy`) over [None,8,8,1]:
    Flatten, Dense (10). 650 parameters. The string attributes are fixed-length, as h5py 2 stored `bytes`."""
    import h5py

    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "trainable": True,
            "dtype": policy,
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": {"batch_shape": [None, 8, 8, 1], "dtype": "float32", "sparse": False, "name": "pixels"},
                    "registered_name": None,
                },
                {
                    "module": "keras.layers",
                    "class_name": "Flatten",
                    "config": {"name": "flatten", "trainable": True, "dtype": policy, "data_format": "channels_last"},
                    "registered_name": None,
                },
                {
                    "module": "keras.layers",
                    "class_name": "Dense",
                    "config": {"name": "dense", "trainable": True, "dtype": policy, "units": 10},
                    "registered_name": None,
                },
            ],
            "build_input_shape": [None, 8, 8, 1],
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 8, 8, 1]},
    }
    rng = np.random.default_rng(13)
    with h5py.File(path, "w", libver="earliest") as f:
        f.attrs["keras_version"] = np.bytes_("3.6.0")
        f.attrs["backend"] = np.bytes_("jax")
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode("utf8"))
        write_keras_weights(
            f,
            [
                ("flatten", []),
                (
                    "dense",
                    [
                        ("sequential/dense/kernel", rng.standard_normal((64, 10)).astype(np.float32)),
                        ("sequential/dense/bias", np.zeros(10, dtype=np.float32)),
                    ],
                ),
            ],
            np.bytes_("3.6.0"),
            np.bytes_("jax"),
        )


def write_plain_hdf5(path):
    """An HDF5 file that is not a Keras model: a dataset, a group and a numeric attribute."""
    import h5py

    with h5py.File(path, "w", libver="earliest") as f:
        f.attrs["created_by"] = "modelctl-fixtures"
        f.create_dataset("measurements", data=np.arange(16, dtype=np.float64).reshape(4, 4))
        f.create_group("calibration").attrs["gain"] = 2.5


# MARK: TorchScript (zipfile, torch.jit.save layout)


def write_torchscript(path):
    """A zip in the layout `torch.jit.save` writes for a module named `tiny`: pickles, code, one tensor storage, the
    version and byte order records and one extra file. Stored uncompressed with fixed times, so the bytes are stable."""
    code = (
        "class Tiny(Module):\n"
        "  __parameters__ = [\"weight\", ]\n"
        "  __buffers__ = []\n"
        "  weight : Tensor\n"
        "  training : bool\n"
        "  def forward(self: __torch__.Tiny,\n"
        "    x: Tensor) -> Tensor:\n"
        "    return torch.matmul(x, self.weight)\n"
    )
    entries = [
        ("tiny/data.pkl", pickle.dumps(("__torch__.Tiny", {"training": False, "weight": "0"}), protocol=2)),
        ("tiny/code/__torch__/model.py", code.encode()),
        ("tiny/code/__torch__/model.py.debug_pkl", pickle.dumps((0, ()), protocol=2)),
        ("tiny/constants.pkl", pickle.dumps((), protocol=2)),
        ("tiny/data/0", np.arange(16, dtype=np.float32).tobytes()),
        ("tiny/extra/info.json", b'{"trained_on": "modelctl-fixtures"}'),
        ("tiny/version", b"3\n"),
        ("tiny/byteorder", b"little"),
    ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


# MARK: TensorFlow SavedModel (hand-encoded protobuf)


def varint(value):
    value &= (1 << 64) - 1  # negative int64 values take ten bytes, as protobuf encodes them
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3 | 0) + varint(value)


def field_bytes(number, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def tensor_info(name, dtype, dims=None):
    """TensorInfo{1 name, 2 dtype, 3 tensor_shape: TensorShapeProto{2 dim: Dim{1 size}, 3 unknown_rank}}."""
    if dims is None:
        shape = field_varint(3, 1)
    else:
        shape = b"".join(field_bytes(2, field_varint(1, size)) for size in dims)
    return field_bytes(1, name) + (field_varint(2, dtype) if dtype else b"") + field_bytes(3, shape)


def map_entry(number, key, value):
    return field_bytes(number, field_bytes(1, key) + field_bytes(2, value))


def saved_model_pb():
    """SavedModel{1 saved_model_schema_version, 2 meta_graphs: MetaGraphDef{1 meta_info_def: MetaInfoDef{4 tags,
    5 tensorflow_version, 6 tensorflow_git_version}, 2 graph_def, 5 signature_def: map<string, SignatureDef{
    1 inputs, 2 outputs, 3 method_name}>, 7 object_graph_def}}, as TensorFlow 2.15 writes for a Keras model with
    input `input_1` float [-1,224,224,3] and output `dense` float [-1,10]. DataType 1 is DT_FLOAT."""
    meta_info = field_bytes(4, "serve") + field_bytes(5, "2.15.0") + field_bytes(6, "v2.15.0-2-g0b15fdfcb3f")
    # GraphDef{1 node: NodeDef{1 name, 2 op}, 4 versions: VersionDef{1 producer}}: present to be skipped.
    graph = field_bytes(1, field_bytes(1, "input_1") + field_bytes(2, "Placeholder")) + field_bytes(
        4, field_varint(1, 1645)
    )
    serving = (
        map_entry(1, "input_1", tensor_info("serving_default_input_1:0", 1, [-1, 224, 224, 3]))
        + map_entry(2, "dense", tensor_info("StatefulPartitionedCall:0", 1, [-1, 10]))
        + field_bytes(3, "tensorflow/serving/predict")
    )
    init_op = map_entry(2, "__saved_model_init_op", tensor_info("NoOp", 0))
    meta_graph = (
        field_bytes(1, meta_info)
        + field_bytes(2, graph)
        + map_entry(5, "__saved_model_init_op", init_op)
        + map_entry(5, "serving_default", serving)
        + field_bytes(7, field_bytes(1, field_bytes(3, b"")))
    )
    return field_varint(1, 1) + field_bytes(2, meta_graph)


def write_savedmodel(path):
    os.makedirs(os.path.join(path, "variables"), exist_ok=True)
    with open(os.path.join(path, "saved_model.pb"), "wb") as f:
        f.write(saved_model_pb())
    with open(os.path.join(path, "variables", "variables.index"), "wb") as f:
        f.write(b"modelctl fixture: placeholder of a TensorBundle index\n")
    with open(os.path.join(path, "variables", "variables.data-00000-of-00001"), "wb") as f:
        f.write(np.arange(314, dtype=np.float32).tobytes())


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
    for name, write in [
        ("tiny-keras.h5", write_keras2_functional),
        ("tiny-keras3-sequential.h5", write_keras3_sequential),
        ("plain.h5", write_plain_hdf5),
        ("tiny-torchscript.pt", write_torchscript),
        ("tiny-savedmodel", write_savedmodel),
    ]:
        path = os.path.join(OUT, name)
        write(path)
        files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs] if os.path.isdir(path) else [path]
        for file in files:
            size = os.path.getsize(file)
            assert size < 100_000, f"{file} is {size} bytes"
            print(f"{os.path.relpath(file, OUT)}: {size} bytes")


if __name__ == "__main__":
    sys.exit(main())
