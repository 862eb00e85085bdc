"""Realistic inputs of the parity suite, all available offline.

- :func:`vgg16_image`: scikit-image's ``chelsea`` photograph (a cat; the PNG ships inside the scikit-image
  wheel, nothing is fetched), centre-cropped, resized to 224x224 and VGG16-preprocessed the caffe way.
- :func:`ecg_12lead`: a 12-lead ECG simulated by neurokit2 (``ecg_simulate(method="multileads")``, offline,
  seeded), 500 Hz.
- :func:`small_inputs`: seeded inputs for the small extra models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: ImageNet channel means in BGR order (``keras.applications.vgg16.preprocess_input``, mode "caffe").
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])


def _shipped_image(name: str) -> np.ndarray:
    """An image file of scikit-image's wheel (``skimage/data/<name>``), read without any download machinery."""
    import skimage.data
    import skimage.io

    path = Path(skimage.data.__file__).parent / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not shipped with this scikit-image installation")
    return skimage.io.imread(path)


def caffe_preprocess(rgb: np.ndarray) -> np.ndarray:
    """VGG16 caffe preprocessing: RGB -> BGR and subtraction of the ImageNet BGR means (no scaling).

    Parameters
    ----------
    rgb : numpy.ndarray
        (..., H, W, 3) RGB image(s) with values in 0..255.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape.
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.shape[-1] != 3:
        raise ValueError(f"expected an RGB image with 3 channels last, got shape {rgb.shape}")
    return rgb[..., ::-1] - CAFFE_MEAN_BGR


def vgg16_image(size: int = 224, name: str = "chelsea.png") -> np.ndarray:
    """The VGG16 input: a photograph shipped in the scikit-image wheel, preprocessed for VGG16.

    Parameters
    ----------
    size : int
        Output height and width (224 for VGG16).
    name : str
        File in ``skimage/data`` (``chelsea.png``: a cat, 300x451 RGB).

    Returns
    -------
    numpy.ndarray
        float32 array (1, size, size, 3), BGR, mean-subtracted.
    """
    from skimage.transform import resize

    image = _shipped_image(name)[..., :3]
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top : top + side, left : left + side].astype(np.float64)
    resized = resize(square, (size, size), order=1, anti_aliasing=True, preserve_range=True)
    return caffe_preprocess(resized)[None].astype(np.float32)


def ecg_12lead(seconds: int = 6, sampling_rate: int = 500, heart_rate: int = 70, seed: int = 0) -> np.ndarray:
    """A simulated 12-lead ECG (neurokit2, offline), leads I, II, III, aVR, aVL, aVF, V1..V6, in millivolts.

    Parameters
    ----------
    seconds : int
        Duration (whole seconds, as neurokit2 needs); 6 s at 500 Hz are 3000 samples.
    sampling_rate : int
        Samples per second.
    heart_rate : int
        Beats per minute.
    seed : int
        ``random_state`` of the simulator.

    Returns
    -------
    numpy.ndarray
        float32 array (1, seconds * sampling_rate, 12).
    """
    import neurokit2 as nk

    frame = nk.ecg_simulate(
        duration=int(seconds),
        sampling_rate=sampling_rate,
        heart_rate=heart_rate,
        method="multileads",
        random_state=seed,
    )
    signal = np.asarray(frame, dtype=np.float64)
    length = int(seconds) * sampling_rate
    if signal.shape != (length, 12):
        raise ValueError(f"neurokit2 returned an ECG of shape {signal.shape}, expected ({length}, 12)")
    return signal[None].astype(np.float32)


def small_inputs(shape: tuple[int, ...], n: int = 1, seed: int = 0) -> np.ndarray:
    """Seeded standard-normal inputs (n, *shape), float32, for the small extra models."""
    return np.random.default_rng(seed).normal(0.0, 1.0, size=(n, *shape)).astype(np.float32)
