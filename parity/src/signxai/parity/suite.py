"""The parity suite: which models, inputs, methods, tiers and targets ``python -m signxai.parity`` runs.

Two profiles:

- ``full``: every applicable catalog method on every model, both tiers, argmax and a fixed non-argmax target,
  with the parameters written in the names (SmoothGrad 50 samples, integrated gradients 50/100 steps). On 2 CPU
  cores this takes hours (VGG16 at 224 in float64 costs about 5 s per forward+backward pass in TensorFlow).
- ``ci`` (default, about 13 minutes on 2 cores, 17 GB peak memory): every applicable method on the 12-lead ECG model
  fed a recorder-like ECG (:func:`signxai.parity.data.ecg_recording`: 1 µV quantisation, a flat stretch, zero
  padding to the model's length — max-pooling windows full of ties), both tiers, both targets; the same model with a
  constant non-zero segment instead of the flat one on :data:`SMALL_CI_METHODS`; on VGG16 at 224, fed the photograph
  with clipped highlights and shadows (:func:`signxai.parity.data.vgg16_saturated_image`), a representative
  subset (:data:`VGG16_CI_METHODS`: every method family and base, every modifier, every LRP input rule and every
  body rule at least once) in both targets, in float32 and, except :data:`VGG16_CI_FLOAT64_EXCLUDED` (memory), in
  float64, with SmoothGrad / VarGrad / integrated gradients run with fewer samples / steps (:data:`VGG16_CI_PARAMS`,
  passed as keywords to both backends: the same code path with fewer terms); on the three small conversion models
  :data:`SMALL_CI_METHODS`, and so do the architecture models (:data:`ARCHITECTURES`: a 1-D ECG ResNet fed a 250 Hz
  recording with a flat stretch and zero padding, a small 2-D ResNet, MobileNetV2-, DenseNet- and EfficientNet-style
  stacks fed clipped photographs scaled to [-1, 1]). The report names every restriction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from signxai.common import list_methods

from . import data, models

#: VGG16 methods of the ``ci`` profile: each family, base, modifier, input rule and body rule at least once.
VGG16_CI_METHODS = (
    "gradient",
    "input_t_gradient",
    "gradient_x_sign_mu_neg_0_5",
    "guided_backprop_x_sign",
    "deconvnet_x_sign_mu",
    "smoothgrad",
    "vargrad_x_input",
    "integrated_gradients",
    "random_uniform",
    "grad_cam",
    "grad_cam_VGG16ILSVRC",
    "guided_grad_cam_VGG16ILSVRC",
    "lrp_z",
    "lrp_epsilon_0_1",
    "lrpsign_epsilon_0_25_std_x",
    "lrpsign_epsilon_100_mu_0_5",
    "lrp_alpha_1_beta_0",
    "lrpz_alpha_2_beta_1",
    "lrp_gamma_0_25",
    "w2lrp_epsilon_0_1",
    "flatlrp_z",
    "lrp_flat",
    "lrp_w_square",
    "zblrp_epsilon_0_1_VGG16ILSVRC",
    "lrp_sequential_composite_a",
    "lrpsign_sequential_composite_b",
    "deep_taylor",
)
#: VGG16 methods left out of the ``ci`` profile's float64 tier: iNNvestigate's analyzers for alpha-beta / Z+
#: rules peak at 12-17 GB resident memory on VGG16 in float64 (measured: lrp_alpha_1_beta_0 16.9 GB,
#: deep_taylor 16.8 GB, lrp_sequential_composite_a 12.1 GB), above what a 24 GB CI machine can hold beside the
#: rest. They run on VGG16 in float32 and in both tiers on every other model.
VGG16_CI_FLOAT64_EXCLUDED = (
    "lrp_alpha_1_beta_0",
    "lrpz_alpha_2_beta_1",
    "lrp_sequential_composite_a",
    "lrpsign_sequential_composite_b",
    "deep_taylor",
)
#: Fewer samples / steps for VGG16's sampling methods in the ``ci`` profile.
VGG16_CI_PARAMS = {
    "smoothgrad": {"samples": 4},
    "vargrad_x_input": {"samples": 4},
    "integrated_gradients": {"steps": 4},
}
#: Methods of the ``ci`` profile on the small conversion models (BatchNorm, pooling, Permute/Reshape).
SMALL_CI_METHODS = (
    "gradient_x_input",
    "guided_backprop",
    "smoothgrad",
    "integrated_gradients",
    "grad_cam",
    "grad_cam_timeseries",
    "lrp_z",
    "lrp_epsilon_0_1",
    "lrpsign_epsilon_0_25_std_x",
    "lrp_alpha_2_beta_1",
    "lrp_gamma_0_25",
    "w2lrp_z",
    "flatlrp_epsilon_1",
    "zblrp_z_VGG16ILSVRC",
    "lrp_sequential_composite_b",
    "deep_taylor",
)
PROFILES = ("ci", "full")
#: Level of the constant (non-zero) segment of the second ECG input, in mV (a baseline offset).
ECG_CONSTANT_MV = 0.3


@dataclass(frozen=True)
class Case:
    """One model of the suite.

    Attributes
    ----------
    name : str
        Model name in the report.
    build : callable
        ``build(dtype="float32", seed=0) -> keras.Model``.
    inputs : callable
        ``inputs(model) -> numpy.ndarray`` (Keras layout, batch axis first).
    methods : tuple of str or None
        Catalog names to run (None: the whole catalog).
    methods_float32, methods_float64 : tuple of str or None
        Catalog names of that tier when they differ from ``methods``.
    params : dict
        Extra keywords per method name.
    note : str
        Restriction stated in the report.
    """

    name: str
    build: Callable[..., Any]
    inputs: Callable[[Any], np.ndarray]
    methods: tuple[str, ...] | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    note: str = ""
    methods_float32: tuple[str, ...] | None = None
    methods_float64: tuple[str, ...] | None = None

    def methods_for(self, tier: str) -> tuple[str, ...] | None:
        """The catalog names of a tier (None: the whole catalog)."""
        own = {"float32": self.methods_float32, "float64": self.methods_float64}.get(tier)
        return self.methods if own is None else own


def _small(model) -> np.ndarray:
    return data.small_inputs(tuple(model.input_shape[1:]), n=2, seed=1)


def _photos(model) -> np.ndarray:
    return data.saturated_photos(size=int(model.input_shape[1]))


def _ecg_250hz(model) -> np.ndarray:
    """3 s recorded at 250 Hz with a flat stretch, zero-padded to the model's 4 s."""
    return data.ecg_recording(length=int(model.input_shape[1]), recorded=750, sampling_rate=250, flat=(300, 400))


#: The residual / mobile / dense / gated architectures (spec section 8) and their inputs.
ARCHITECTURES = (
    ("ecg_resnet", models.ecg_resnet, _ecg_250hz),
    ("resnet2d", models.resnet2d, _photos),
    ("mobilenet_block", models.mobilenet_block, _photos),
    ("densenet_block", models.densenet_block, _photos),
    ("efficientnet_block", models.efficientnet_block, _photos),
)


def cases(profile: str = "ci") -> list[Case]:
    """The suite's models for a profile (``ci`` or ``full``)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    ci = profile == "ci"
    vgg_note = (
        f"ci profile: VGG16 runs {len(VGG16_CI_METHODS)} representative methods of {len(list_methods())} "
        f"(every family, base, modifier, LRP input rule and body rule), sampling methods with "
        + ", ".join(f"{k} {v}" for k, v in VGG16_CI_PARAMS.items())
        + "; its float64 tier leaves out "
        + ", ".join(VGG16_CI_FLOAT64_EXCLUDED)
        + " (iNNvestigate needs 12-17 GB for them on VGG16 in float64; they run in float32)"
        + "; `python -m signxai.parity --profile full` runs all"
        if ci
        else ""
    )
    constant_note = (
        f"ci profile: the ECG with a constant {ECG_CONSTANT_MV} mV segment runs the {len(SMALL_CI_METHODS)} methods "
        "of the small models (the whole catalog runs on the ECG with a flat segment)"
        if ci
        else ""
    )
    small_note = (
        f"ci profile: the small conversion models run {len(SMALL_CI_METHODS)} methods covering every rule kind"
        if ci
        else ""
    )
    architecture_note = (
        f"ci profile: the architecture models run the {len(SMALL_CI_METHODS)} methods of the small models" if ci else ""
    )
    return [
        Case(
            "vgg16",
            models.vgg16,
            lambda m: data.vgg16_saturated_image(),
            VGG16_CI_METHODS if ci else None,
            dict(VGG16_CI_PARAMS) if ci else {},
            vgg_note,
            methods_float64=tuple(m for m in VGG16_CI_METHODS if m not in VGG16_CI_FLOAT64_EXCLUDED) if ci else None,
        ),
        Case("ecg_cnn", models.ecg_cnn, lambda m: data.ecg_recording(length=int(m.input_shape[1]))),
        Case(
            "ecg_cnn_constant",
            models.ecg_cnn,
            lambda m: data.ecg_recording(length=int(m.input_shape[1]), constant=ECG_CONSTANT_MV),
            SMALL_CI_METHODS if ci else None,
            note=constant_note,
        ),
        Case("batchnorm_cnn", models.batchnorm_cnn, _small, SMALL_CI_METHODS if ci else None, note=small_note),
        Case("pooling_cnn", models.pooling_cnn, _small, SMALL_CI_METHODS if ci else None, note=small_note),
        Case("reshape_cnn", models.reshape_cnn, _small, SMALL_CI_METHODS if ci else None, note=small_note),
        *(
            Case(name, build, inputs, SMALL_CI_METHODS if ci else None, note=architecture_note)
            for name, build, inputs in ARCHITECTURES
        ),
    ]


def non_argmax_class(logits: np.ndarray) -> int:
    """A fixed non-argmax target: the class with the second-highest logit of the first sample that is no
    sample's argmax."""
    logits = np.asarray(logits)
    winners = set(np.argmax(logits, axis=1).tolist())
    for cls in np.argsort(-logits[0], kind="stable"):
        if int(cls) not in winners:
            return int(cls)
    raise ValueError("every class is some sample's argmax; no fixed non-argmax target exists")
