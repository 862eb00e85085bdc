"""A private TensorFlow graph for iNNvestigate, isolated from the caller's eager TensorFlow.

iNNvestigate 2.x builds its analyzers with ``tf.gradients`` and therefore needs graph mode. SignXAI never
disables eager execution: it rebuilds the model inside a private :class:`tensorflow.Graph` with its own
``tf.compat.v1.Session``. Building Keras layers in graph mode has process-wide side effects that this module
undoes when the graph scope is left:

- Keras swaps the ``__bases__`` of ``Sequential``, ``Functional``, ``Model`` and every layer class it
  instantiates to their TF1 (v1) variants (``<keras package>.src.utils.version_utils.swap_class``). Left alone, the
  caller's eager model then fails (``'Sequential' object has no attribute
  '_compile_time_distribution_strategy'``). The bases of every Keras layer class are snapshotted on entry and
  restored on exit.
- The Keras backend session (``keras.backend.get_session``) is global: it is pointed at the private session
  inside the scope and restored afterwards.
- ``keras.backend.floatx()`` is set to the model's dtype inside the scope (iNNvestigate casts with it) and
  restored afterwards.

Nothing is ever built or run in the caller's graph. Because these side effects are process-wide, the scope holds
:data:`KERAS_LOCK`, and so does every public call of :mod:`signxai.tf` (:class:`~signxai.tf.Explainer` and
:func:`~signxai.tf.explain`): an eager call of the caller's model from another thread while the class bases are
swapped would fail inside Keras, and two scopes at once would restore each other's swapped bases. Explanations
from several threads therefore run one at a time and give their sequential results (``docs/decisions.md``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import tensorflow as tf

from .keras_compat import keras_internals

# keras.src.* on TensorFlow 2.14, tf_keras.src.* with tf-keras (TensorFlow >= 2.16, TF_USE_LEGACY_KERAS=1)
_KERAS = keras_internals()
keras_backend = _KERAS.backend
base_layer = _KERAS.base_layer
base_layer_v1 = _KERAS.base_layer_v1

__all__ = ["KERAS_LOCK", "PrivateGraph", "class_bases_snapshot", "restore_class_bases", "serialised"]

#: Held while signxai.tf touches Keras (building, cloning, running): Keras' class bases, backend session and floatx
#: are process-wide. Re-entrant, so a public call may call another.
KERAS_LOCK = threading.RLock()

_F = TypeVar("_F", bound=Callable[..., Any])


def serialised(func: _F) -> _F:
    """Run ``func`` holding :data:`KERAS_LOCK` (one signxai.tf call at a time across threads)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with KERAS_LOCK:
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def class_bases_snapshot() -> dict[type, tuple[type, ...]]:
    """``__bases__`` of every Keras layer / model class (TF2 and TF1 hierarchies, all subclasses)."""
    seen: dict[type, tuple[type, ...]] = {}
    stack: list[type] = [base_layer.Layer, base_layer_v1.Layer]
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen[cls] = cls.__bases__
        stack.extend(cls.__subclasses__())
    return seen


def restore_class_bases(snapshot: dict[type, tuple[type, ...]]) -> int:
    """Put back the ``__bases__`` recorded in ``snapshot``; returns how many classes had been swapped."""
    changed = 0
    for cls, bases in snapshot.items():
        if cls.__bases__ != bases:
            cls.__bases__ = bases
            changed += 1
    return changed


class PrivateGraph:
    """A :class:`tensorflow.Graph` plus the session that runs it, entered only through :meth:`scope`.

    Parameters
    ----------
    floatx : str
        Keras float type used while building in this graph (the model's dtype, e.g. ``"float32"``).
    """

    def __init__(self, floatx: str) -> None:
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.floatx = floatx

    @contextmanager
    def scope(self) -> Iterator[tf.Graph]:
        """Build inside the private graph; every global Keras state touched is restored on exit."""
        with KERAS_LOCK, self._global_state_restored():
            with self.graph.as_default():
                keras_backend.set_session(self.session)
                keras_backend.set_floatx(self.floatx)
                yield self.graph

    @contextmanager
    def _global_state_restored(self) -> Iterator[None]:
        bases = class_bases_snapshot()
        previous_session = getattr(keras_backend._SESSION, "session", None)
        previous_floatx = keras_backend.floatx()
        try:
            yield
        finally:
            keras_backend._SESSION.session = previous_session
            keras_backend.set_floatx(previous_floatx)
            restore_class_bases(bases)

    def run(self, fetches, feed_dict=None):
        """``Session.run`` in the private graph (no Keras calls, so no scope needed)."""
        return self.session.run(fetches, feed_dict=feed_dict)

    def close(self) -> None:
        """Release the session and its memory."""
        self.session.close()
