"""iNNvestigate analyzers for a :class:`signxai.common.MethodSpec`, built once in a private graph and reused.

:class:`GraphAnalyzer` clones the caller's model into a :class:`~signxai.tf.graph.PrivateGraph` (canonical
layers, BatchNormalization folded), builds the iNNvestigate analyzer on the clone, and afterwards only runs
its tensors with the private session. Before every run it compares the caller's current weights with the
ones loaded into the clone and reloads them when they changed (after training, say), so a cached analyzer
never goes stale.

Analyzers:

- LRP / deep Taylor: iNNvestigate's ``LRP`` with a conditional rule list ``[(condition, rule), ...]``: the
  first Conv/Dense layer gets ``spec.rule_for(kind, is_input=True)``, every other one its body rule
  (:func:`signxai.tf.rules.rule_class`). Output seed: ``neuron_selection_mode="index"`` selects z_t, which
  iNNvestigate's head mapping passes on unchanged (seed = the target logit, spec section 1). Average pooling
  uses iNNvestigate's Z-rule mapping, activations and dropout pass relevance through, max pooling and
  reshaping layers use the gradient.
- guided backprop / deconvnet: iNNvestigate's own ReLU mappings (``guided_backprop_reverse_relu_layer``,
  ``DeconvnetReverseReLULayer``) on a ``ReverseAnalyzerBase``, without iNNvestigate's "ReLU-only network"
  check (ELU layers are differentiated as usual). Seed z_t.
- the guided-backprop half of guided Grad-CAM: the same mapping on the sub-model ending at Grad-CAM's A,
  with seed 1 on every element of A (guided backprop of sum A).
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf
from innvestigate.analyzer.gradient_based import DeconvnetReverseReLULayer, guided_backprop_reverse_relu_layer
from innvestigate.analyzer.relevance_based.relevance_analyzer import LRP
from innvestigate.analyzer.reverse_base import ReverseAnalyzerBase
from innvestigate.backend import checks as ichecks

from signxai.common import MethodSpec

from .canonical import CLONE_PREFIX, ModelInfo, clone_function, clone_weights, layer_configs, source_arrays
from .graph import PrivateGraph
from .rules import rule_class

keras = tf.keras


def _is_relu_layer(layer: keras.layers.Layer) -> bool:
    return ichecks.contains_activation(layer, "relu")


class _ReLUReverseAnalyzer(ReverseAnalyzerBase):
    """Reverse analyzer replacing the backward pass of every ReLU; seed z_t (``logit``) or 1 (``one``)."""

    relu_mapping = None

    def __init__(self, model: keras.Model, seed: str = "logit", **kwargs) -> None:
        super().__init__(model, **kwargs)
        self._seed = seed
        self._do_model_checks()

    def _create_analysis(self, *args, **kwargs):
        self._add_conditional_reverse_mapping(_is_relu_layer, type(self).relu_mapping, name="signxai_relu")
        return super()._create_analysis(*args, **kwargs)

    def _head_mapping(self, X: tf.Tensor) -> tf.Tensor:
        return X if self._seed == "logit" else tf.ones_like(X)


class GuidedBackpropAnalyzer(_ReLUReverseAnalyzer):
    """Guided backprop: max(signal, 0) * [forward input > 0] at every ReLU (spec section 4)."""

    relu_mapping = staticmethod(guided_backprop_reverse_relu_layer)


class DeconvnetAnalyzer(_ReLUReverseAnalyzer):
    """Deconvnet: max(signal, 0) at every ReLU, no forward mask (spec section 4)."""

    relu_mapping = DeconvnetReverseReLULayer


def _lrp_rules(spec: MethodSpec, clone: keras.Model, info: ModelInfo) -> list:
    first = info.weighted[0] if info.weighted else None

    def kind(layer: keras.layers.Layer) -> str:
        return "dense" if isinstance(layer, keras.layers.Dense) else "conv"

    rules = []
    for name in info.weighted:
        layer = clone.get_layer(CLONE_PREFIX + name)
        rule = rule_class(spec.rule_for(kind(layer), is_input=name == first))
        rules.append((lambda candidate, name=CLONE_PREFIX + name: candidate.name == name, rule))
    return rules


class GraphAnalyzer:
    """One iNNvestigate analyzer on the canonical clone of a model, in a private graph.

    Parameters
    ----------
    model : keras.Model
        The caller's model (read, never modified).
    info : ModelInfo
        From :func:`signxai.tf.canonical.inspect_model`.
    spec : MethodSpec
        The method: LRP / deep Taylor, guided backprop, deconvnet, or guided Grad-CAM.
    a_layer : str, optional
        For guided Grad-CAM: the layer whose output is A.
    """

    def __init__(self, model: keras.Model, info: ModelInfo, spec: MethodSpec, a_layer: str | None = None) -> None:
        self._model = model
        self._info = info
        configs = layer_configs(model, info)
        self._arrays = source_arrays(model, info)
        weights = clone_weights(model, info, self._arrays)
        self._graph = PrivateGraph(info.dtype)
        self._indexed = a_layer is None
        with self._graph.scope(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clone = keras.models.clone_model(model, clone_function=clone_function(configs))
            if spec.family == "lrp":
                analyzer = LRP(clone, rule=_lrp_rules(spec, clone, info), neuron_selection_mode="index")
            else:
                target = clone
                if a_layer is not None:
                    # Flattened here: iNNvestigate's own flattening of a >2-D output fails on the output list.
                    a_tensor = clone.get_layer(CLONE_PREFIX + a_layer).output
                    flat = keras.layers.Flatten(name="signxai_flatten_a")(a_tensor)
                    target = keras.Model(clone.inputs, flat)
                base = spec.base if spec.base != "guided_grad_cam" else "guided_backprop"
                cls = GuidedBackpropAnalyzer if base == "guided_backprop" else DeconvnetAnalyzer
                mode = "index" if self._indexed else "all"
                analyzer = cls(target, seed="logit" if self._indexed else "one", neuron_selection_mode=mode)
            analyzer.create_analyzer_model()
            analysis = analyzer._analyzer_model
            self._inputs = analysis.inputs
            self._output = analysis.outputs[0]
            self._assign: list[tuple[tf.Operation, list[tf.Tensor]]] = []
            self._layer_order = list(weights)
            for name in self._layer_order:
                variables = clone.get_layer(CLONE_PREFIX + name).weights
                if len(variables) != len(weights[name]):
                    raise ValueError(
                        f"layer {name!r}: clone has {len(variables)} weights, expected {len(weights[name])}"
                    )
                holders = [tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape) for v in variables]
                op = tf.group(*[v.assign(h) for v, h in zip(variables, holders)])
                self._assign.append((op, holders))
            init = tf.compat.v1.global_variables_initializer()
        self._graph.run(init)
        self._load(weights)

    def _load(self, weights: dict[str, list[np.ndarray]]) -> None:
        ops, feed = [], {}
        for name, (op, holders) in zip(self._layer_order, self._assign):
            ops.append(op)
            feed.update(dict(zip(holders, weights[name])))
        self._graph.run(ops, feed)

    def refresh(self) -> bool:
        """Reload the caller's weights into the clone if they changed; returns whether they did."""
        arrays = source_arrays(self._model, self._info)
        same = len(arrays) == len(self._arrays) and all(
            a.shape == b.shape and np.array_equal(a, b) for a, b in zip(arrays, self._arrays)
        )
        if same:
            return False
        self._arrays = arrays
        self._load(clone_weights(self._model, self._info, arrays))
        return True

    def run(self, x: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
        """The analysis of ``x`` (already in the model's dtype); ``targets`` selects z_t per sample."""
        self.refresh()
        feed = {self._inputs[0]: x}
        if self._indexed:
            assert targets is not None
            feed[self._inputs[1]] = np.stack([np.arange(len(targets)), targets], axis=1).astype(np.int32)
        return self._graph.run(self._output, feed)

    def close(self) -> None:
        """Release the private session."""
        self._graph.close()
