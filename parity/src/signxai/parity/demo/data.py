"""Labelled data that works offline: scikit-learn's digits and a synthetic 12-lead ECG task.

The ECG task is built on neurokit2's 12-lead simulator: class 1 ("ST elevation") adds a smooth 0.3 mV
plateau to the ST segment (40-200 ms after each R peak) of leads V1-V4; class 0 is the unmodified rhythm. Both
classes vary in heart rate, noise, amplitude and phase, so a classifier must find the ST segments of the
precordial leads — which is what a good explanation should highlight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
ST_LEADS = (6, 7, 8, 9)  # V1-V4


@dataclass(frozen=True)
class Split:
    """A train/test split of inputs (channels-last) and integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


def _split(
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float,
    seed: int,
    names: tuple[str, ...],
    groups: np.ndarray | None = None,
) -> Split:
    """Random split; with ``groups``, whole groups (e.g. all windows of one record) go to one side."""
    groups = np.arange(len(x)) if groups is None else groups
    unique = np.random.default_rng(seed).permutation(np.unique(groups))
    test_groups = unique[: int(round(len(unique) * test_fraction))]
    test = np.isin(groups, test_groups)
    return Split(x[~test], y[~test], x[test], y[test], names)


def digits(upscale: int = 3, seed: int = 0) -> Split:
    """scikit-learn's 8x8 digits, scaled to [0, 1] and enlarged ``upscale`` times (nearest), shape (N, H, W, 1)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = data.images.astype(np.float32) / 16.0
    images = images.repeat(upscale, axis=1).repeat(upscale, axis=2)[..., None]
    return _split(images, data.target.astype(np.int64), 0.25, seed, tuple(str(d) for d in range(10)))


def _st_elevation(signal: np.ndarray, rate: int, amplitude: float) -> np.ndarray:
    """Add a smooth plateau to the ST segment of leads V1-V4 after every R peak (found on lead II)."""
    import neurokit2 as nk

    _, info = nk.ecg_peaks(signal[:, 1], sampling_rate=rate)
    out = signal.copy()
    start, stop = int(0.04 * rate), int(0.20 * rate)
    bump = amplitude * np.sin(np.linspace(0.0, np.pi, stop - start)) ** 0.5
    for peak in info["ECG_R_Peaks"]:
        a, b = peak + start, min(peak + stop, len(signal))
        if a < b:
            out[a:b, ST_LEADS] += bump[: b - a, None]
    return out


def ecg(
    records: int = 40,
    windows_per_record: int = 4,
    seconds: float = 4.0,
    rate: int = 250,
    st_mv: float = 0.3,
    seed: int = 0,
) -> Split:
    """The synthetic 12-lead ST-elevation task, shape (N, seconds*rate, 12), in mV.

    Each simulated record (8 s) is cut into random ``seconds`` windows; half the records get ST elevation. Train
    and test never share a record.
    """
    import neurokit2 as nk

    rng = np.random.default_rng(seed)
    length = int(seconds * rate)
    xs, ys, groups = [], [], []
    for record in range(records):
        label = record % 2
        base = nk.ecg_simulate(
            duration=8,
            sampling_rate=rate,
            method="multileads",
            heart_rate=int(rng.integers(55, 95)),
            random_state=int(rng.integers(1 << 30)),
        )
        signal = base.to_numpy(dtype=np.float64)
        if label:
            signal = _st_elevation(signal, rate, amplitude=st_mv)
        for _ in range(windows_per_record):
            start = int(rng.integers(0, len(signal) - length))
            window = signal[start : start + length] * rng.uniform(0.8, 1.2)
            xs.append(window + rng.normal(0.0, 0.02, size=window.shape))
            ys.append(label)
            groups.append(record)
    return _split(
        np.asarray(xs, np.float32), np.asarray(ys, np.int64), 0.25, seed, ("normal", "ST elevation"), np.asarray(groups)
    )
