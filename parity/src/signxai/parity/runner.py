"""Running the suite: (model, tier) units in worker processes, merged into one report."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .check import check
from .report import Report
from .suite import cases, non_argmax_class


def run(
    profile: str = "ci",
    model_names: list[str] | None = None,
    tiers: tuple[str, ...] = ("float64", "float32"),
    progress: bool = True,
    jobs: int = 2,
) -> Report:
    """Run the suite in worker processes and return its report (nothing is written).

    VGG16 runs one tier per fresh process (its memory is returned to the system between tiers); the other
    models run in one process. With ``jobs=2`` both lanes run at the same time.

    Parameters
    ----------
    profile : {"ci", "full"}
        Which methods run on which model (:func:`signxai.parity.suite.cases`).
    model_names : list of str or None
        Subset of the suite's models (None: all).
    tiers : tuple of str
        ``float64`` and/or ``float32``.
    progress : bool
        Per-method progress lines on stderr.
    jobs : {1, 2}
        Lanes running at the same time.

    Returns
    -------
    Report
    """
    start = time.perf_counter()
    names = [c.name for c in cases(profile)]
    if model_names is not None:
        unknown = set(model_names) - set(names)
        if unknown:
            raise ValueError(f"unknown suite models {sorted(unknown)}; choose from {names}")
        names = [n for n in names if n in model_names]
    if jobs not in (1, 2):
        raise ValueError(f"jobs must be 1 or 2, got {jobs}")
    big = [[(name, (tier,))] for name in names if name == "vgg16" for tier in tiers]
    small = [[(name, tuple(tiers)) for name in names if name != "vgg16"]]
    units = big + [u for u in small if u]
    context = multiprocessing.get_context("spawn")
    report = Report()
    big_pool = ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1)
    small_pool = ProcessPoolExecutor(max_workers=1, mp_context=context) if jobs == 2 else big_pool
    try:
        futures = [
            (big_pool if unit in big else small_pool).submit(run_units, profile, unit, progress) for unit in units
        ]
        for future in futures:
            report.extend(future.result())
    finally:
        big_pool.shutdown()
        small_pool.shutdown()
    report.wall_seconds = time.perf_counter() - start
    return report


def run_units(profile: str, units: list[tuple[str, tuple[str, ...]]], progress: bool) -> Report:
    """Run suite cases in this process: ``units`` lists (model name, tiers) (see :func:`run`)."""
    import gc

    from .convert import conversion_dtype, twin
    from .models import as_dtype

    by_name = {c.name: c for c in cases(profile)}
    report = Report()
    for name, tiers in units:
        case = by_name[name]
        model = case.build()
        x = case.inputs(model)
        fixed = non_argmax_class(np.asarray(model(x, training=False)))
        if case.note and case.note not in report.notes:
            report.notes.append(case.note)
        report.notes.append(f"{case.name}: input {tuple(x.shape)}, targets argmax and class {fixed} (non-argmax)")
        converted = {}  # conversion dtype -> (torch model, Conversion): one conversion per dtype
        for tier in tiers:
            source = conversion_dtype(model, tier)
            if source not in converted:
                converted[source] = twin(model, source)
                conversion = converted[source][1]
                report.conversions.append(
                    {
                        "model": case.name if source == "float32" else f"{case.name} ({source})",
                        "cached": conversion.cached,
                        "seconds": conversion.seconds,
                        "peak_rss_mb": conversion.peak_rss_mb,
                        "key": conversion.key,
                    }
                )
            torch_t = converted[source][0]
            if len(tiers) == 1:  # one tier in this process: cast in place, keep no float32 copy
                keras_t = model if tier == "float32" else as_dtype(model, tier)
                del model
                gc.collect()
                torch_t = torch_t.double() if tier == "float64" else torch_t
            else:
                keras_t = model
            report.extend(
                check(
                    keras_t,
                    x,
                    methods=case.methods_for(tier),
                    dtype=tier,
                    targets=[None, fixed],
                    params=case.params,
                    torch_model=torch_t,
                    model_name=case.name,
                    progress=progress,
                )
            )
            del keras_t, torch_t
            gc.collect()
        del converted
    return report
