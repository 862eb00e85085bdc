"""Reliability corpus (issue 14): threads, models no method can explain exactly, input shapes and targets.

Threads: every map computed while other threads explain with the same model (or the same Explainer) must equal,
bit for bit, the map computed alone; the model keeps no hook and its flags. Without the per-model lock of
:mod:`signxai.torch.concurrency` this corpus measured 20 errors and 17 wrong maps in 105 calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from signxai.torch import Explainer, explain

THREAD_METHODS = [
    "smoothgrad",  # seeded: the same noise in every call
    "integrated_gradients",
    "gradient_x_sign",
    "guided_backprop",
    "grad_cam",
    "lrp_epsilon_0_1",
    "lrp_alpha_1_beta_0",
    "lrpsign_epsilon_0_25_std_x",
]
THREADS = 3
ROUNDS = 2


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.BatchNorm2d(6),
        nn.Conv2d(6, 6, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(6 * 4 * 4, 5),
    ).eval()


def _hooks(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) + len(m._backward_pre_hooks)
        for m in model.modules()
    )


def _run_threads(work: Callable[[int], list[tuple[str, torch.Tensor]]]) -> list[tuple[str, torch.Tensor]]:
    """Run ``work(i)`` in THREADS threads started together; every exception is re-raised here."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[str, torch.Tensor]] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results.extend(work(i))
        except BaseException as err:  # collected and re-raised in the main thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _compare(results: list[tuple[str, torch.Tensor]], expected: dict[str, torch.Tensor]) -> list[str]:
    return [name for name, out in results if not torch.equal(out, expected[name])]


@pytest.fixture(scope="module")
def threads_setup() -> tuple[nn.Module, torch.Tensor, dict[str, torch.Tensor]]:
    model = _model()
    x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    expected = {name: explain(model, x, name) for name in THREAD_METHODS}
    return model, x, expected


def test_threads_explaining_with_one_model_give_the_sequential_maps(threads_setup) -> None:
    model, x, expected = threads_setup
    model.train()  # its flags must come back
    flags = [m.training for m in model.modules()]

    def work(i: int) -> list[tuple[str, torch.Tensor]]:
        order = THREAD_METHODS[i:] + THREAD_METHODS[:i]  # each thread in another order
        return [(name, explain(model, x, name)) for _ in range(ROUNDS) for name in order]

    results = _run_threads(work)
    model.eval()
    assert len(results) == THREADS * ROUNDS * len(THREAD_METHODS)  # 48 calls
    assert _compare(results, expected) == []
    assert flags == [True] * len(flags)
    assert _hooks(model) == 0


def test_one_explainer_shared_by_threads_gives_the_sequential_maps(threads_setup) -> None:
    model, x, expected = threads_setup
    explainers = {name: Explainer(model, name) for name in THREAD_METHODS}  # built lazily, inside the threads

    def work(i: int) -> list[tuple[str, torch.Tensor]]:
        return [(name, explainers[name](x)) for _ in range(ROUNDS) for name in THREAD_METHODS]

    results = _run_threads(work)
    assert len(results) == THREADS * ROUNDS * len(THREAD_METHODS)
    assert _compare(results, expected) == []
    assert _hooks(model) == 0


def test_threads_on_two_models_sharing_a_submodule(threads_setup) -> None:
    """Hooks live on modules: a model that contains another one is locked with it."""
    model, x, expected = threads_setup
    outer = nn.Sequential(model)  # same modules, another root
    methods = ["lrp_epsilon_0_1", "guided_backprop", "integrated_gradients"]

    def work(i: int) -> list[tuple[str, torch.Tensor]]:
        net = outer if i % 2 else model
        return [(name, explain(net, x, name)) for _ in range(ROUNDS) for name in methods]

    results = _run_threads(work)
    assert _compare(results, expected) == []
    assert _hooks(model) == 0


# ------------------------------------------------------------------------------------------- final sigmoid
class _FunctionalSigmoid(nn.Module):
    def __init__(self, spelling: str) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
        self.spelling = spelling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.body(x)
        if self.spelling == "torch.sigmoid":
            return torch.sigmoid(z)
        if self.spelling == "F.sigmoid":
            return F.sigmoid(z)
        if self.spelling == "method":
            return z.sigmoid()
        if self.spelling == "expit":
            return torch.special.expit(z)
        if self.spelling == "logsigmoid":
            return nn.LogSigmoid()(z)
        if self.spelling == "special.softmax":
            return torch.special.softmax(z, 1)
        return nn.Sigmoid()(z)


@pytest.mark.parametrize(
    "spelling", ["torch.sigmoid", "F.sigmoid", "method", "module", "expit", "logsigmoid", "special.softmax"]
)
@pytest.mark.parametrize(
    "method", ["gradient", "smoothgrad", "guided_backprop", "lrp_epsilon_0_1", "integrated_gradients"]
)
def test_a_final_sigmoid_is_refused_unless_stripped(spelling: str, method: str) -> None:
    model = _FunctionalSigmoid(spelling).double().eval()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="ends with a softmax / log-softmax / sigmoid / log-sigmoid"):
        explain(model, x, method)
    stripped = explain(model, x, method, strip_softmax=True)
    torch.testing.assert_close(stripped, explain(model.body, x, method), rtol=0, atol=0)


# ------------------------------------------------------------------------------------------- half precision
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_models_are_refused(dtype: torch.dtype) -> None:
    model = _model().to(dtype)
    with pytest.raises(ValueError, match=r"half-precision parameters \(8\): 0.weight, 0.bias, 2.weight, 2.bias and 4"):
        explain(model, torch.randn(2, 3, 8, 8), "gradient")


# ------------------------------------------------------------------------------------------- TorchScript
@pytest.mark.filterwarnings("ignore:`torch.jit.trace:FutureWarning")
@pytest.mark.parametrize("kind", ["trace", "script"])
@pytest.mark.parametrize("method", ["gradient", "guided_backprop", "lrp_epsilon_0_1", "grad_cam"])
def test_torchscript_models_are_refused_naming_the_eager_module(kind: str, method: str) -> None:
    model = _model()
    x = torch.randn(2, 3, 8, 8)
    compiled = torch.jit.trace(model, x) if kind == "trace" else torch.jit.script(model)
    with pytest.raises(ValueError, match="TorchScript.*pass the eager torch.nn.Module"):
        explain(compiled, x, method)


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:FutureWarning")
def test_a_torchscript_submodule_is_refused_by_name() -> None:
    model = _model()
    x = torch.randn(2, 3, 8, 8)
    wrapped = nn.Sequential()
    wrapped.add_module("backbone", torch.jit.trace(model[:6], x))
    wrapped.add_module("head", model[6:])
    with pytest.raises(ValueError, match=r"cannot be explained: backbone\. "):
        explain(wrapped, x, "gradient")


# ------------------------------------------------------------------------------------------- several inputs
class _TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(y)


class _OptionalSecond(_TwoInputs):
    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.a(x) if y is None else self.a(x) + self.b(y)


def test_a_model_with_two_inputs_is_refused() -> None:
    with pytest.raises(ValueError, match=r"forward takes 2 inputs \(x, y\).*one input tensor"):
        explain(_TwoInputs(), torch.randn(2, 3), "gradient")


def test_a_tuple_of_tensors_is_refused() -> None:
    with pytest.raises(ValueError, match="tuple of 2 items with tensors: models with several inputs"):
        explain(_OptionalSecond(), (torch.randn(2, 3), torch.randn(2, 3)), "gradient")


def test_an_optional_second_input_is_accepted() -> None:
    model = _OptionalSecond().double()
    x = torch.randn(2, 3, dtype=torch.float64)
    out = explain(model, x, "gradient", target=1)
    torch.testing.assert_close(out, model.a.weight[1].detach().expand(2, 3), rtol=0, atol=0)


# ------------------------------------------------------------------------------------------- input shapes
def _conv1d() -> nn.Module:
    return nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 3))


@pytest.mark.parametrize(
    ("make", "shape", "message"),
    [
        (
            _model,
            (2, 8, 8, 3),
            r"input has shape \(2, 8, 8, 3\); the model's first layer Conv2d '0' takes 3 input channels \(axis 1\), "
            r"so the model expects \(batch, 3, H, W\), got 8: the input looks channels-last \(NHWC\).*"
            r"x\.permute\(0, 3, 1, 2\)",
        ),
        (_model, (2, 1, 8, 8), r"takes 3 input channels \(axis 1\).*got 1: give the input the channel count"),
        (
            _conv1d,
            (2, 16, 2),
            r"expects \(batch, 2, T\), got 16: the input looks channels-last \(NTC\).*permute\(0, 2, 1\)",
        ),
        (
            lambda: nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2)),
            (2, 4),
            r"first layer Linear '0' takes 5 input features \(last axis\), so the model expects \(batch, \.\.\., 5\), "
            r"got 4",
        ),
        (
            _model,
            (2, 3, 10, 10),
            r"input has shape \(2, 3, 10, 10\); Linear '7' takes 96 input features \(last axis\) but receives 150 .*"
            r"not the one the model was built for",
        ),
        (_model, (2, 3, 8), r"Conv2d '0' received an input of shape \(1, 3, 8\); it needs a batched input of rank 4"),
    ],
)
@pytest.mark.parametrize("method", ["gradient", "lrp_epsilon_0_1"])
def test_input_shape_errors_name_expected_and_given_shapes(make, shape, message: str, method: str) -> None:
    model = make().eval()
    with pytest.raises(ValueError, match=message):
        explain(model, torch.randn(*shape), method)
    assert _hooks(model) == 0


def test_a_two_dimensional_target_says_what_is_accepted() -> None:
    model = _model()
    with pytest.raises(ValueError, match=r"flat sequence of 3 ints \(shape \(3,\)\).*numpy.ravel"):
        explain(model, torch.randn(3, 3, 8, 8), "gradient", target=[[0], [1], [2]])
    np.testing.assert_array_equal(
        explain(model, torch.randn(3, 3, 8, 8).numpy(), "gradient", target=np.ravel([[0], [1], [2]])).shape,
        (3, 3, 8, 8),
    )


def test_the_lock_table_forgets_models_that_are_gone() -> None:
    from signxai.torch import concurrency

    x = torch.randn(1, 3, 8, 8)
    before = len(concurrency._LOCKS)
    for _ in range(300):  # 300 models x 9 modules: more than the first sweep threshold (1024)
        explain(_model(), x, "gradient")
    assert len(concurrency._LOCKS) < before + 300 * 9 - 1000  # the entries of models that are gone were swept


class _ChannelsLastConv(nn.Conv2d):
    """A convolution subclass with its own forward that takes NHWC: its own input layout is not checked."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 3, 1, 2))


def test_a_layer_subclass_with_its_own_forward_is_not_shape_checked() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(_ChannelsLastConv(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)).double()
    x = torch.randn(2, 8, 8, 3, dtype=torch.float64)
    assert explain(model, x, "gradient").shape == x.shape
