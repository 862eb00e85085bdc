"""How each method base is computed, said once for every backend (the dispatch table).

A backend never compares base names: it reads :attr:`signxai.common.MethodSpec.computation` and implements each
:class:`Computation` *kind* once. A new method base is one entry in :data:`COMPUTATIONS` (plus its catalog /
grammar entry); a backend needs new code only for a new kind or signal.

kind        what the backend computes                                               fields used
---------   ----------------------------------------------------------------------  --------------------------
backward    one backward pass of the target's output seed through the model          ``signal``
path        integrated gradients: mean gradient along the baseline -> x path, * dx   ``signal``, ``points``
noise       gradients at noisy copies of x, folded into their mean or variance       ``signal``, ``aggregate``,
                                                                                     ``points``
lrp         layer-wise relevance propagation with the spec's rules                   (the spec's rules)
cam         Grad-CAM of the spec's layer; times guided backprop when ``guided``     ``guided``
baseline    a seeded random map independent of the model                              (the spec's seed)

``signal`` is what the backward pass does at element-wise activations (spec sections 2 and 8): ``gradient`` (the
activation's derivative), ``guided`` (guided backprop: max(signal, 0) * f'(x)) or ``deconvnet`` (max(signal, 0)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["backward", "path", "noise", "lrp", "cam", "baseline"]
Signal = Literal["gradient", "guided", "deconvnet"]


@dataclass(frozen=True)
class Computation:
    """What a backend computes for one method base.

    Attributes
    ----------
    family : {"gradient", "lrp", "cam", "baseline"}
        The method family the base belongs to (spec section 2).
    kind : {"backward", "path", "noise", "lrp", "cam", "baseline"}
        The algorithm (see the module docstring).
    signal : {"gradient", "guided", "deconvnet"} or None
        How the backward pass treats element-wise activations (None for LRP, Grad-CAM without guidance and the
        baseline).
    aggregate : {"mean", "variance"} or None
        How ``noise`` folds its gradients: SmoothGrad's mean or VarGrad's variance.
    points : {"steps", "samples"} or None
        The spec field giving the points per sample of a multi-point method (None: one point).
    guided : bool
        Guided Grad-CAM: the CAM is multiplied by guided backprop of the input.
    """

    family: Literal["gradient", "lrp", "cam", "baseline"]
    kind: Kind
    signal: Signal | None = None
    aggregate: Literal["mean", "variance"] | None = None
    points: Literal["steps", "samples"] | None = None
    guided: bool = False

    @property
    def needs_reverse_pass(self) -> bool:
        """True where the backward pass is not autograd's: LRP rules or guided backprop / deconvnet activations."""
        return self.kind == "lrp" or self.signal in ("guided", "deconvnet")


#: The computation of every method base (the keys are exactly the bases :class:`signxai.common.MethodSpec` accepts).
COMPUTATIONS: dict[str, Computation] = {
    "gradient": Computation("gradient", "backward", signal="gradient"),
    "guided_backprop": Computation("gradient", "backward", signal="guided"),
    "deconvnet": Computation("gradient", "backward", signal="deconvnet"),
    "integrated_gradients": Computation("gradient", "path", signal="gradient", points="steps"),
    "smoothgrad": Computation("gradient", "noise", signal="gradient", aggregate="mean", points="samples"),
    "vargrad": Computation("gradient", "noise", signal="gradient", aggregate="variance", points="samples"),
    "lrp": Computation("lrp", "lrp"),
    "deep_taylor": Computation("lrp", "lrp"),
    "grad_cam": Computation("cam", "cam"),
    "guided_grad_cam": Computation("cam", "cam", signal="guided", guided=True),
    "random_uniform": Computation("baseline", "baseline"),
}


def bases_of(family: str) -> tuple[str, ...]:
    """The method bases of one family, in table order."""
    return tuple(base for base, comp in COMPUTATIONS.items() if comp.family == family)
