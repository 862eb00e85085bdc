"""``python -m signxai.parity.applications``: :func:`signxai.parity.check` on ``keras.applications`` models.

This is how a user checks their own model: build it (here ``keras.applications`` ResNet50, MobileNetV2,
DenseNet121 and EfficientNetB0 with ``weights=None``, logits output, at a small input size), give it seeded weights,
and call ``check(model, x, methods=..., dtype=...)`` for each tier; the report says per method whether the PyTorch
conversion explains it as TensorFlow does. Nothing is downloaded: the weights are seeded
(:func:`signxai.parity.models.init_weights`: He-normal kernels, non-trivial BatchNorm statistics) and the input is
two 32×32 crops of scikit-image photographs with saturated regions (:func:`signxai.parity.data.saturated_photos`).

Options: ``--models`` (default all four), ``--tiers`` (float64, float32), ``--size`` (input side, default 32, the
smallest these models accept), ``--methods`` (default the suite's :data:`~signxai.parity.suite.SMALL_CI_METHODS`,
one per rule kind), ``--out`` (report folder, default ``out/parity-applications``). Exit status 0 only when every
check passed. Not part of ``nox -s parity`` (about 15 minutes on 2 cores); ``nox -s parity-applications`` runs it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

#: The ``keras.applications`` models checked (spec section 8's architectures as users have them).
APPLICATIONS = ("ResNet50", "MobileNetV2", "DenseNet121", "EfficientNetB0")
#: Classes of the seeded classifier head.
CLASSES = 10


def build(name: str, size: int = 32, seed: int = 0):
    """``keras.applications.<name>`` without downloaded weights, logits output, seeded weights.

    Parameters
    ----------
    name : str
        One of :data:`APPLICATIONS`.
    size : int
        Input height and width (32 is the smallest these models accept).
    seed : int
        Seed of the weights.

    Returns
    -------
    keras.Model
    """
    from tensorflow import keras

    from .models import init_weights

    if name not in APPLICATIONS:
        raise ValueError(f"unknown application {name!r}; choose from {APPLICATIONS}")
    model = getattr(keras.applications, name)(
        weights=None, input_shape=(size, size, 3), classes=CLASSES, classifier_activation=None
    )
    init_weights(model, seed=seed)
    return model


def inputs(name: str, size: int = 32) -> np.ndarray:
    """Two photograph crops in the range the model expects: [-1, 1], or 0..255 for EfficientNet (which rescales and
    normalises inside the model)."""
    from .data import saturated_photos

    x = saturated_photos(size=size)
    return (x + 1.0) * 127.5 if name.startswith("EfficientNet") else x


def _parser() -> argparse.ArgumentParser:
    from .suite import SMALL_CI_METHODS

    parser = argparse.ArgumentParser(prog="python -m signxai.parity.applications", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=APPLICATIONS, default=list(APPLICATIONS))
    parser.add_argument("--tiers", nargs="+", choices=("float64", "float32"), default=["float64", "float32"])
    parser.add_argument("--size", type=int, default=32, help="input height and width (default 32)")
    parser.add_argument("--methods", nargs="+", default=list(SMALL_CI_METHODS), help="catalog names")
    parser.add_argument("--out", default="out/parity-applications", help="report folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 only when every check passed)."""
    from .check import check
    from .report import Report, write_report
    from .suite import non_argmax_class

    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    report = Report()
    for name in args.models:
        model = build(name, args.size)
        x = inputs(name, args.size)
        fixed = non_argmax_class(np.asarray(model(x, training=False)))
        for tier in args.tiers:
            report.extend(check(model, x, methods=args.methods, dtype=tier, targets=[None, fixed], model_name=name))
        report.notes.append(f"{name}: input {tuple(x.shape)}, targets argmax and class {fixed} (non-argmax)")
    json_path, md_path = write_report(report, Path(args.out))
    print("\n".join(report.summary_lines()))
    print(f"report: {json_path} and {md_path}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
