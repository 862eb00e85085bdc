"""Explaining from several threads: one explanation per model at a time (see ``docs/decisions.md``).

An explanation puts forward hooks on the model's modules for the duration of the call (the rank check, the
analysis of the model, Zennit's LRP rules, Grad-CAM's capture). Hooks live on the module, so they are seen by
every thread that runs it: two threads explaining with the same model (or two models that share a submodule) would
each run through the other's hooks and get wrong numbers. :func:`model_lock` therefore holds a lock for every
module of the model while an explanation runs; explanations of different models run in parallel, explanations with
the same model (or one :class:`~signxai.torch.Explainer` shared by threads) one after the other, and each gives
exactly the result it gives alone.

What runs per thread needs no lock: :class:`~signxai.torch.functional.SignalMode` is a torch function mode, and
PyTorch keeps the stack of active modes per thread (so does :mod:`signxai.torch.functional` for its own stack).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch

__all__ = ["model_lock"]

# id(module) -> (weak reference to it, its lock). Keyed by id, not by the module, since a module may be unhashable
# (a dataclass module with eq=True); entries of modules that are gone are swept when the table has doubled.
_LOCKS: dict[int, tuple[weakref.ref, threading.RLock]] = {}
_REGISTRY = threading.Lock()
_SWEEP_AT = [1024]


def _lock_of(module: torch.nn.Module) -> threading.RLock:
    with _REGISTRY:
        entry = _LOCKS.get(id(module))
        if entry is not None and entry[0]() is module:
            return entry[1]
        if len(_LOCKS) >= _SWEEP_AT[0]:
            for key in [k for k, (ref, _) in _LOCKS.items() if ref() is None]:
                del _LOCKS[key]
            _SWEEP_AT[0] = max(1024, 2 * len(_LOCKS))
        lock = threading.RLock()
        _LOCKS[id(module)] = (weakref.ref(module), lock)
        return lock


@contextmanager
def model_lock(model: torch.nn.Module) -> Iterator[None]:
    """Hold the lock of every module of ``model`` (in one global order, so threads never deadlock).

    Re-entrant: a thread that already holds them may enter again.
    """
    modules = sorted({id(m): m for m in model.modules()}.items())
    with ExitStack() as stack:
        for _, module in modules:
            stack.enter_context(_lock_of(module))
        yield
