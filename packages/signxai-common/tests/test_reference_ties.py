"""The max-pooling tie rule of spec section 1 in the float64 reference (tau = 1e-9, s = max|input| per sample)."""

from __future__ import annotations

import numpy as np
import pytest

from signxai.common.reference import explain, zoo
from signxai.common.reference import layers as L
from signxai.common.reference.gradients import TIE_TOLERANCE
from signxai.common.reference.ops import MaxPoolOp, model_ops, run_ops


def pool_model(length: int) -> L.Model:
    """MaxPool1D 3 on (length, 1), then a Dense with weight 1 on the first window only: z = max of window 0."""
    w = np.zeros((length // 3, 1))
    w[0, 0] = 1.0
    return L.Model((L.MaxPool1D(3, name="mp"), L.Flatten(), L.Dense(w, None)), input_shape=(length, 1))


def one_hot(length: int, i: int, value: float = 1.0) -> np.ndarray:
    out = np.zeros((1, length, 1))
    out[0, i, 0] = value
    return out


@pytest.mark.parametrize("method", ["gradient", "lrp_z", "lrp_epsilon_0_1", "guided_backprop", "deconvnet"])
def test_a_near_tie_goes_to_the_first_element_and_a_clear_max_to_the_max(method):
    model = pool_model(3)
    near = np.array([[[1.0], [1.0 + 0.5 * TIE_TOLERANCE], [0.2]]])  # within tau * s (s = 1 + 5e-10)
    clear = np.array([[[1.0], [1.0 + 2.0 * TIE_TOLERANCE], [0.2]]])  # just outside
    seed = 1.0 if method == "gradient" else None
    for x, winner in ((near, 0), (clear, 1)):
        z_t = x[0, :, 0].max()
        expected = one_hot(3, winner, seed if seed is not None else z_t)
        if method == "lrp_epsilon_0_1":
            expected *= z_t / (z_t + 0.1)
        np.testing.assert_allclose(explain(model, x, method, target=0), expected, rtol=1e-12, err_msg=method)


def test_the_scale_s_is_the_largest_magnitude_of_the_whole_pooling_input_of_that_sample():
    model = pool_model(6)
    gap = 5.0 * TIE_TOLERANCE  # a tie when s >= 5, not when s is about 1
    small = np.array([[[1.0], [1.0 + gap], [0.0], [0.1], [0.0], [0.0]]])
    large = np.array([[[1.0], [1.0 + gap], [0.0], [-10.0], [0.0], [0.0]]])  # s = 10 from another window
    np.testing.assert_array_equal(explain(model, small, "gradient", target=0), one_hot(6, 1))
    np.testing.assert_array_equal(explain(model, large, "gradient", target=0), one_hot(6, 0))
    # per sample: in a batch each sample keeps its own s
    both = explain(model, np.concatenate([small, large]), "gradient", target=0)
    np.testing.assert_array_equal(both, np.concatenate([one_hot(6, 1), one_hot(6, 0)]))


def test_ties_in_a_2d_window_go_to_the_first_in_row_major_order():
    model = L.Model((L.MaxPool2D((2, 2)), L.Flatten(), L.Dense(np.ones((1, 1)), None)), input_shape=(2, 2, 1))
    x = np.array([[[[0.3], [0.9]], [[0.9 + 1e-10], [0.9 + 3e-10]]]])  # three values within tau * s of the max
    expected = np.zeros_like(x)
    expected[0, 0, 1, 0] = 1.0
    np.testing.assert_array_equal(explain(model, x, "gradient", target=0), expected)
    np.testing.assert_allclose(explain(model, x, "lrp_z", target=0), expected * (0.9 + 3e-10), rtol=1e-15)


@pytest.mark.parametrize("name", ["ecg_resnet", "gated_ecg", "residual_cnn", "timeseries_cnn"])
def test_flat_inputs_put_ties_into_the_pooling_windows_and_every_family_runs_on_them(name):
    model = {**zoo.MODELS, **zoo.DAG_MODELS}[name]()
    x = zoo.flat_inputs(model, 2)
    length = model.input_shape[0]
    assert np.all(x[:, length // 4 : length // 2] == 0.25) and np.all(x[:, length - length // 4 :] == 0)
    assert np.all(x * 8 == np.round(x * 8))
    graph = model_ops(model)
    acts = run_ops(graph, x)
    tied = 0
    for node in graph.nodes:
        if isinstance(node.op, MaxPoolOp):
            values = np.sort(acts[node.inputs[0]][:, node.op.windows], axis=2)
            tied += int(np.sum((values[..., -1] == values[..., -2]) & (values[..., -1] != 0)))
    assert tied > 0  # ties at non-zero values, not only ReLU zeros
    for method in ("gradient", "deconvnet", "lrp_epsilon_0_1", "lrpsign_sequential_composite_b", "flatlrp_z"):
        r = explain(model, x, method)
        assert r.shape == x.shape and np.all(np.isfinite(r)), method
