"""``python -m signxai.parity.bench`` (``nox -s bench``): method timings of both backends, side by side, one run.

The same Keras model and its PyTorch conversion (the parity suite's VGG16 at 224x224 by default, or its 12-lead ECG
CNN) on one input. Every row is measured in this process, one after the other, so the ratios compare like with
like: each method's time is divided by the same backend's plain gradient (TensorFlow: ``tf.GradientTape`` inside
``tf.function``; PyTorch: ``torch.autograd.grad``), and PyTorch's time by TensorFlow's. The first call of an
explainer (TensorFlow: model clone and iNNvestigate analyzer build; PyTorch: model analysis) is reported apart from
the median of the following ``--repeats`` calls on the same explainer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from signxai.common.sampling import to_channels_first

#: Methods timed by default: the plain gradient family, Grad-CAM, reverse propagation and LRP (incl. composites).
METHODS = (
    "gradient",
    "gradient_x_sign",
    "guided_backprop",
    "integrated_gradients",
    "smoothgrad",
    "grad_cam",
    "lrp_epsilon_0_1",
    "lrpsign_epsilon_0_25_std_x",
    "lrp_sequential_composite_a",
)


@dataclass(frozen=True)
class Timing:
    """Seconds of one explainer: its first call (build included) and the median of the later calls."""

    first: float
    median: float


@dataclass(frozen=True)
class Row:
    """One method in both backends."""

    method: str
    tf: Timing
    torch: Timing


def time_calls(call: Callable[[], object], repeats: int) -> Timing:
    """Time ``call`` once, then ``repeats`` more times; return the first time and the median of the others."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return Timing(first, statistics.median(times))


def _plain_gradients(keras_model, torch_model, x: np.ndarray, x_first: np.ndarray, target: int, repeats: int):
    import tensorflow as tf
    import torch

    x_tf = tf.constant(x)

    @tf.function
    def tf_grad(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            logit = keras_model(inputs, training=False)[:, target]
        return tape.gradient(logit, inputs)

    def torch_grad():
        xt = torch.from_numpy(x_first).requires_grad_(True)
        return torch.autograd.grad(torch_model(xt)[:, target].sum(), xt)[0]

    return time_calls(lambda: tf_grad(x_tf).numpy(), repeats), time_calls(torch_grad, repeats)


def bench(
    keras_model, torch_model, x: np.ndarray, methods: Sequence[str], repeats: int, max_rows: int, progress: bool = True
) -> tuple[Timing, Timing, list[Row]]:
    """Time every method in both backends on ``x`` (Keras layout, one sample) for its argmax class.

    Returns
    -------
    tuple
        (TF plain gradient, PyTorch plain gradient, one Row per method).
    """
    import signxai.tf
    import signxai.torch

    x_first = np.ascontiguousarray(to_channels_first(x))
    target = int(np.argmax(keras_model(x, training=False).numpy()[0]))
    tf_plain, torch_plain = _plain_gradients(keras_model, torch_model, x, x_first, target, repeats)
    rows = []
    for method in methods:
        tf_explainer = signxai.tf.Explainer(keras_model, method)
        try:
            tf_timing = time_calls(lambda e=tf_explainer: e.explain(x, target), repeats)
        finally:
            tf_explainer.close()
        torch_explainer = signxai.torch.Explainer(torch_model, method, max_rows=max_rows)
        torch_timing = time_calls(lambda e=torch_explainer: e.explain(x_first, target), repeats)
        rows.append(Row(method, tf_timing, torch_timing))
        if progress:
            print(f"[bench] {method}: tf {tf_timing.median:.3f} s, torch {torch_timing.median:.3f} s", file=sys.stderr)
    return tf_plain, torch_plain, rows


def table(tf_plain: Timing, torch_plain: Timing, rows: Sequence[Row]) -> str:
    """Markdown table of the timings and ratios."""
    lines = [
        "| method | TF first s | TF s | TF / TF gradient | torch first s | torch s | torch / torch gradient "
        "| torch / TF |",
        "|---|---|---|---|---|---|---|---|",
        f"| plain gradient | {tf_plain.first:.3f} | {tf_plain.median:.3f} | 1.00 | {torch_plain.first:.3f} | "
        f"{torch_plain.median:.3f} | 1.00 | {torch_plain.median / tf_plain.median:.2f} |",
    ]
    for r in rows:
        lines.append(
            f"| `{r.method}` | {r.tf.first:.3f} | {r.tf.median:.3f} | {r.tf.median / tf_plain.median:.2f} | "
            f"{r.torch.first:.3f} | {r.torch.median:.3f} | {r.torch.median / torch_plain.median:.2f} | "
            f"{r.torch.median / r.tf.median:.2f} |"
        )
    return "\n".join(lines)


def _model_and_input(name: str):
    from . import data, models

    if name == "vgg16":
        return models.vgg16(), data.vgg16_image()
    model = models.ecg_cnn()
    return model, data.ecg_12lead(seconds=6)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m signxai.parity.bench", description=__doc__)
    parser.add_argument("--model", choices=("vgg16", "ecg"), default="vgg16")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after the first (default 3)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), help="catalog names (default: a set per family)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import torch

    from .check import CHUNK_ELEMENTS
    from .convert import keras_to_torch

    keras_model, x = _model_and_input(args.model)
    if x.ndim == 3:  # time series: Grad-CAM's time-series form
        args.methods = ["grad_cam_timeseries" if m == "grad_cam" else m for m in args.methods]
    torch_model, _ = keras_to_torch(keras_model)
    max_rows = max(1, CHUNK_ELEMENTS // int(np.prod(x.shape[1:])))
    tf_plain, torch_plain, rows = bench(keras_model, torch_model, x, args.methods, args.repeats, max_rows)
    print(
        f"{args.model}, input {x.shape}, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, "
        f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads); median of {args.repeats} calls after "
        f"the first; PyTorch chunk {max_rows} rows"
    )
    print(table(tf_plain, torch_plain, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
