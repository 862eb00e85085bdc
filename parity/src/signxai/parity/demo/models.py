"""The demo's two small Keras classifiers and their training (seconds on 2 CPU cores)."""

from __future__ import annotations

import numpy as np

from .data import Split


def digits_cnn(input_shape: tuple[int, ...], classes: int, seed: int = 0):
    """Conv(8) -> pool -> Conv(16) -> pool -> Dense(32) -> Dense(classes) logits, ReLU, no softmax."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input(input_shape),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(32, activation="relu", name="fc1"),
            layers.Dense(classes, name="logits"),
        ],
        name="digits_cnn",
    )


def ecg_cnn(input_shape: tuple[int, ...], classes: int, seed: int = 0):
    """Three Conv1D layers (ReLU; max-pool after the first two) -> global average -> Dense(16) -> Dense(classes).

    The global average makes the evidence independent of where the beats fall in the window (with Flatten the
    model needs twice the training records for the same test accuracy).
    """
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input(input_shape),
            layers.Conv1D(16, 7, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling1D(4, name="pool1"),
            layers.Conv1D(16, 5, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling1D(4, name="pool2"),
            layers.Conv1D(16, 5, padding="same", activation="relu", name="conv3"),
            layers.GlobalAveragePooling1D(name="average"),
            layers.Dense(16, activation="relu", name="fc1"),
            layers.Dense(classes, name="logits"),
        ],
        name="ecg_cnn",
    )


def train(model, split: Split, epochs: int, batch_size: int = 32, learning_rate: float = 3e-3, seed: int = 0) -> float:
    """Train with Adam on sparse cross-entropy from logits; return the test accuracy."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(split.x_train, split.y_train, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    predictions = np.argmax(model.predict(split.x_test, verbose=0), axis=1)
    return float(np.mean(predictions == split.y_test))
