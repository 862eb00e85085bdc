"""iNNvestigate analyzers for a :class:`signxai.common.MethodSpec`, built once in a private graph and reused.

:class:`GraphAnalyzer` plans the model (:mod:`signxai.tf.plan`), builds its clone in a
:class:`~signxai.tf.graph.PrivateGraph` (:mod:`signxai.tf.clone`), and builds on the clone an iNNvestigate
``ReverseAnalyzerBase`` whose reverse mapping of every clone layer is chosen here from the layer's role
(spec sections 3, 4 and 8):

========== ================================================== ==========================================
role       LRP                                                guided backprop / deconvnet
========== ================================================== ==========================================
weighted   the input rule (first layers) or the body rule     gradient
affine     the body rule of Dense layers                      gradient
activation relevance passes unchanged                         max(s, 0) * f'(x) / max(s, 0)
gate       all relevance to the signal x, none to the gate g  gradient
add        R_k = x_k / sum_j x_j * R (Z rule on the sum)      gradient
avgpool    Z rule on the pooling                              gradient
maxpool    to the first tied element of each window           the same (spec section 1)
route      gradient (shape layers, concatenation, padding)    gradient
========== ================================================== ==========================================

Output seed: z_t for LRP, guided backprop and deconvnet (``neuron_selection_mode="index"``); 1 on every element
of A for the guided half of guided Grad-CAM. Afterwards the analyzer only runs its tensors with the private
session; before every run it compares the caller's current weights with the ones loaded into the clone, on the
device and without copying them (:class:`signxai.tf.clone.WeightWatch`), and reloads them when they changed, so a
cached analyzer never goes stale.
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf
from innvestigate.analyzer.reverse_base import ReverseAnalyzerBase

from signxai.common import MethodSpec

from .canonical import ModelInfo
from .clone import CloneRole, WeightWatch, build_clone, clone_weights
from .graph import PrivateGraph
from .keras_compat import layer_call_context
from .ops import safe_divide
from .plan import DROPOUT_TYPES, make_plan
from .rules import apply_rule
from .ties import pool_args, route_max_pool

keras = tf.keras


class SpecReverseAnalyzer(ReverseAnalyzerBase):
    """Reverse analyzer whose mapping of every clone layer follows its role (table in the module docstring).

    Parameters
    ----------
    model : keras.Model
        The clone.
    roles : dict of str to CloneRole
        From :func:`signxai.tf.clone.build_clone`.
    base : {"lrp", "guided_backprop", "deconvnet"}
        The method family.
    spec : MethodSpec, optional
        The LRP method (rules).
    seed : {"logit", "one"}
        The output seed: z_t, or 1 on every output element.
    """

    def __init__(self, model, roles: dict, base: str, spec: MethodSpec | None = None, seed: str = "logit", **kwargs):
        super().__init__(model, **kwargs)
        self._roles = roles
        self._base = base
        self._spec = spec
        self._seed = seed
        self._do_model_checks()

    def create_analyzer_model(self) -> None:
        """Build the analysis tensors (``self.analysis_inputs``, ``self.analysis_output``) in the current graph.

        iNNvestigate wraps them into a Keras model, which makes Keras turn every raw TensorFlow op of the reverse
        mappings into a layer and evaluate its constants one session call at a time (quadratic in the depth);
        the tensors are all that is run here, so no model is built.
        """
        model, analysis_inputs, stop_at = self._prepare_model(self._model)
        self._analysis_inputs = analysis_inputs
        self._prepared_model = model
        # Inside a layer-call context Keras does not wrap the raw TensorFlow ops of the reverse mappings into
        # layers when iNNvestigate applies its own Keras layers (sums over consumers) to them: without it each
        # such call walks the whole reverse graph and evaluates its constants one session call at a time.
        with layer_call_context(model, model.inputs):
            outputs = self._create_analysis(model, stop_analysis_at_tensors=stop_at)
        self.analysis_inputs = list(self._model.inputs) + list(analysis_inputs)
        self.analysis_output = outputs[0]

    def _create_analysis(self, *args, **kwargs):
        self._add_conditional_reverse_mapping(
            lambda layer: layer.name in self._roles, self._mapping_for, priority=10, name="signxai_roles"
        )
        return super()._create_analysis(*args, **kwargs)

    def _head_mapping(self, X: tf.Tensor) -> tf.Tensor:
        return X if self._seed == "logit" else tf.ones_like(X)

    def _mapping_for(self, layer: keras.layers.Layer, _state: dict):
        info: CloneRole = self._roles[layer.name]
        role = info.role
        if role == "maxpool":
            pool, strides, padding = pool_args(layer)
            return lambda Xs, _Ys, Rs, _s: [route_max_pool(Xs[0], Rs[0], pool, strides, padding)]
        if isinstance(layer, PASS_THROUGH):
            return lambda _Xs, _Ys, Rs, _s: list(Rs)
        if self._base != "lrp":
            if role == "activation" and info.step.act.name != "linear":
                if self._base == "deconvnet":
                    return lambda _Xs, _Ys, Rs, _s: [tf.nn.relu(Rs[0])]
                return lambda Xs, _Ys, Rs, _s: local_gradient(layer, Xs, tf.nn.relu(Rs[0]))
            return lambda Xs, _Ys, Rs, _s: local_gradient(layer, Xs, Rs[0])
        if role in ("activation", "softmax"):
            return lambda _Xs, _Ys, Rs, _s: list(Rs)
        if role in ("weighted", "affine"):
            kind = "dense" if role == "affine" or isinstance(layer, keras.layers.Dense) else "conv"
            rule = self._spec.rule_for(kind, is_input=role == "weighted" and info.step.is_input)
            return lambda Xs, _Ys, Rs, _s: [apply_rule(rule, layer, Xs[0], Rs[0])]
        if role == "gate":
            signal = info.step.gate_signal
            return lambda Xs, _Ys, Rs, _s: [Rs[0] if i == signal else tf.zeros_like(x) for i, x in enumerate(Xs)]
        if role == "add":

            def add(Xs, _Ys, Rs, _s):
                s = safe_divide(Rs[0], tf.add_n(list(Xs)))
                return [x * s for x in Xs]

            return add
        if role == "avgpool":

            def avgpool(Xs, Ys, Rs, _s):
                return [Xs[0] * local_gradient(layer, Xs, safe_divide(Rs[0], Ys[0]))[0]]

            return avgpool
        return lambda Xs, _Ys, Rs, _s: local_gradient(layer, Xs, Rs[0])


#: Identity at inference: the signal passes unchanged.
PASS_THROUGH = DROPOUT_TYPES


def local_gradient(layer: keras.layers.Layer, Xs: list, seed: tf.Tensor) -> list:
    """The vector-Jacobian product of the layer's map at ``Xs`` with ``seed``, on a private copy of its inputs.

    ``tf.gradients`` marks every op reachable from its ``xs``; on the clone's own tensors that is the rest of the
    forward and the reverse graph built so far (quadratic in the depth of DenseNet-like models), on fresh identity
    copies it is the layer's own ops only. ``layer.call`` records nothing in the clone's graph of layers.
    """
    xs = [tf.identity(x) for x in Xs]
    y = layer.call(xs[0] if len(xs) == 1 else xs)
    return tf.gradients(y, xs, grad_ys=seed)


class GraphAnalyzer:
    """One reverse analyzer on the clone of a model, in a private graph.

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

    Raises
    ------
    ValueError
        Naming every part of the model the method cannot handle.
    """

    def __init__(self, model: keras.Model, info: ModelInfo, spec: MethodSpec, a_layer: str | None = None) -> None:
        self._model = model
        comp = spec.computation
        base = "lrp" if comp.kind == "lrp" else ("deconvnet" if comp.signal == "deconvnet" else "guided_backprop")
        self._plan = make_plan(model, info, "lrp" if base == "lrp" else "guided")
        self._watch = WeightWatch(model, self._plan)
        self._dtype = info.dtype
        weights = clone_weights(model, self._plan, info.dtype)
        self._graph = PrivateGraph(info.dtype)
        self._indexed = a_layer is None
        with self._graph.scope(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clone, roles, tensors = build_clone(model, self._plan, info.input_shape, info.dtype)
            target = clone
            if a_layer is not None:
                # Flattened here: iNNvestigate's own flattening of a >2-D output fails on the output list.
                flat = keras.layers.Flatten(name="signxai_flatten_a")(tensors[a_layer])
                target = keras.Model(clone.inputs, flat)
            mode = "index" if self._indexed else "all"
            analyzer = SpecReverseAnalyzer(
                target,
                roles,
                base,
                spec=spec if base == "lrp" else None,
                seed="logit" if self._indexed else "one",
                neuron_selection_mode=mode,
            )
            analyzer.create_analyzer_model()
            self._inputs = analyzer.analysis_inputs
            self._output = analyzer.analysis_output
            self._assign: list[tuple[tf.Operation, list[tf.Tensor]]] = []
            self._layer_order = list(weights)
            for name in self._layer_order:
                variables = clone.get_layer(name).weights
                if len(variables) != len(weights[name]):
                    raise ValueError(f"layer {name!r}: clone has {len(variables)} weights, got {len(weights[name])}")
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
        if ops:
            self._graph.run(ops, feed)

    def refresh(self) -> bool:
        """Reload the caller's weights into the clone if they changed; returns whether they did."""
        if not self._watch.changed():
            return False
        self._load(clone_weights(self._model, self._plan, self._dtype))
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
