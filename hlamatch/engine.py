"""The engine: how pair work is split into independent ranges, reported and summed.

Every pair kernel in :mod:`hlamatch.kernels` has the same calling convention::

    kernel(*arrays, fold_start, fold_stop) -> numpy.ndarray of shape (n_parts, ...)

It covers the patient pairs of folds ``fold_start .. fold_stop`` (fold ``k`` holds rows ``k`` and
``n - 1 - k`` of the triangular pair loop, so every fold has about ``n`` pairs of work) and returns
partial sums, one row per part.  Ranges are independent: they can run in any order, on any worker,
and their parts are summed at the end.  The split depends only on the problem size (never on
whether progress is shown or on the thread count), so results are bit-identical however the work
is scheduled.

This module is the only place that decides the schedule.  Today it runs ranges one after the
other in this process (each range is parallel inside, over numba threads); a distributed engine
(Dask) will submit the same ``(kernel, arrays, range)`` triples to workers: the arrays are explicit
arguments, never closures, so they can be shipped.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["Progress", "fold_ranges", "run_ranges", "exact_sum", "run_pairs"]

#: Progress callback: ``progress(label, fraction_done)``, fraction in [0, 1].
Progress = Callable[[str, float], None]

#: Pair evaluations (times the per-pair work factor) per range.
PAIRS_PER_RANGE = 20_000_000
#: Most ranges one run is split into.
MAX_RANGES = 100


def fold_ranges(n_rows: int, work_per_pair: float = 1.0) -> list[tuple[int, int]]:
    """Split the ``(n_rows + 1) // 2`` folds of a pair loop into independent ranges.

    Parameters
    ----------
    n_rows : int
        Rows of the pair loop (patient haplotypes after merging).
    work_per_pair : float
        Relative cost of one pair (e.g. machine words per pair), so that ranges take similar time.

    Returns
    -------
    list of (int, int)
        ``(fold_start, fold_stop)`` ranges covering every fold once, in order.
    """
    n_folds = (n_rows + 1) // 2
    work = n_rows * (n_rows + 1) / 2 * max(work_per_pair, 1e-9)
    n = int(min(MAX_RANGES, max(1, work // PAIRS_PER_RANGE), max(1, n_folds)))
    return [(b * n_folds // n, (b + 1) * n_folds // n) for b in range(n)]


def run_ranges(
    kernel: Callable[..., np.ndarray],
    arrays: Sequence[Any],
    ranges: Sequence[tuple[int, int]],
    progress: Progress | None = None,
    label: str = "",
) -> np.ndarray:
    """Run ``kernel(*arrays, start, stop)`` over every range; concatenate the parts (axis 0).

    ``progress(label, fraction)`` is called after each range when there is more than one.
    """
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
        out = np.array([math.fsum(flat[:, c]) for c in range(flat.shape[1])])
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
