"""Keras -> ONNX conversion, run in a subprocess by :func:`signxai.parity.convert.keras_to_onnx`.

``python _onnx_worker.py MODEL_DIR OUT_DIR`` (run as a file: it needs TensorFlow and tf2onnx, not signxai)
rebuilds the Keras model from ``MODEL_DIR/architecture.json`` and ``MODEL_DIR/weights.npz`` (``w0``, ``w1``, ...
in ``model.weights`` order, initialisers skipped), freezes its inference function on a channels-first input
(PyTorch's layout) to a GraphDef, removes the frozen
graph's pass-through ``Identity`` nodes and converts it with tf2onnx (``large_model=True``: weights stored as
external tensors). It writes ``OUT_DIR/model.onnx`` with its external tensor files next to it and prints one JSON
line ``{"seconds": ..., "peak_rss_mb": ...}``.

Why a subprocess with ``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python``: with protobuf's default upb backend
tf2onnx keeps a copy of every weight after each optimizer pass (18 GB peak for VGG16 at 224); the pure-Python
backend, external tensor storage, the removed Identity nodes and a model rebuilt without initialiser copies
bring VGG16 at 224 to 3.0 GB peak in about 7 s. The environment
variable must be set before protobuf is first imported, hence a fresh interpreter.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import zipfile
from pathlib import Path

#: ONNX opset of the converted models.
OPSET = 13


def strip_identities(graph_def, keep: set[str]):
    """Remove ``Identity`` nodes from a frozen GraphDef by wiring their consumers to their input.

    Parameters
    ----------
    graph_def : tensorflow.compat.v1.GraphDef
        Frozen graph (changed in place and returned).
    keep : set of str
        Node names that must stay (the graph's outputs).

    Returns
    -------
    GraphDef
    """
    alias: dict[str, str] = {}
    for node in graph_def.node:
        if node.op == "Identity" and node.name not in keep and len(node.input) == 1:
            alias[node.name] = node.input[0]

    def resolve(name: str) -> str:
        control = name.startswith("^")
        base, _, port = name.lstrip("^").partition(":")
        seen = 0
        while base in alias:
            base, _, port = alias[base].partition(":")
            seen += 1
            if seen > len(alias):
                raise ValueError(f"cycle of Identity nodes at {name!r}")
        if control:
            return "^" + base
        return f"{base}:{port}" if port else base

    kept = [node for node in graph_def.node if node.name not in alias]
    for node in kept:
        new_inputs = [resolve(i) for i in node.input]
        del node.input[:]
        node.input.extend(new_inputs)
    del graph_def.node[:]
    graph_def.node.extend(kept)
    return graph_def


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MiB.

    Linux: ``VmHWM`` of ``/proc/self/status`` (this address space only; ``ru_maxrss`` would also count the
    parent's memory at fork time). Elsewhere: ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def load_model(model_dir: Path):
    """Rebuild the Keras model from ``architecture.json`` and ``weights.npz`` without initialiser copies."""
    import numpy as np
    from tensorflow import keras

    config = json.loads((model_dir / "architecture.json").read_text())
    for layer in config["config"]["layers"]:
        for key in list(layer["config"]):
            if key.endswith("_initializer"):
                layer["config"][key] = {"class_name": "Zeros", "config": {}}
    model = keras.models.model_from_json(json.dumps(config))
    with np.load(model_dir / "weights.npz") as weights:
        for variable, index in zip(model.weights, range(len(model.weights))):
            variable.assign(weights[f"w{index}"])
    finalize_states(model)
    return model


def finalize_states(model) -> None:
    """Recompute what preprocessing layers derive from their weights at build time (a Normalization's mean and
    variance tensors), as ``adapt`` does; after ``assign`` / ``set_weights`` they would still hold the initial
    values (with the zero initialisers above: variance 0)."""
    for layer in model.submodules:
        if hasattr(layer, "finalize_state") and getattr(layer, "built", False):
            layer.finalize_state()


def keep_batch_norm() -> None:
    """Stop tf2onnx from folding BatchNormalization into the preceding convolution (this process only).

    tf2onnx's back-to-back optimizer folds ``Conv -> BatchNormalization`` in float32 arithmetic; the float64 tier
    casts the converted model to float64, and weights rounded by that fold would differ from the float64 Keras
    model by ~1e-7. Kept as an ONNX BatchNormalization (a PyTorch ``BatchNorm``), it is folded by SignXAI's LRP in
    the working dtype (docs/decisions.md). tf2onnx 1.17 registers the fold in a module-level table.
    """
    from tf2onnx.optimizer import back_to_back_optimizer

    back_to_back_optimizer._func_map.pop(("Conv", "BatchNormalization"), None)


def freeze(model):
    """Frozen inference GraphDef of a Keras model (weights as constants), with its input and output names.

    The frozen function takes the input channels-first (N, C, H, W) / (N, C, T), PyTorch's layout, and moves it
    to the model's channels-last layout with a transpose; tf2onnx then cancels that transpose against the ones it
    writes around every convolution. A rank-2 input (N, features) is taken as it is.
    """
    import tensorflow as tf
    from tf2onnx import tf_loader

    shape = tuple(model.input_shape[1:])
    if len(shape) >= 2:
        shape_cf = (shape[-1], *shape[:-1])
        perm = (0, *range(2, len(shape) + 1), 1)

        def call(x):
            return model(tf.transpose(x, perm), training=False)

    else:
        shape_cf = shape

        def call(x):
            return model(x, training=False)

    spec = tf.TensorSpec((None, *shape_cf), model.inputs[0].dtype, name="input")
    function = tf.function(call).get_concrete_function(spec)
    # the function's own input first, then its captures: variables (resources) and tensors a layer computed at
    # build time (e.g. a Normalization's mean and variance), which the freeze turns into constants
    own = function.inputs[: len(function.inputs) - len(function.captured_inputs)]
    input_names = [t.name for t in own]
    output_names = [t.name for t in function.outputs]
    return tf_loader.from_function(function, input_names, output_names, large_model=True), input_names, output_names


def numpy2_alias_for_tf2onnx() -> None:
    """Give numpy >= 2 the ``np.product`` alias tf2onnx 1.17 calls with external tensor storage.

    tf2onnx 1.17.0 (its last release) calls ``np.product`` in ``Node.get_value_attr``; numpy 2.0 removed that alias
    of ``np.prod``. Only this short-lived conversion process gets it back (the explaining processes never do).
    """
    import numpy as np

    if not hasattr(np, "product"):
        np.product = np.prod


def convert(model_dir: str, out_dir: str) -> dict[str, float]:
    """Convert the Keras model saved in ``model_dir`` to ``out_dir/model.onnx`` (+ external tensors)."""
    start = time.perf_counter()
    numpy2_alias_for_tf2onnx()
    import tensorflow as tf
    from tf2onnx import optimizer, utils
    from tf2onnx.graph import ExternalTensorStorage
    from tf2onnx.tf_utils import compress_graph_def
    from tf2onnx.tfonnx import process_tf_graph

    keep_batch_norm()
    graph_def, input_names, output_names = freeze(load_model(Path(model_dir)))
    gc.collect()
    graph_def = strip_identities(graph_def, keep={n.split(":")[0] for n in output_names + input_names})

    with tf.Graph().as_default() as tf_graph:
        const_node_values = compress_graph_def(graph_def)
        storage = ExternalTensorStorage()
        tf.import_graph_def(graph_def, name="")
        del graph_def
        graph = process_tf_graph(
            tf_graph,
            const_node_values=const_node_values,
            opset=OPSET,
            input_names=input_names,
            output_names=output_names,
        )
        del const_node_values
        graph = optimizer.optimize_graph(graph, catch_errors=False)
        model_proto = graph.make_model("converted by signxai.parity", external_tensor_storage=storage)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / "model.zip"
    utils.save_onnx_zip(str(archive), model_proto, storage)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(out)
    archive.unlink()
    (out / "__MODEL_PROTO.onnx").rename(out / "model.onnx")
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python _onnx_worker.py MODEL_DIR OUT_DIR", file=sys.stderr)
        return 2
    if os.environ.get("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION") != "python":
        print(
            "warning: PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION is not 'python'; peak memory will be high", file=sys.stderr
        )
    stats = convert(*argv)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
