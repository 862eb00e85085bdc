"""``check(keras_model, x, ...)``: the same methods on a Keras model and on its PyTorch conversion, compared.

For one tier (float64 or float32) the Keras model and its converted PyTorch twin are brought to that dtype, the
logits of both are compared first (forward parity), then each applicable method is run by both backends on the
same input, target and seed, the PyTorch map is moved to the Keras layout and the two maps are compared as spec
section 6 says (:func:`signxai.parity.metrics.compare`). Each method's explainers are built once and reused for
every target.
"""

from __future__ import annotations

import copy
import gc
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from signxai.common import parse_method
from signxai.common.sampling import to_channels_first, to_channels_last
from signxai.common.validation import CHUNK_ELEMENTS  # rows of PyTorch's chunks here: TF's default budget

from .applicability import Planned, plan_methods
from .convert import twin
from .metrics import FORWARD_REL, compare
from .models import as_dtype
from .progress import Progress
from .report import ERROR, FAIL, NOT_APPLICABLE, PASS, ForwardCheck, Report, Result

Target = Any  # None, an int, or one int per sample
TIERS = ("float64", "float32")


def torch_layer_name(torch_model, keras_layer: str) -> str:
    """Name of the PyTorch convolution converted from the Keras layer ``keras_layer``.

    tf2onnx names nodes ``<model>/<layer>/<op>`` and onnx2torch keeps the node names as module names.

    Raises
    ------
    ValueError
        When no convolution, or more than one, comes from that layer.
    """
    import torch

    convs = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    found = [
        name
        for name, module in torch_model.named_modules()
        if isinstance(module, convs) and keras_layer in name.split("/")[:-1]
    ]
    if len(found) != 1:
        raise ValueError(f"expected one PyTorch convolution converted from Keras layer {keras_layer!r}, found {found}")
    return found[0]


def _target_label(target: Target) -> str:
    if target is None:
        return "argmax"
    if np.ndim(target) == 0:
        return str(int(target))
    return "[" + ",".join(str(int(t)) for t in np.asarray(target).ravel()) + "]"


def _tier_models(keras_model, torch_model, tier: str):
    import torch

    keras_t = keras_model if keras_model.dtype == tier else as_dtype(keras_model, tier)
    wanted = {"float64": torch.float64, "float32": torch.float32}[tier]
    if all(p.dtype == wanted for p in torch_model.parameters()):
        return keras_t, torch_model
    return keras_t, copy.deepcopy(torch_model).to(wanted).eval()


def forward_check(keras_model, torch_model, x: np.ndarray, tier: str, model_name: str) -> ForwardCheck:
    """Compare the logits of both models on ``x`` (Keras layout; the PyTorch model takes it channels-first)."""
    import torch

    z_tf = np.asarray(keras_model(x, training=False), dtype=np.float64)
    with torch.no_grad():
        z_torch = torch_model(torch.from_numpy(_channels_first(x))).numpy().astype(np.float64)
    if z_tf.shape != z_torch.shape:
        raise ValueError(f"{model_name}: logits shapes differ: Keras {z_tf.shape}, PyTorch {z_torch.shape}")
    diff = float(np.max(np.abs(z_tf - z_torch)))
    scale = float(np.max(np.abs(z_tf)))
    tol = FORWARD_REL[tier] * scale
    return ForwardCheck(
        model=model_name,
        tier=tier,
        max_abs_diff=diff,
        max_abs_logit=scale,
        tolerance=tol,
        passed=diff <= tol,
        argmax_tf=[int(i) for i in np.argmax(z_tf, axis=1)],
        argmax_torch=[int(i) for i in np.argmax(z_torch, axis=1)],
    )


def _channels_first(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(to_channels_first(x)) if x.ndim > 2 else x


def _channels_last(r: np.ndarray) -> np.ndarray:
    return to_channels_last(r) if r.ndim > 2 else r


class _MethodRun:
    """Both backends' explainers for one method, built once and reused for every target."""

    def __init__(self, planned: Planned, keras_model, torch_model, keras_layers: set[str], max_rows: int):
        import signxai.tf
        import signxai.torch

        self.planned = planned
        params = dict(planned.params)
        torch_params = dict(params)
        spec = parse_method(planned.method, **params)
        if spec.family == "cam" and spec.layer is not None and spec.layer in keras_layers:
            torch_params["layer"] = torch_layer_name(torch_model, spec.layer)
        self.tf_error = self.torch_error = None
        self.tf = self.torch = None
        self.tf_build = self.torch_build = 0.0
        start = time.perf_counter()
        try:
            self.tf = signxai.tf.Explainer(keras_model, planned.method, **params)
        except Exception as err:  # recorded as this method's error in the report, never hidden
            self.tf_error = f"tf: {type(err).__name__}: {err}"
        self.tf_build = time.perf_counter() - start
        start = time.perf_counter()
        try:
            self.torch = signxai.torch.Explainer(torch_model, planned.method, max_rows=max_rows, **torch_params)
        except Exception as err:  # recorded as this method's error in the report, never hidden
            self.torch_error = f"torch: {type(err).__name__}: {err}"
        self.torch_build = time.perf_counter() - start

    def run(self, x: np.ndarray, target: Target) -> tuple[np.ndarray | None, np.ndarray | None, float, float, str]:
        errors = [e for e in (self.tf_error, self.torch_error) if e]
        r_tf = r_torch = None
        t_tf, self.tf_build = self.tf_build, 0.0
        t_torch, self.torch_build = self.torch_build, 0.0
        if self.tf is not None:
            start = time.perf_counter()
            try:
                r_tf = np.asarray(self.tf.explain(x, target))
            except Exception as err:  # recorded as this method's error in the report, never hidden
                errors.append(f"tf: {type(err).__name__}: {err}")
            t_tf += time.perf_counter() - start
        if self.torch is not None:
            start = time.perf_counter()
            try:
                r_torch = _channels_last(np.asarray(self.torch.explain(_channels_first(x), target)))
            except Exception as err:  # recorded as this method's error in the report, never hidden
                errors.append(f"torch: {type(err).__name__}: {err}")
            t_torch += time.perf_counter() - start
        return r_tf, r_torch, t_tf, t_torch, "; ".join(errors)

    def close(self) -> None:
        if self.tf is not None:
            self.tf.close()
            self.tf = None
        self.torch = None


def check(
    keras_model,
    x: np.ndarray,
    target: Target = None,
    methods: Sequence[str] | None = None,
    dtype: str = "float64",
    *,
    targets: Sequence[Target] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    torch_model=None,
    model_name: str | None = None,
    progress: bool = True,
    cache: bool = True,
) -> Report:
    """Run methods on a Keras model and on its PyTorch conversion and compare the maps (spec section 6).

    Parameters
    ----------
    keras_model : keras.Model
        Sequential or functional model with logits as output, channels-last. It is not modified.
    x : numpy.ndarray
        Input batch in the Keras layout (NHWC / NTC).
    target : None, int or sequence of int
        The class(es) to explain (None: argmax per sample).
    methods : sequence of str or None
        Catalog names; default every name of ``signxai.common.list_methods()``. Names that do not apply to the
        model (Grad-CAM of the other input kind, an alias whose layer is absent) are reported as
        ``not applicable``, never as passed.
    dtype : {"float64", "float32"}
        The tier: float64 asserts max|d| <= 1e-6 max|R_tf|, float32 asserts Pearson r >= 0.999.
    targets : sequence or None
        Several targets, each like ``target`` (overrides ``target``); every explainer is built once for all.
    params : mapping or None
        Extra keywords per method name, passed to both backends (e.g. ``{"smoothgrad": {"samples": 8}}``).
    torch_model : torch.nn.Module or None
        The converted model (channels-first input) if already at hand (cast to the tier's dtype); default:
        converted now through ONNX for this tier (:func:`signxai.parity.convert.twin`, cached on disk).
    model_name : str or None
        Name in the report (default ``keras_model.name``).
    progress : bool
        Print one line per method on stderr (count, time, ETA).
    cache : bool
        Use the on-disk conversion cache.

    Returns
    -------
    Report
        ``report.ok`` is False when the forward check or any method fails.
    """
    if dtype not in TIERS:
        raise ValueError(f"dtype must be one of {TIERS}, got {dtype!r}")
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must have a batch axis, got shape {x.shape}")
    name = model_name or keras_model.name
    report = Report()
    if torch_model is None:
        torch_model, conversion = twin(keras_model, dtype, cache=cache)
        report.conversions.append(
            {
                "model": name,
                "cached": conversion.cached,
                "seconds": conversion.seconds,
                "peak_rss_mb": conversion.peak_rss_mb,
                "key": conversion.key,
            }
        )
    keras_t, torch_t = _tier_models(keras_model, torch_model, dtype)
    x_t = x.astype(dtype)
    fwd = forward_check(keras_t, torch_t, x_t, dtype, name)
    report.forward.append(fwd)
    planned = plan_methods(keras_model, x.ndim, list(methods) if methods is not None else None, dict(params or {}))
    if not fwd.passed:
        report.notes.append(f"{name} {dtype}: forward parity failed; no method was run")
        return report
    all_targets = [target] if targets is None else list(targets)
    keras_layers = {layer.name for layer in keras_model.layers}
    max_rows = max(1, CHUNK_ELEMENTS // int(np.prod(x.shape[1:])))
    bar = Progress(f"{name} {dtype}", sum(p.applicable for p in planned), enabled=progress)
    for p in planned:
        if not p.applicable:
            report.results.append(
                Result(name, p.method, dtype, "-", NOT_APPLICABLE, params=dict(p.params), note=str(p.reason))
            )
            continue
        run = _MethodRun(p, keras_t, torch_t, keras_layers, max_rows)
        statuses = []
        try:
            for tgt in all_targets:
                r_tf, r_torch, t_tf, t_torch, error = run.run(x_t, tgt)
                result = Result(
                    name, p.method, dtype, _target_label(tgt), ERROR, seconds_tf=t_tf, seconds_torch=t_torch
                )
                result.params = dict(p.params)
                if error:
                    result.note = error
                else:
                    c = compare(r_tf, r_torch, dtype)
                    result.status = PASS if c.passed else FAIL
                    result.criterion = c.criterion
                    result.max_abs_diff, result.max_abs_tf = c.max_abs_diff, c.max_abs_tf
                    result.rel_max_abs_diff, result.pearson_r, result.note = c.rel_max_abs_diff, c.pearson_r, c.note
                report.results.append(result)
                statuses.append(result.status)
        finally:
            run.close()
            gc.collect()
        bar.step(p.method, "ok" if all(s == PASS for s in statuses) else "/".join(statuses))
    bar.done(sum(r.status in (FAIL, ERROR) for r in report.results))
    return report
