"""The main job (``nox -s demo``): train two small Keras classifiers, explain them in PyTorch and TensorFlow.

:func:`run` trains a digits CNN (scikit-learn's 8x8 digits, enlarged) and a 12-lead ECG CNN (neurokit2's
simulator with an ST-elevation class, :mod:`.data`), converts each Keras model to PyTorch through ONNX
(:func:`signxai.parity.convert.keras_to_torch`) so the same weights are explained twice, explains correctly
classified test samples with methods from every family in both backends (:mod:`.explain`), and writes a gallery
(PNG grids, 12-lead relevance plots and ``index.html`` with the parity numbers, :mod:`.gallery`). Everything
works offline.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data, gallery, models
from .explain import ECG_METHODS, IMAGE_METHODS, MethodMaps, explain_both

__all__ = ["ECG_METHODS", "IMAGE_METHODS", "QUICK", "DemoConfig", "DemoResult", "run"]


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo: training epochs, ECG records, samples explained and the methods shown."""

    digits_epochs: int = 12
    ecg_records: int = 80
    ecg_windows: int = 4
    ecg_epochs: int = 25
    image_samples: int = 4
    image_methods: tuple[str, ...] = IMAGE_METHODS
    ecg_methods: tuple[str, ...] = ECG_METHODS
    seed: int = 0


#: A configuration that runs in seconds (tests): little training, three methods per task.
QUICK = DemoConfig(
    digits_epochs=1,
    ecg_records=6,
    ecg_windows=2,
    ecg_epochs=1,
    image_samples=1,
    image_methods=("gradient_x_sign", "grad_cam", "lrpsign_epsilon_0_25_std_x"),
    ecg_methods=("gradient", "grad_cam_timeseries", "lrp_epsilon_0_1"),
)


@dataclass
class DemoResult:
    """What :func:`run` produced: the gallery's ``index.html``, test accuracies and every method's maps."""

    index: Path
    accuracy: dict[str, float] = field(default_factory=dict)
    maps: dict[str, list[MethodMaps]] = field(default_factory=dict)

    @property
    def parity_failures(self) -> list[str]:
        """``"task: method"`` for every method whose two maps do not match."""
        return [f"{task}: {m.method}" for task, ms in self.maps.items() for m in ms if not m.comparison.passed]


def _log(message: str, enabled: bool) -> None:
    if enabled:
        print(f"[demo] {message}", file=sys.stderr, flush=True)


def _pick(predictions: np.ndarray, labels: np.ndarray, count: int, wanted: tuple[int, ...] = ()) -> np.ndarray:
    """Indices of correctly classified samples, distinct classes first (``wanted`` classes before others).

    Falls back to misclassified samples only when too few are correct (the caption then says so).
    """
    correct = np.flatnonzero(predictions == labels)
    order = sorted(correct, key=lambda i: (labels[i] not in wanted, i))
    chosen: list[int] = []
    for i in order:  # one per class first
        if len(chosen) < count and labels[i] not in labels[chosen]:
            chosen.append(int(i))
    for i in list(order) + list(range(len(labels))):
        if len(chosen) < count and i not in chosen:
            chosen.append(int(i))
    return np.asarray(chosen, dtype=np.int64)


def _convert(model, log: bool):
    from ..convert import keras_to_torch

    torch_model, conversion = keras_to_torch(model)
    how = "from cache" if conversion.cached else f"in {conversion.seconds:.1f} s, peak {conversion.peak_rss_mb:.0f} MB"
    _log(f"{model.name}: converted Keras -> ONNX -> PyTorch {how}", log)
    return torch_model


def _forward_gap(keras_model, torch_model, x: np.ndarray) -> float:
    import torch

    from signxai.common.sampling import to_channels_first

    z_tf = keras_model(x, training=False).numpy()
    with torch.no_grad():
        z_torch = torch_model(torch.from_numpy(np.ascontiguousarray(to_channels_first(x)))).numpy()
    return float(np.max(np.abs(z_tf - z_torch)) / np.max(np.abs(z_tf)))


def _digits(config: DemoConfig, out: Path, log: bool) -> tuple[gallery.Section, float, list[MethodMaps]]:
    start = time.perf_counter()
    split = data.digits(seed=config.seed)
    model = models.digits_cnn(split.x_train.shape[1:], len(split.class_names), seed=config.seed)
    _log(f"digits: training a Keras CNN on {len(split.x_train)} images ({config.digits_epochs} epochs)", log)
    accuracy = models.train(model, split, config.digits_epochs, seed=config.seed)
    took = time.perf_counter() - start
    _log(f"digits: test accuracy {accuracy:.1%} on {len(split.x_test)} images ({took:.0f} s)", log)
    torch_model = _convert(model, log)
    predictions = np.argmax(model.predict(split.x_test, verbose=0), axis=1)
    chosen = _pick(predictions, split.y_test, config.image_samples)
    x, y = split.x_test[chosen], split.y_test[chosen]
    gap = _forward_gap(model, torch_model, x)
    maps = explain_both(model, torch_model, x, y, config.image_methods, label="digits", progress=log)
    section = gallery.Section(
        "Handwritten digits (scikit-learn digits, 24x24)",
        [
            f"Keras CNN (2 conv + 2 dense layers) trained {config.digits_epochs} epochs on {len(split.x_train)} "
            f"images; test accuracy {accuracy:.1%} on {len(split.x_test)} held-out images.",
            f"Logits of the converted PyTorch model: max|dz| / max|z| = {gap:.1e}.",
            "Explained: correctly classified test digits, target = the true class. Red strokes speak for the "
            "class, blue ones against it.",
        ],
        maps=maps,
    )
    for k, i in enumerate(chosen):
        verdict = "correct" if predictions[i] == split.y_test[i] else f"misclassified as {predictions[i]}"
        title = f"digit {split.y_test[i]} (test sample {i}, {verdict})"
        section.pictures.append(gallery.image_picture(out, f"digits_{k}.png", x[k], maps, k, title))
    return section, accuracy, maps


def _ecg(config: DemoConfig, out: Path, log: bool) -> tuple[gallery.Section, float, list[MethodMaps]]:
    start = time.perf_counter()
    rate = 250
    _log(f"ecg: simulating {config.ecg_records} 12-lead records with neurokit2", log)
    split = data.ecg(records=config.ecg_records, windows_per_record=config.ecg_windows, rate=rate, seed=config.seed)
    model = models.ecg_cnn(split.x_train.shape[1:], len(split.class_names), seed=config.seed)
    _log(f"ecg: training a Keras Conv1D CNN on {len(split.x_train)} windows ({config.ecg_epochs} epochs)", log)
    accuracy = models.train(model, split, config.ecg_epochs, batch_size=16, learning_rate=1e-3, seed=config.seed)
    _log(f"ecg: test accuracy {accuracy:.1%} on {len(split.x_test)} windows ({time.perf_counter() - start:.0f} s)", log)
    torch_model = _convert(model, log)
    predictions = np.argmax(model.predict(split.x_test, verbose=0), axis=1)
    chosen = _pick(predictions, split.y_test, 1, wanted=(1,))
    x, y = split.x_test[chosen], split.y_test[chosen]
    gap = _forward_gap(model, torch_model, x)
    maps = explain_both(model, torch_model, x, y, config.ecg_methods, label="ecg", progress=log)
    i = int(chosen[0])
    names = split.class_names
    verdict = "correct" if predictions[i] == split.y_test[i] else f"misclassified as {names[predictions[i]]}"
    title = f"{split.class_names[y[0]]} (test window {i}, {verdict})"
    section = gallery.Section(
        "12-lead ECG: ST elevation (neurokit2 simulator, 4 s at 250 Hz)",
        [
            f"Keras Conv1D CNN (3 conv layers, global average, 2 dense layers) trained {config.ecg_epochs} epochs on "
            f"{len(split.x_train)} windows; test accuracy {accuracy:.1%} on {len(split.x_test)} windows from "
            "records never seen in training.",
            "Class 'ST elevation' adds a 0.3 mV plateau 40-200 ms after every R peak in leads V1-V4: a good "
            "explanation of that class lights up those ST segments.",
            f"Logits of the converted PyTorch model: max|dz| / max|z| = {gap:.1e}.",
        ],
        maps=maps,
    )
    section.pairs = gallery.series_pictures(out, "ecg", x[0], maps, 0, rate, title)
    return section, accuracy, maps


def run(out: str | Path = "out/demo", config: DemoConfig = DemoConfig(), progress: bool = True) -> DemoResult:
    """Train, convert, explain in both backends and write the gallery.

    Parameters
    ----------
    out : str or pathlib.Path
        Gallery folder (created; existing pictures are overwritten).
    config : DemoConfig
        Sizes and methods (:data:`QUICK` for a run of seconds).
    progress : bool
        Print progress lines on stderr.

    Returns
    -------
    DemoResult
        ``result.index`` is the written ``index.html``; ``result.parity_failures`` names methods whose maps
        differ between the backends.
    """
    import tensorflow as tf

    start = time.perf_counter()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result = DemoResult(index=folder / "index.html")
    sections = []
    for task, build in (("digits", _digits), ("ecg", _ecg)):
        section, accuracy, maps = build(config, folder, progress)
        sections.append(section)
        result.accuracy[task] = accuracy
        result.maps[task] = maps
    import torch

    footer = [
        f"Written in {time.perf_counter() - start:.0f} s by signxai.parity.demo "
        f"(TensorFlow {tf.__version__}, PyTorch {torch.__version__}).",
        "Failing parity: " + (", ".join(result.parity_failures) or "none") + ".",
    ]
    gallery.write_index(folder, sections, footer)
    _log(f"done in {time.perf_counter() - start:.0f} s", progress)
    return result
