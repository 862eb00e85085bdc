"""The method catalog: every name SignXAI documents, tests and runs through the parity suite.

The catalog is the 152 names of the reference implementation (``reference_method_names.txt`` of the spec)
plus the documented extensions of the grammar (gamma, flat, w_square and alpha-2-beta-1 bodies on every
prefix, ``deep_taylor``, ``_x_input`` on every gradient base, plain and time-series guided Grad-CAM, and
examples of parameters written in names). Every catalog name is valid; a few need a keyword
(:func:`signxai.common.required_keywords`).
"""

from __future__ import annotations

from functools import lru_cache

from .grammar import CAM_ALIASES, GRADIENT_BASES, LRP_PREFIXES

#: Numbers of the epsilon bodies, as written in names.
EPSILONS = ("0_001", "0_01", "0_1", "0_2", "0_5", "1", "5", "10", "20", "50", "75", "100")
#: Factors of the std_x bodies.
STD_X_FACTORS = ("0_1", "0_25", "0_5", "1", "2", "3")
#: mu values of the ``_x_sign_mu_M`` modifiers and of SIGN-mu.
MUS = ("0", "0_5", "neg_0_5")

LRP_BODIES = (
    "z",
    *(f"epsilon_{e}" for e in EPSILONS),
    *(f"epsilon_{f}_std_x" for f in STD_X_FACTORS),
    "alpha_1_beta_0",
    "alpha_2_beta_1",
    "gamma_0_25",
    "flat",
    "w_square",
    "sequential_composite_a",
    "sequential_composite_b",
)
GRADIENT_MODIFIERS = ("", "_x_input", "_x_sign", "_x_sign_mu", *(f"_x_sign_mu_{m}" for m in MUS))


@lru_cache(maxsize=1)
def _catalog() -> tuple[str, ...]:
    names: list[str] = ["input_t_gradient", "random_uniform", "deep_taylor"]
    names += [base + mod for base in GRADIENT_BASES for mod in GRADIENT_MODIFIERS]
    names += ["integrated_gradients_steps_100", "smoothgrad_noise_0_3_samples_50", "vargrad_noise_0_3_samples_50"]
    for cam in ("grad_cam", "guided_grad_cam"):
        names += [cam, f"{cam}_timeseries", *(f"{cam}_{alias}" for alias in CAM_ALIASES)]
    for prefix in LRP_PREFIXES:
        suffix = "_VGG16ILSVRC" if prefix == "zblrp" else ""
        names += [f"{prefix}_{body}{suffix}" for body in LRP_BODIES]
    names += [f"lrpsign_{body}_mu_{mu}" for body in ("epsilon_0_25_std_x", "epsilon_100") for mu in MUS]
    return tuple(sorted(names))


def list_methods() -> tuple[str, ...]:
    """Every catalog method name, sorted.

    Returns
    -------
    tuple of str
        Each name is accepted by :func:`signxai.common.parse_method` (the few listed by
        :func:`signxai.common.required_keywords` need a keyword such as ``mu=``).
    """
    return _catalog()
