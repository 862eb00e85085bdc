"""The demo's explanations: one Keras model and its PyTorch conversion, the same methods, maps compared.

Each method gets one explainer per backend (built once, reused for every sample); the PyTorch model takes the
input channels-first and its map is moved back to the Keras layout, then the two maps are compared as the parity
suite's float32 tier does (:func:`signxai.parity.metrics.compare`: Pearson r >= 0.999).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signxai.common.sampling import to_channels_first, to_channels_last

from ..metrics import Comparison, compare
from ..progress import Progress

#: Methods shown for image models: one or more from every family of the catalog.
IMAGE_METHODS = (
    "gradient",
    "gradient_x_sign",
    "guided_backprop",
    "smoothgrad",
    "integrated_gradients",
    "grad_cam",
    "lrp_epsilon_0_1",
    "lrpsign_epsilon_0_1",
    "lrp_epsilon_0_25_std_x",
    "lrpsign_epsilon_0_25_std_x",
    "lrp_sequential_composite_a",
    "lrpsign_sequential_composite_a",
)
#: Methods shown for time-series models (Grad-CAM for time series instead of images).
ECG_METHODS = tuple("grad_cam_timeseries" if m == "grad_cam" else m for m in IMAGE_METHODS)


@dataclass(frozen=True)
class MethodMaps:
    """One method on one batch in both backends.

    Attributes
    ----------
    method : str
        Catalog name.
    tf, torch : numpy.ndarray
        The maps, both in the Keras layout (channels-last) and of the input's shape.
    comparison : Comparison
        Per-sample worst case of the float32-tier comparison (lowest Pearson r, largest max|d|/max|R_tf|).
    seconds_tf, seconds_torch : float
        Wall time of each backend for the batch (building the explainer included).
    """

    method: str
    tf: np.ndarray
    torch: np.ndarray
    comparison: Comparison
    seconds_tf: float
    seconds_torch: float


def _worst(comparisons: Sequence[Comparison]) -> Comparison:
    """The failing comparison if any, else the one with the lowest Pearson r (or largest deviation)."""
    failing = [c for c in comparisons if not c.passed]
    pool = failing or list(comparisons)
    return min(pool, key=lambda c: (c.pearson_r if c.pearson_r is not None else 1.0, -c.rel_max_abs_diff))


def explain_both(
    keras_model,
    torch_model,
    x: np.ndarray,
    target: Sequence[int],
    methods: Sequence[str],
    *,
    label: str,
    progress: bool = True,
) -> list[MethodMaps]:
    """Explain ``x`` with every method in both backends and compare the maps sample by sample.

    Parameters
    ----------
    keras_model : keras.Model
        The trained Keras model (logits, channels-last input).
    torch_model : torch.nn.Module
        Its conversion (channels-first input).
    x : numpy.ndarray
        Input batch in the Keras layout.
    target : sequence of int
        One class per sample.
    methods : sequence of str
        Catalog names.
    label : str
        Name shown in the progress lines.
    progress : bool
        Print one line per method on stderr.

    Returns
    -------
    list of MethodMaps
        In the order of ``methods``.
    """
    import signxai.tf
    import signxai.torch

    x = np.asarray(x, dtype=np.float32)
    x_first = np.ascontiguousarray(to_channels_first(x))
    target = [int(t) for t in target]
    bar = Progress(label, len(methods), enabled=progress)
    out = []
    for method in methods:
        start = time.perf_counter()
        tf_explainer = signxai.tf.Explainer(keras_model, method)
        try:
            r_tf = np.asarray(tf_explainer.explain(x, target))
        finally:
            tf_explainer.close()
        seconds_tf = time.perf_counter() - start
        start = time.perf_counter()
        r_torch = to_channels_last(np.asarray(signxai.torch.Explainer(torch_model, method).explain(x_first, target)))
        seconds_torch = time.perf_counter() - start
        comparison = _worst([compare(a, b, "float32") for a, b in zip(r_tf, r_torch)])
        out.append(MethodMaps(method, r_tf, r_torch, comparison, seconds_tf, seconds_torch))
        r = "n/a" if comparison.pearson_r is None else f"{comparison.pearson_r:.6f}"
        verdict = "ok" if comparison.passed else "PARITY FAIL"
        bar.step(method, f"{verdict}, r={r}, max|d|/max|R|={comparison.rel_max_abs_diff:.1e}")
    return out
