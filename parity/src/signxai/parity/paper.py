"""The SIGN paper's digits experiment in both frameworks with the same weights (``nox -s paper``).

Gumpfer et al., "SIGNed explanations: Unveiling relevant features by reducing bias", Information Fusion 99 (2023):
classifiers are trained on the same images in several input ranges, in normal and inverted form, and every method
is measured for faithfulness (MoRF pixel flipping, area over the curve) and for its bias towards the input (the
correlation between input and relevance). SIGN should lower that correlation at equal faithfulness.

What :func:`run` does (choices and their reasons in ``docs/paper.md``):

* **Data.** scikit-learn's digits (8x8, ships with scikit-learn, works offline) at their native 8x8 resolution:
  upsampling adds no information and would make every explanation and every flipping step larger (28x28 is 12x
  the positions); 64 positions flipped in ``steps`` groups keep a curve cheap. Split 75 / 25, seeded.
* **Ranges.** The [0, 1] digits mapped to [0, 1], [-1, 0] and [-1, 1], in normal form (background = low end) and
  inverted form (``x -> low + high - x``: background = high end).
* **Models.** A dense net (Flatten -> 64 -> 32 -> 10) and a CNN (Conv 16 -> pool -> Conv 32 -> pool -> 32 -> 10),
  ReLU, logits, per range and form: 12 Keras models, trained with Adam on the training set plus one augmented
  copy (shifts of up to one pixel, 5 % salt-and-pepper noise), seeded; then converted to PyTorch through ONNX
  (:func:`signxai.parity.convert.keras_to_torch`), so both frameworks explain the same weights.
* **Measures.** The first ``samples`` correctly classified test digits (by the Keras model), target = their
  label. :func:`signxai.common.metrics.pixel_flipping` MoRF with ``steps`` steps, replacement values uniform in
  the model's input range, scores as softmax probability (``normalise="softmax"``: defined for every sample,
  unlike the ratio to a logit that may be <= 0); AOC mean and std over the samples, and the AOC of
  :func:`~signxai.common.metrics.random_uniform` maps (same seed for every method) as the baseline;
  :func:`signxai.common.metrics.input_bias` Pearson / Spearman between input and relevance.

Output in ``out``: ``table.csv`` (one row per model x range x form x method, TensorFlow and PyTorch side by side),
``table.md`` (headline summary + the full table), ``morf.png`` (mean MoRF curves of a few methods).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

#: Gradient family: x input against the SIGN variants (``_x_sign`` and its mu thresholds).
GRADIENT_METHODS = (
    "gradient_x_input",
    "gradient_x_sign",
    "gradient_x_sign_mu_neg_0_5",
    "gradient_x_sign_mu_0",
    "gradient_x_sign_mu_0_5",
)
#: LRP: epsilon rule throughout (lrp_), z rule in the input layer (lrpz_), SIGN rule in the input layer (lrpsign_).
LRP_METHODS = (
    "lrp_epsilon_100",
    "lrpz_epsilon_100",
    "lrpsign_epsilon_100",
    "lrpsign_epsilon_100_mu_neg_0_5",
    "lrpsign_epsilon_100_mu_0",
    "lrpsign_epsilon_100_mu_0_5",
    "lrp_epsilon_0_25_std_x",
    "lrpsign_epsilon_0_25_std_x",
)
METHODS = GRADIENT_METHODS + LRP_METHODS
#: The random baseline's name in the tables (not a catalog method: :func:`signxai.common.metrics.random_uniform`).
RANDOM = "random_uniform"
#: Methods drawn in ``morf.png`` (those present in the run; the random baseline always).
PLOTTED = ("gradient_x_input", "gradient_x_sign", "lrp_epsilon_100", "lrpz_epsilon_100", "lrpsign_epsilon_100")
ARCHITECTURES = ("dense", "cnn")
RANGES: tuple[tuple[float, float], ...] = ((0.0, 1.0), (-1.0, 0.0), (-1.0, 1.0))
FORMS = ("normal", "inverted")


@dataclass(frozen=True)
class PaperConfig:
    """Sizes and selection of a run (the defaults are the full experiment: a few minutes on 2 CPU cores)."""

    architectures: tuple[str, ...] = ARCHITECTURES
    ranges: tuple[tuple[float, float], ...] = RANGES
    forms: tuple[str, ...] = FORMS
    methods: tuple[str, ...] = METHODS
    samples: int = 100
    steps: int = 20
    epochs: int = 10
    seed: int = 0


@dataclass
class Row:
    """One method on one model: TensorFlow (``_tf``) and PyTorch (``_torch``) measures side by side.

    ``aoc_*`` is the MoRF AOC (mean, std over the samples), ``daoc_*`` the mean AOC minus the random baseline's,
    ``pearson_*`` / ``spearman_*`` the mean input-relevance correlation; ``parity`` the largest
    max|R_tf - R_torch| / max|R_tf| over the samples (``nan`` for the random baseline).
    """

    architecture: str
    range: str
    form: str
    method: str
    accuracy: float
    samples: int
    aoc_tf: float
    aoc_tf_std: float
    aoc_torch: float
    aoc_torch_std: float
    daoc_tf: float
    daoc_torch: float
    pearson_tf: float
    pearson_torch: float
    spearman_tf: float
    spearman_torch: float
    parity: float


@dataclass
class PaperResult:
    """What :func:`run` wrote and measured."""

    rows: list[Row]
    curves: dict[tuple[str, str, str, str], np.ndarray] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0


def _log(message: str, enabled: bool) -> None:
    if enabled:
        print(f"[paper] {message}", file=sys.stderr, flush=True)


def range_label(bounds: tuple[float, float]) -> str:
    """``(-1.0, 0.0)`` -> ``"[-1,0]"``."""
    return "[" + ",".join(f"{b:g}" for b in bounds) + "]"


def digits01(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits in [0, 1], shape (N, 8, 8, 1), split 75 / 25: ``x_train, y_train, x_test, y_test``."""
    from .demo.data import digits

    split = digits(upscale=1, seed=seed)
    return split.x_train, split.y_train, split.x_test, split.y_test


def augment(x01: np.ndarray, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """A copy of [0, 1] images shifted by up to one pixel (zero fill) with ``noise`` salt-and-pepper pixels."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(x01)
    height, width = x01.shape[1:3]
    for i, (dy, dx) in enumerate(rng.integers(-1, 2, size=(len(x01), 2))):
        src = x01[i, max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
        out[i, max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    flip = rng.random(out.shape) < noise
    out[flip] = rng.integers(0, 2, size=int(flip.sum())).astype(out.dtype)
    return out


def to_range(x01: np.ndarray, bounds: tuple[float, float], inverted: bool) -> np.ndarray:
    """Map [0, 1] images to ``[low, high]``; inverted: ``low + high - x`` (the background goes to ``high``)."""
    low, high = bounds
    x = low + (high - low) * x01
    return (low + high - x if inverted else x).astype(np.float32)


def build(architecture: str, seed: int = 0):
    """The Keras classifier ``"dense"`` or ``"cnn"`` on (8, 8, 1) inputs, ReLU, 10 logits."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    if architecture == "dense":
        body = [layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(32, activation="relu")]
    elif architecture == "cnn":
        body = [
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
        ]
    else:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    return tf.keras.Sequential([tf.keras.Input((8, 8, 1)), *body, layers.Dense(10)], name=f"digits_{architecture}")


def train(model, x: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0) -> None:
    """Adam (3e-3) on sparse cross-entropy from logits, batch 32, seeded."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(3e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    return (float(finite.mean()), float(finite.std())) if finite.size else (math.nan, math.nan)


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _measure(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    relevance: np.ndarray,
    target: np.ndarray,
    bounds: tuple[float, float],
    steps: int,
    seed: int,
):
    from signxai.common.metrics import input_bias, pixel_flipping

    flipping = pixel_flipping(
        predict, x, relevance, target, order="morf", steps=steps, value_range=bounds, normalise="softmax", seed=seed
    )
    return flipping, input_bias(x, relevance)


def _explain_model(
    keras_model,
    torch_model,
    x: np.ndarray,
    target: np.ndarray,
    bounds: tuple[float, float],
    config: PaperConfig,
    progress: Callable[[str], None],
) -> tuple[dict[str, dict[str, object]], dict[str, np.ndarray]]:
    """Measures of every method (and the random baseline) in both backends on one model."""
    import torch

    import signxai.tf
    import signxai.torch
    from signxai.common.metrics import random_uniform

    def predict_tf(batch: np.ndarray) -> np.ndarray:
        return keras_model(batch, training=False).numpy()

    def predict_torch(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch_model(torch.from_numpy(np.ascontiguousarray(np.moveaxis(batch, -1, 1)))).numpy()

    x_first = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    targets = [int(t) for t in target]
    measures: dict[str, dict[str, object]] = {}
    curves: dict[str, np.ndarray] = {}
    for method in (RANDOM, *config.methods):
        start = time.perf_counter()
        if method == RANDOM:
            r_tf = r_torch = random_uniform(x.shape, seed=config.seed + 1)
        else:
            r_tf = np.asarray(signxai.tf.explain(keras_model, x, method, target=targets))
            r_first = signxai.torch.explain(torch_model, x_first, method, target=targets)
            r_torch = np.moveaxis(np.asarray(r_first), 1, -1)
        out: dict[str, object] = {}
        for backend, predict, r in (("tf", predict_tf, r_tf), ("torch", predict_torch, r_torch)):
            flipping, bias = _measure(predict, x, r, target, bounds, config.steps, config.seed)
            out[backend] = (flipping, bias)
            if backend == "tf":
                curves[method] = flipping.curves.mean(axis=0)
        scale = np.abs(r_tf).reshape(len(x), -1).max(axis=1)
        diff = np.abs(r_tf - r_torch).reshape(len(x), -1).max(axis=1)
        out["parity"] = math.nan if method == RANDOM else float(np.max(diff / np.where(scale > 0, scale, 1.0)))
        measures[method] = out
        progress(f"{method}: {time.perf_counter() - start:.1f} s")
    return measures, curves


def run(out: str | Path = "out/paper", config: PaperConfig = PaperConfig(), progress: bool = True) -> PaperResult:
    """Train the models, explain them in both frameworks, write ``table.csv``, ``table.md`` and ``morf.png``.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    config : PaperConfig
        What to run.
    progress : bool
        Progress lines on stderr.

    Returns
    -------
    PaperResult
    """
    from .convert import keras_to_torch

    begin = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x_train01, y_train, x_test01, y_test = digits01(config.seed)
    x_aug01 = augment(x_train01, seed=config.seed)
    rows: list[Row] = []
    curves: dict[tuple[str, str, str, str], np.ndarray] = {}
    index = 0
    for architecture in config.architectures:
        for bounds in config.ranges:
            for form in config.forms:
                index += 1
                label = f"{architecture} {range_label(bounds)} {form}"
                start = time.perf_counter()
                inverted = form == "inverted"
                x_train = np.concatenate([to_range(x_train01, bounds, inverted), to_range(x_aug01, bounds, inverted)])
                x_test = to_range(x_test01, bounds, inverted)
                model = build(architecture, seed=config.seed + index)
                train(model, x_train, np.concatenate([y_train, y_train]), config.epochs, seed=config.seed + index)
                predicted = np.argmax(model(x_test, training=False).numpy(), axis=1)
                accuracy = float(np.mean(predicted == y_test))
                chosen = np.flatnonzero(predicted == y_test)[: config.samples]
                x, target = x_test[chosen], y_test[chosen]
                torch_model, _ = keras_to_torch(model)
                torch_model.eval()
                took = time.perf_counter() - start
                _log(f"{label}: test accuracy {accuracy:.1%}, trained + converted in {took:.1f} s", progress)
                measures, model_curves = _explain_model(
                    model, torch_model, x, target, bounds, config, lambda m, lb=label: _log(f"{lb}: {m}", progress)
                )
                for method, curve in model_curves.items():
                    curves[(architecture, range_label(bounds), form, method)] = curve
                random_tf = _nanmean(measures[RANDOM]["tf"][0].aoc)
                random_torch = _nanmean(measures[RANDOM]["torch"][0].aoc)
                for method, m in measures.items():
                    (f_tf, b_tf), (f_torch, b_torch) = m["tf"], m["torch"]
                    aoc_tf, aoc_tf_std = _mean_std(f_tf.aoc)
                    aoc_torch, aoc_torch_std = _mean_std(f_torch.aoc)
                    rows.append(
                        Row(
                            architecture, range_label(bounds), form, method, accuracy, len(x),
                            aoc_tf, aoc_tf_std, aoc_torch, aoc_torch_std, aoc_tf - random_tf, aoc_torch - random_torch,
                            _nanmean(b_tf.pearson), _nanmean(b_torch.pearson),
                            _nanmean(b_tf.spearman), _nanmean(b_torch.spearman), m["parity"],
                        )
                    )  # fmt: skip
    result = PaperResult(rows, curves)
    result.files["csv"] = write_csv(rows, out / "table.csv")
    result.seconds = time.perf_counter() - begin
    result.files["md"] = write_markdown(rows, config, out / "table.md", result.seconds)
    result.files["png"] = plot_curves(curves, config, out / "morf.png")
    _log(f"done in {result.seconds:.0f} s: {', '.join(str(p) for p in result.files.values())}", progress)
    return result


def write_csv(rows: Sequence[Row], path: Path) -> Path:
    """One line per row, the :class:`Row` fields as columns."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(Row)])
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    return path


def summary(rows: Sequence[Row]) -> list[dict[str, float | str]]:
    """Per method, the mean over all models (architectures x ranges x forms) of each measure.

    The correlations are averaged as magnitudes (``abs_pearson_*``, ``abs_spearman_*``: mean of |per-model mean|):
    their sign follows the input range (negative inputs in [-1, 0]), so signed means cancel across ranges.
    """
    methods = list(dict.fromkeys(r.method for r in rows))
    out = []
    for method in methods:
        mine = [r for r in rows if r.method == method]
        entry: dict[str, float | str] = {"method": method, "models": float(len(mine))}
        for key in ("aoc_tf", "aoc_torch", "daoc_tf", "daoc_torch", "parity"):
            entry[key] = _nanmean(np.array([getattr(r, key) for r in mine], dtype=float))
        for key in ("pearson_tf", "pearson_torch", "spearman_tf", "spearman_torch"):
            entry[f"abs_{key}"] = _nanmean(np.abs(np.array([getattr(r, key) for r in mine], dtype=float)))
        out.append(entry)
    return out


def by_setting(rows: Sequence[Row], methods: Sequence[str]) -> list[tuple[str, str, dict[str, tuple[float, float]]]]:
    """Per (range, form): method -> (dAOC, Pearson r) of TensorFlow, mean over the architectures."""
    settings = list(dict.fromkeys((r.range, r.form) for r in rows))
    out = []
    for bounds, form in settings:
        cells = {}
        for method in methods:
            mine = [r for r in rows if (r.range, r.form, r.method) == (bounds, form, method)]
            if mine:
                cells[method] = (
                    _nanmean(np.array([r.daoc_tf for r in mine])),
                    _nanmean(np.array([r.pearson_tf for r in mine])),
                )
        out.append((bounds, form, cells))
    return out


def _f(value: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def write_markdown(rows: Sequence[Row], config: PaperConfig, path: Path, seconds: float) -> Path:
    """Headline summary (per method, mean over the models) and the full table."""
    lines = [
        "# SIGN paper experiment: digits, both frameworks, same weights",
        "",
        f"{len({(r.architecture, r.range, r.form) for r in rows})} models, {config.samples} samples each "
        f"(correctly classified test digits), MoRF with {config.steps} steps, softmax scores; {seconds:.0f} s.",
        f"Methods: {', '.join(config.methods)}; baseline: {RANDOM}.",
        "",
        "AOC: MoRF area over the curve in % (higher = more faithful); dAOC: AOC minus the random baseline's;",
        "r / rho: input-relevance Pearson / Spearman (nearer 0 = less input bias); parity: max|R_tf - R_torch| / "
        "max|R_tf|.",
        "",
        "## Summary: mean over all models",
        "",
        "abs(r) / abs(rho): mean over the models of the magnitude of the mean correlation (its sign follows the "
        "range).",
        "",
        "| method | AOC tf | AOC torch | dAOC tf | dAOC torch | abs(r) tf | abs(r) torch | abs(rho) tf "
        "| abs(rho) torch | parity |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary(rows):
        parity = f"{s['parity']:.1e}" if np.isfinite(s["parity"]) else "n/a"
        lines.append(
            f"| {s['method']} | {_f(s['aoc_tf'])} | {_f(s['aoc_torch'])} | {_f(s['daoc_tf'])} | {_f(s['daoc_torch'])} "
            f"| {_f(s['abs_pearson_tf'], 3)} | {_f(s['abs_pearson_torch'], 3)} | {_f(s['abs_spearman_tf'], 3)} "
            f"| {_f(s['abs_spearman_torch'], 3)} | {parity} |"
        )
    key_methods = [m for m in PLOTTED if m in config.methods]
    if key_methods:
        lines += [
            "",
            "## Per range and form: dAOC / Pearson r (TensorFlow, mean over the architectures)",
            "",
            "| range | form | " + " | ".join(key_methods) + " |",
            "|---|---|" + "---|" * len(key_methods),
        ]
        for bounds, form, cells in by_setting(rows, key_methods):
            values = [f"{_f(cells[m][0], 1)} / {_f(cells[m][1], 2)}" if m in cells else "" for m in key_methods]
            lines.append(f"| {bounds} | {form} | " + " | ".join(values) + " |")
    lines += [
        "",
        "## All models",
        "",
        "| model | range | form | acc | method | AOC tf | AOC torch | dAOC tf | dAOC torch | r tf | r torch "
        "| rho tf | rho torch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.architecture} | {r.range} | {r.form} | {r.accuracy:.1%} | {r.method} "
            f"| {_f(r.aoc_tf)} ± {_f(r.aoc_tf_std)} | {_f(r.aoc_torch)} ± {_f(r.aoc_torch_std)} "
            f"| {_f(r.daoc_tf)} | {_f(r.daoc_torch)} | {_f(r.pearson_tf, 3)} | {_f(r.pearson_torch, 3)} "
            f"| {_f(r.spearman_tf, 3)} | {_f(r.spearman_torch, 3)} |"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def plot_curves(curves: dict[tuple[str, str, str, str], np.ndarray], config: PaperConfig, path: Path) -> Path:
    """Mean MoRF curves (TensorFlow; PyTorch's coincide) per architecture, averaged over ranges and forms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [m for m in PLOTTED if m in config.methods] + [RANDOM]
    fractions = np.linspace(0.0, 1.0, config.steps + 1)
    figure, axes = plt.subplots(1, len(config.architectures), figsize=(5 * len(config.architectures), 3.8),
                                squeeze=False)  # fmt: skip
    for axis, architecture in zip(axes[0], config.architectures, strict=True):
        for method in methods:
            mine = [c for (a, _, _, m), c in curves.items() if a == architecture and m == method]
            if mine:
                style = "--" if method == RANDOM else "-"
                axis.plot(fractions, np.mean(mine, axis=0), style, label=method)
        axis.set_title(f"{architecture}: mean MoRF curve over ranges and forms")
        axis.set_xlabel("fraction of pixels flipped")
        axis.set_ylabel("target probability (%)")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _bounds(text: str) -> tuple[float, float]:
    low, high = (float(v) for v in text.split(","))
    if not low < high:
        raise argparse.ArgumentTypeError(f"range {text!r}: low must be below high")
    return low, high


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m signxai.parity.paper``: run the experiment and print where the tables are."""
    default = PaperConfig()
    parser = argparse.ArgumentParser(prog="python -m signxai.parity.paper", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/paper", help="output folder (default: out/paper)")
    parser.add_argument("--architectures", nargs="+", choices=ARCHITECTURES, default=list(default.architectures))
    parser.add_argument(
        "--range",
        dest="ranges",
        action="append",
        type=_bounds,
        metavar="LOW,HIGH",
        help="an input range, repeatable; write negative lows as --range=-1,0 (default: [0,1], [-1,0], [-1,1])",
    )
    parser.add_argument("--forms", nargs="+", choices=FORMS, default=list(default.forms))
    parser.add_argument("--methods", nargs="+", default=list(default.methods), help="catalog names")
    parser.add_argument("--samples", type=int, default=default.samples, help="test samples per model")
    parser.add_argument("--steps", type=int, default=default.steps, help="MoRF steps")
    parser.add_argument("--epochs", type=int, default=default.epochs, help="training epochs per model")
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    from signxai.common import parse_method

    for method in args.methods:
        parse_method(method)  # ValueError naming an unknown name before any training
    config = PaperConfig(
        tuple(args.architectures), tuple(args.ranges or default.ranges), tuple(args.forms), tuple(args.methods),
        args.samples, args.steps, args.epochs, args.seed,
    )  # fmt: skip
    result = run(args.out, config, progress=not args.quiet)
    for name, path in result.files.items():
        print(f"{name}: {path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
