"""The engine: how pair work is split into independent ranges, where they run, and how they are summed.

Every pair kernel in :mod:`hlamatch.kernels` has the same calling convention::

    kernel(*arrays, fold_start, fold_stop) -> numpy.ndarray of shape (n_parts, ...)

It covers the patient pairs of folds ``fold_start .. fold_stop`` (fold ``k`` holds rows ``k`` and
``n - 1 - k`` of the triangular pair loop, so every fold has about ``n`` pairs of work) and returns
partial sums, one row per part.  Ranges are independent: they can run in any order, on any worker,
and their parts are summed at the end.  The split depends only on the problem size (never on
whether progress is shown, on the thread count or on the engine), so results are bit-identical
however the work is scheduled.

This module is the only place that decides the schedule.  Two engines run the ranges:

* ``"local"`` (the default): one after the other in this process, each range parallel inside
  over numba threads;
* ``"dask"`` (extra ``hlamatch[distributed]``): each range is a task on a Dask cluster (a local
  cluster of two worker processes, or the scheduler at ``scheduler``).  The arrays are scattered
  to the workers once per :func:`run_ranges` call, the kernel travels by name (the workers import
  :mod:`hlamatch.kernels` themselves) and the parts come back in range order, so
  :func:`exact_sum` sees exactly what the local engine gives it.

The engine is a process setting (:func:`set_engine`, or :class:`use_engine` for a block), read by
:func:`run_ranges` and :func:`fold_ranges`: every computation (coverage, rank, plan, supply) runs
on it without an argument being threaded through each layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hlamatch.engine.dask import _dask_client, _run_dask
from hlamatch.engine.ranges import fold_ranges
from hlamatch.engine.setting import Progress, current_engine

__all__ = ["run_ranges", "exact_sum", "run_pairs"]

# ====================================================================== running


def run_ranges(
    kernel: Callable[..., np.ndarray],
    arrays: Sequence[Any],
    ranges: Sequence[tuple[int, int]],
    progress: Progress | None = None,
    label: str = "",
) -> np.ndarray:
    """Run ``kernel(*arrays, start, stop)`` over every range; concatenate the parts (axis 0), in range order.

    The ranges run on the engine in force (:func:`current_engine`): in this process, or as
    tasks on a Dask cluster (always there, even a single range).  ``progress(label, fraction)``
    is called as ranges finish when there is more than one.

    Raises
    ------
    SchedulerError
        Dask engine: the scheduler cannot be reached, or its workers lack hlamatch; or a range
        was lost more than ``RANGE_RETRIES`` times, or the scheduler was lost, during the run.
    """
    setting = current_engine()
    if setting.name == "dask":
        parts = _run_dask(_dask_client(setting.scheduler), kernel, arrays, ranges, progress, label)
    else:
        parts = []
        for r, (a, b) in enumerate(ranges):
            parts.append(kernel(*arrays, a, b))
            if progress is not None and len(ranges) > 1:
                progress(label, (r + 1) / len(ranges))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def exact_sum(parts: np.ndarray) -> np.ndarray:
    """Sum over axis 0, deterministically and to within an ulp or so.

    Few outputs (coverage, a histogram): ``math.fsum`` per output element, correctly rounded.
    Many outputs (one gain per candidate line): Neumaier's compensated summation, vectorised
    over the outputs (error independent of the number of parts, to first order).

    Parameters
    ----------
    parts : numpy.ndarray
        float64 array of shape (n_parts, ...).

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``parts.shape[1:]`` (a 0-d array for 1-d input).
    """
    flat = parts.reshape(parts.shape[0], -1)
    if flat.shape[1] <= 64:
        out = np.array([math.fsum(flat[:, c].tolist()) for c in range(flat.shape[1])])
    else:
        out = np.zeros(flat.shape[1])
        comp = np.zeros(flat.shape[1])
        for row in flat:
            t = out + row
            big = np.abs(out) >= np.abs(row)
            comp += np.where(big, (out - t) + row, (row - t) + out)
            out = t
        out = out + comp
    return out.reshape(parts.shape[1:])


def run_pairs(
    kernel: Callable[..., np.ndarray],
    arrays: Sequence[Any],
    n_rows: int,
    work_per_pair: float = 1.0,
    progress: Progress | None = None,
    label: str = "",
) -> np.ndarray:
    """Split, run and sum: the exact total of a pair kernel over all folds of ``n_rows`` rows."""
    return exact_sum(run_ranges(kernel, arrays, fold_ranges(n_rows, work_per_pair), progress, label))
