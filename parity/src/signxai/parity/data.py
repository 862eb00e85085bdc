"""Realistic inputs of the parity suite, all available offline.

- :func:`vgg16_image`: scikit-image's ``chelsea`` photograph (a cat; the PNG ships inside the scikit-image
  wheel, nothing is fetched), centre-cropped, resized to 224x224 and VGG16-preprocessed the caffe way.
- :func:`ecg_12lead`: a 12-lead ECG simulated by neurokit2 (``ecg_simulate(method="multileads")``, offline,
  seeded), 500 Hz.
- :func:`ecg_recording`: that ECG as a recorder stores it: quantised to the recorder's resolution (1 µV), with a
  flat (exactly 0) lead-off stretch and zero-padded at the end to the model's length; ``constant=`` puts a constant
  non-zero segment in instead of the flat one. Real ECGs are full of such stretches, and with them max-pooling
  windows full of ties (spec section 1).
- :func:`vgg16_saturated_image`: the VGG16 photograph with clipped highlights and shadows (regions of exactly 0
  and 255 in a channel, as over- and under-exposed photographs have).
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


def _square_photo(size: int, name: str) -> np.ndarray:
    """The shipped photograph ``name``, centre-cropped to a square and resized to ``size`` (float64 RGB, 0..255)."""
    from skimage.transform import resize

    image = _shipped_image(name)[..., :3]
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top : top + side, left : left + side].astype(np.float64)
    return resize(square, (size, size), order=1, anti_aliasing=True, preserve_range=True)


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
    return caffe_preprocess(_square_photo(size, name))[None].astype(np.float32)


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


#: Resolution of a 12-lead recorder in millivolts (1 µV per count, as in PTB-XL's 1000 counts per mV).
ECG_QUANTUM_MV = 0.001


def quantise(signal: np.ndarray, quantum: float) -> np.ndarray:
    """Round ``signal`` to integer multiples of ``quantum`` (what an ADC with that resolution stores)."""
    if quantum <= 0:
        raise ValueError(f"quantum must be positive, got {quantum}")
    return np.round(np.asarray(signal, dtype=np.float64) / quantum) * quantum


def ecg_recording(
    length: int = 3000,
    recorded: int = 2500,
    sampling_rate: int = 500,
    flat: tuple[int, int] | None = (1000, 1250),
    constant: float | None = None,
    quantum: float = ECG_QUANTUM_MV,
    seed: int = 0,
) -> np.ndarray:
    """A 12-lead ECG as stored by a recorder and fed to a fixed-length model.

    A neurokit2 simulation of ``recorded`` samples is quantised to ``quantum`` millivolts; the samples
    ``flat[0]:flat[1]`` of every lead are set to exactly 0 (a lead-off / flat-baseline stretch), or to ``constant``
    when it is given (a constant non-zero segment); the recording is then zero-padded at the end to ``length``
    samples, as fixed-length models are fed.

    Parameters
    ----------
    length : int
        Samples the model takes.
    recorded : int
        Samples actually recorded (<= ``length``), a whole number of seconds at ``sampling_rate``.
    sampling_rate : int
        Samples per second.
    flat : (int, int) or None
        Start and stop sample of the flat (or constant) stretch inside the recorded part; None for none.
    constant : float or None
        Value of that stretch in mV (None: exactly 0).
    quantum : float
        Recorder resolution in mV.
    seed : int
        Simulator seed.

    Returns
    -------
    numpy.ndarray
        float32 array (1, length, 12) whose values are multiples of ``quantum`` (up to float32 rounding).
    """
    if not 0 < recorded <= length or recorded % sampling_rate:
        raise ValueError(
            f"recorded must be a whole number of seconds in (0, length={length}] samples, got {recorded} at "
            f"{sampling_rate} Hz"
        )
    signal = quantise(ecg_12lead(recorded // sampling_rate, sampling_rate, seed=seed)[0].astype(np.float64), quantum)
    if flat is not None:
        start, stop = flat
        if not 0 <= start < stop <= recorded:
            raise ValueError(f"flat stretch {flat} must lie inside the {recorded} recorded samples")
        signal[start:stop] = 0.0 if constant is None else quantise(np.array(constant), quantum)
    padded = np.zeros((length, signal.shape[1]))
    padded[:recorded] = signal
    return padded[None].astype(np.float32)


def vgg16_saturated_image(size: int = 224, gain: float = 1.8, name: str = "chelsea.png") -> np.ndarray:
    """The VGG16 photograph over- and under-exposed: contrast stretched by ``gain`` about mid-grey and clipped to
    0..255 (regions of exactly 0 and 255 per channel), then VGG16-preprocessed like :func:`vgg16_image`.

    Returns
    -------
    numpy.ndarray
        float32 array (1, size, size, 3), BGR, mean-subtracted.
    """
    exposed = np.clip(np.round((_square_photo(size, name) - 127.5) * gain + 127.5), 0.0, 255.0)
    return caffe_preprocess(exposed)[None].astype(np.float32)


def saturated_photos(size: int = 32, names: tuple[str, ...] = ("chelsea.png", "coffee.png"), gain: float = 1.8):
    """Shipped photographs, over- and under-exposed like :func:`vgg16_saturated_image`, scaled to [-1, 1].

    The scaling is MobileNet / EfficientNet-style preprocessing (``x / 127.5 - 1``); the clipped regions are
    exactly -1 and +1 per channel, so max-pooling windows there hold ties.

    Returns
    -------
    numpy.ndarray
        float32 array (len(names), size, size, 3), RGB.
    """
    photos = [np.clip(np.round((_square_photo(size, n) - 127.5) * gain + 127.5), 0.0, 255.0) for n in names]
    return (np.stack(photos) / 127.5 - 1.0).astype(np.float32)


def small_inputs(shape: tuple[int, ...], n: int = 1, seed: int = 0) -> np.ndarray:
    """Seeded standard-normal inputs (n, *shape), float32, for the small extra models."""
    return np.random.default_rng(seed).normal(0.0, 1.0, size=(n, *shape)).astype(np.float32)
