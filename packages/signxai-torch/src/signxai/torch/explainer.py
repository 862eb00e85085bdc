"""The public entry points: :class:`Explainer` (reusable) and :func:`explain` (one call)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np
import torch

from signxai.common import MethodSpec, resolve_method
from signxai.common.sampling import random_uniform_map
from signxai.common.signs import apply_modifiers
from signxai.common.targets import resolve_targets
from signxai.common.validation import DEFAULT_MAX_POINTS, CallOptions, Progress, check_points, points_of

from .cam import cam_layer, grad_cam, guided_backprop_of_activations
from .composites import lrp_composite
from .concurrency import model_lock
from .functional import SignalMode
from .gradients import Targets, integrated_gradients, noise_gradients, output_seed, target_gradient
from .graph import ModelGraph, analyse, eval_mode, rank_guard
from .rules import diagonal_relevance
from .validation import check_model, compute_dtype_device, logits, result_dtype, to_tensor

Target = Union[int, Sequence[int], np.ndarray, torch.Tensor, None]


class Explainer:
    """Explain one model with one method, repeatedly.

    The method is parsed once; the model is analysed (call order, input layer, BatchNorm neighbours) on the first
    call and the Zennit composite of an LRP method is built once. The model is never modified: every hook is removed
    after each call, its train/eval flags are restored, and its parameters are only read.

    Parameters
    ----------
    model : torch.nn.Module
        A model returning (batch, classes) logits.
    method : str or MethodSpec
        A catalog name (see :func:`signxai.common.list_methods`) or a parsed method.
    strip_softmax : bool
        Explain the logits feeding a final softmax / log-softmax instead of raising ValueError.
    max_rows : int or None
        Largest number of rows evaluated in one forward/backward pass by integrated gradients, SmoothGrad and
        VarGrad (at least one point per sample of the batch); None = as many rows as fit
        ``signxai.common.validation.CHUNK_ELEMENTS`` (2**21) input elements.
    max_points : int or None
        Largest (steps or samples) x batch rows one call may evaluate (default
        ``signxai.common.validation.DEFAULT_MAX_POINTS`` = 1,000,000); above it the call raises ValueError before
        computing anything. None removes the bound.
    progress : bool
        Show a ``tqdm`` progress bar over the steps / samples (needs ``pip install tqdm``).
    callback : callable or None
        ``callback(done, total)`` after each chunk, counting steps / samples (each covers the whole batch);
        single-pass methods report ``(1, 1)`` once.
    **params
        Method parameters (``epsilon=``, ``mu=``, ``low=``, ``high=``, ``noise=``, ``samples=``, ``seed=``,
        ``steps=``, ``baseline=``, ``layer=`` ...), as :func:`signxai.common.parse_method` accepts them.

    Raises
    ------
    ValueError, TypeError
        For an invalid method or parameter (checked by :mod:`signxai.common.validation`, which names it), a
        TorchScript module (pass the eager module) or a model whose ``forward`` takes several inputs.
    ImportError
        For ``progress=True`` without ``tqdm``.

    Notes
    -----
    Thread-safe: an explanation holds a lock for every module of the model (:mod:`signxai.torch.concurrency`),
    so threads sharing a model or an Explainer run one after the other and get exactly their sequential results;
    different models run in parallel.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        method: str | MethodSpec,
        *,
        strip_softmax: bool = False,
        max_rows: int | None = 64,
        max_points: int | None = DEFAULT_MAX_POINTS,
        progress: bool = False,
        callback: Callable[[int, int], Any] | None = None,
        **params: Any,
    ) -> None:
        check_model(model)
        self.spec = resolve_method(method, params)
        self.options = CallOptions(strip_softmax, max_rows, max_points, progress, callback)
        check_points(self.spec, None, self.options.max_points)
        self.model = model
        self.strip_softmax = self.options.strip_softmax
        self.max_rows = self.options.max_rows
        self._graph: ModelGraph | None = None
        self._composite = None

    # ------------------------------------------------------------------------------------------------ public
    def __call__(self, x: Any, target: Target = None) -> Any:
        """Explain ``x``; see :meth:`explain`."""
        return self.explain(x, target)

    def explain(self, x: Any, target: Target = None) -> Any:
        """Relevance map of ``x`` for ``target``.

        Parameters
        ----------
        x : torch.Tensor or numpy.ndarray
            Input batch (batch axis first, the model's layout), on any device.
        target : None, int or sequence of int
            None: each sample's argmax; an int: that class for every sample; a sequence: one class per sample.

        Returns
        -------
        torch.Tensor or numpy.ndarray
            A map of exactly ``x``'s shape, on ``x``'s device (a NumPy array for a NumPy input); float64 for a
            float64 input, float32 otherwise.

        Raises
        ------
        ValueError
            For bad input (an input shape the model's Conv / Linear layers cannot take is named with the expected
            shape), a target out of range or of the wrong shape, a softmax- / sigmoid-ending model (unless
            ``strip_softmax``), or a model the method cannot explain exactly (named in the message).
        """
        tensor, info = to_tensor(x)
        check_points(self.spec, tensor.shape[0], self.options.max_points)
        # hooks on the model's modules are seen by every thread: one explanation per model at a time
        with model_lock(self.model):
            dtype, device = compute_dtype_device(self.model, tensor)
            # explanations need autograd even for callers in inference mode; clone() makes an ordinary tensor
            with torch.inference_mode(False), eval_mode(self.model):
                xc = tensor.detach().to(device=device, dtype=dtype).clone()
                if self._graph is None:
                    self._graph = analyse(self.model, xc)

                def resolve(out: torch.Tensor) -> torch.Tensor:
                    return torch.as_tensor(
                        resolve_targets(_as_target(target), out.detach().cpu().numpy()), device=device
                    )

                with rank_guard(self.model, tuple(xc.shape)):
                    targets: Targets = resolve
                    if not self._targets_from_own_pass(target):
                        with torch.no_grad(), SignalMode() as mode:
                            targets = resolve(self._forward(xc, mode))
                    with Progress(self.options, points_of(self.spec), self.spec.base) as progress:
                        result = self._compute(xc, targets, progress)
        result = apply_modifiers(result, xc, self.spec.modifiers)
        out = result.detach().to(dtype=result_dtype(info))
        if info.numpy:
            return out.cpu().numpy()
        return out.to(info.device)

    # ------------------------------------------------------------------------------------------- internals
    def _targets_from_own_pass(self, target: Target) -> bool:
        """Whether the single pass resolves the targets on its own forward (no separate plain forward).

        A gradient-family pass computes the model's own logits (the signal modes change only the backward), so its
        argmax is the plain forward's. An LRP pass may differ in rounding (folded BatchNorms), so it takes the
        targets from its own forward only when the caller names them (the logits then only give the class count).
        """
        kind = self.spec.computation.kind
        return kind == "backward" or (kind == "lrp" and target is not None)

    def _forward(self, x: torch.Tensor, mode: SignalMode) -> torch.Tensor:
        return logits(self.model(x), mode, x.shape[0], self.strip_softmax)

    def _compute(self, x: torch.Tensor, targets: Targets, progress: Progress) -> torch.Tensor:
        spec = self.spec
        comp = spec.computation
        rows = self.options.rows_per_chunk(x[0].numel())
        if comp.kind in ("path", "noise", "cam"):
            assert isinstance(targets, torch.Tensor)  # resolved by a plain forward (_targets_from_own_pass)
        if comp.kind == "path":
            assert spec.steps is not None and spec.baseline is not None
            return integrated_gradients(self._forward, x, targets, spec.steps, spec.baseline, rows, progress)
        if comp.kind == "noise":
            assert spec.samples is not None and spec.noise is not None and spec.seed is not None
            variance = comp.aggregate == "variance"
            return noise_gradients(
                self._forward, x, targets, spec.samples, spec.noise, spec.seed, rows, variance, progress
            )
        result = self._single_pass(x, targets)
        progress.update(1)
        return result

    def _single_pass(self, x: torch.Tensor, targets: Targets) -> torch.Tensor:
        spec = self.spec
        comp = spec.computation
        if comp.kind == "lrp":
            return self._lrp(x, targets)
        if comp.kind == "backward":
            assert comp.signal is not None
            return target_gradient(self._forward, x, targets, spec.output_seed, comp.signal)
        if comp.kind == "cam":
            assert self._graph is not None
            layer = cam_layer(spec, self.model, self._graph)
            cam = grad_cam(spec, self._forward, layer, x, targets)
            if not comp.guided:
                return cam
            return guided_backprop_of_activations(self._forward, layer, x) * cam
        if comp.kind == "baseline":
            assert spec.seed is not None
            sample = random_uniform_map(tuple(x.shape[1:]), spec.seed, channels_first=x.ndim > 2)
            return torch.as_tensor(sample, device=x.device).to(x.dtype).expand_as(x).clone()
        raise ValueError(f"computation {comp.kind!r} of {spec.name!r} is not implemented for PyTorch")

    def _lrp(self, x: torch.Tensor, targets: Targets) -> torch.Tensor:
        assert self._graph is not None
        if self._composite is None:
            self._composite = lrp_composite(self.spec, self.model, self._graph)
        with self._composite.context(self.model), torch.enable_grad():
            xg = x.detach().clone().requires_grad_()
            affine = functools.partial(diagonal_relevance, self.spec.rule_for("dense", is_input=False))
            with SignalMode("pass", source=xg, affine_rule=affine) as mode:
                out = self._forward(xg, mode)
            targets = targets(out) if callable(targets) else targets
            (relevance,) = torch.autograd.grad(out, xg, output_seed(out, targets, self.spec.output_seed))
        return relevance


def _as_target(target: Target) -> Any:
    if isinstance(target, torch.Tensor):
        return target.detach().cpu().numpy()
    return target


def explain(
    model: torch.nn.Module,
    x: Any,
    method: str | MethodSpec,
    target: Target = None,
    *,
    strip_softmax: bool = False,
    max_rows: int | None = 64,
    max_points: int | None = DEFAULT_MAX_POINTS,
    progress: bool = False,
    callback: Callable[[int, int], Any] | None = None,
    **params: Any,
) -> Any:
    """Explain ``x`` with ``method`` on ``model`` (a one-shot :class:`Explainer`).

    Parameters
    ----------
    model : torch.nn.Module
        A model returning (batch, classes) logits.
    x : torch.Tensor or numpy.ndarray
        Input batch, batch axis first, in the model's layout (NCHW / NCT), any device.
    method : str or MethodSpec
        Any catalog name (:func:`signxai.common.list_methods`).
    target : None, int or sequence of int
        Class(es) to explain; None = argmax per sample.
    strip_softmax : bool
        Explain the logits feeding a final softmax instead of raising ValueError.
    max_rows, max_points, progress, callback
        Chunk size, resource bound and progress reporting, as for :class:`Explainer`.
    **params
        Method parameters, as :func:`signxai.common.parse_method` accepts them.

    Returns
    -------
    torch.Tensor or numpy.ndarray
        A map of exactly ``x``'s shape on ``x``'s device (NumPy in, NumPy out).
    """
    explainer = Explainer(
        model,
        method,
        strip_softmax=strip_softmax,
        max_rows=max_rows,
        max_points=max_points,
        progress=progress,
        callback=callback,
        **params,
    )
    return explainer.explain(x, target)
