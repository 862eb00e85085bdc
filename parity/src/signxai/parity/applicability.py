"""Which catalog methods apply to a model, and with which keywords (decided from the Keras model alone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signxai.common import list_methods, parse_method, required_keywords

#: mu passed to the bare ``_x_sign_mu`` names, which need ``mu=`` (docs/decisions.md).
BARE_MU = 0.5


@dataclass(frozen=True)
class Planned:
    """One method as the parity check will run it.

    Attributes
    ----------
    method : str
        Catalog name.
    params : dict
        Keywords passed to both backends.
    reason : str or None
        Why the method does not apply to this model (None when it applies).
    """

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    @property
    def applicable(self) -> bool:
        return self.reason is None


def _layer_names(keras_model) -> set[str]:
    return {layer.name for layer in keras_model.layers}


def plan_method(name: str, keras_model, input_rank: int, params: dict[str, Any] | None = None) -> Planned:
    """Decide whether ``name`` applies to ``keras_model`` for inputs of ``input_rank`` (batch axis included).

    Grad-CAM: image variants need a rank-4 input, ``_timeseries`` variants a rank-3 input; an alias with a fixed
    layer (``_VGG16ILSVRC``, ``_VGG16MITPL365``, ``_MNISTCNN``) applies only where that layer exists. Bare
    ``_x_sign_mu`` names get ``mu=0.5``. ``zblrp`` names without fixed bounds need ``low=``/``high=`` in
    ``params``.

    Parameters
    ----------
    name : str
        Catalog name.
    keras_model : keras.Model
        The model.
    input_rank : int
        Rank of the input batch (4: images, 3: time series).
    params : dict or None
        Extra keywords for this method (they win over the defaults chosen here).

    Returns
    -------
    Planned
    """
    kwargs: dict[str, Any] = {}
    if "mu" in required_keywords(name):
        kwargs["mu"] = BARE_MU
    kwargs.update(params or {})
    missing = [k for k in required_keywords(name) if k not in kwargs]
    if missing:
        return Planned(name, kwargs, f"needs {', '.join(f'{k}=' for k in missing)}")
    spec = parse_method(name, **kwargs)
    if spec.family == "cam":
        wanted = 4 if spec.cam_kind == "image" else 3
        if input_rank != wanted:
            kind = "images (rank-4 input)" if wanted == 4 else "time series (rank-3 input)"
            return Planned(name, kwargs, f"{spec.cam_kind} Grad-CAM is for {kind}")
        if spec.layer is not None and spec.layer not in _layer_names(keras_model):
            return Planned(name, kwargs, f"the model has no layer {spec.layer!r}")
    return Planned(name, kwargs)


def plan_methods(
    keras_model, input_rank: int, methods: list[str] | None = None, params: dict[str, dict[str, Any]] | None = None
) -> list[Planned]:
    """:func:`plan_method` for each name of ``methods`` (default: the whole catalog, ``list_methods()``)."""
    names = list(list_methods()) if methods is None else list(methods)
    params = params or {}
    return [plan_method(n, keras_model, input_rank, params.get(n)) for n in names]
