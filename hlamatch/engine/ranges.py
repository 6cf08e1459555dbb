"""How pair and line work is split into independent ranges (the same split on every engine)."""

from __future__ import annotations

import math

import numpy as np

from hlamatch.engine.setting import current_engine

__all__ = ["fold_ranges", "line_ranges", "row_ranges", "stair_stops"]

#: Pair evaluations (times the per-pair work factor) per range.
PAIRS_PER_RANGE = 20_000_000


#: Most ranges one run is split into.
MAX_RANGES = 100


# ====================================================================== splitting


def fold_ranges(n_rows: int, work_per_pair: float = 1.0, *, min_ranges: int | None = None) -> list[tuple[int, int]]:
    """Split the ``(n_rows + 1) // 2`` folds of a pair loop into independent ranges.

    Parameters
    ----------
    n_rows : int
        Rows of the pair loop (patient haplotypes after merging).
    work_per_pair : float
        Relative cost of one pair (e.g. machine words per pair), so that ranges take similar time.
    min_ranges : int, optional
        At least this many ranges (at most one per fold); default: the engine setting's
        (see :func:`set_engine`), normally none.

    Returns
    -------
    list of (int, int)
        ``(fold_start, fold_stop)`` ranges covering every fold once, in order.
    """
    if min_ranges is None:
        min_ranges = current_engine().min_ranges or 1
    n_folds = (n_rows + 1) // 2
    work = n_rows * (n_rows + 1) / 2 * max(work_per_pair, 1e-9)
    n = int(min(MAX_RANGES, max(1, work // PAIRS_PER_RANGE), max(1, n_folds)))
    n = max(n, min(min_ranges, n_folds))
    return [(b * n_folds // n, (b + 1) * n_folds // n) for b in range(n)]


def line_ranges(work: np.ndarray, *, min_ranges: int | None = None) -> list[tuple[int, int]]:
    """Split lines ``0 .. len(work)`` into contiguous ranges of about equal work (``work[t]``, in pair
    evaluations, for line t): the ranges of a line sweep (:func:`hlamatch.kernels.sweep.line_sweep`).

    The split depends only on ``work`` (never on the thread count or the engine); ``min_ranges``
    as for :func:`fold_ranges`.
    """
    n_lines = int(work.shape[0])
    if n_lines == 0:
        return []
    if min_ranges is None:
        min_ranges = current_engine().min_ranges or 1
    w = np.asarray(work, dtype=np.float64).tolist()
    left = math.fsum(w)
    n = int(min(MAX_RANGES, max(1, left // PAIRS_PER_RANGE), n_lines))
    n = max(n, min(min_ranges, n_lines))
    # Greedy: close a range once it holds an equal share of the work still to split (a heavy
    # line then takes a range alone without starving the others), or when the lines left are
    # only just enough for the ranges left.
    bounds, acc = [0], 0.0
    for t, x in enumerate(w[:-1]):
        acc += x
        ranges_left = n - (len(bounds) - 1)
        if ranges_left > 1 and (acc >= left / ranges_left or n_lines - (t + 1) == ranges_left - 1):
            bounds.append(t + 1)
            left -= acc
            acc = 0.0
    bounds.append(n_lines)
    return list(zip(bounds[:-1], bounds[1:]))


def row_ranges(n_rows: int, work_per_pair: float = 1.0) -> list[tuple[int, int]]:
    """Split rows ``0 .. n_rows`` into ranges of about equal pair work (row ``i`` pairs with ``j ≥ i``).

    For tolerance-bounded runs, whose rows are ordered most frequent first and visited in order.
    The split depends only on the problem size.
    """
    if n_rows <= 0:
        return []
    total = n_rows * (n_rows + 1) / 2 * max(work_per_pair, 1e-9)
    n = int(min(MAX_RANGES, max(1, total // (PAIRS_PER_RANGE / 4)), n_rows))
    # cumulative work of rows 0..m-1 is m*n_rows - m(m-1)/2: invert it for n equal shares
    bounds = [0]
    for b in range(1, n):
        target = b / n * n_rows * (n_rows + 1) / 2
        m = int(n_rows + 0.5 - math.sqrt(max((n_rows + 0.5) ** 2 - 2 * target, 0.0)))
        bounds.append(min(max(m, bounds[-1] + 1), n_rows))
    bounds.append(n_rows)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def stair_stops(freqs: np.ndarray, tolerance: float) -> tuple[np.ndarray, float]:
    """Which patient genotypes a tolerance-bounded run visits: those of highest probability.

    With rows most frequent first, genotype (i, j) is visited iff f_i f_j ≥ τ, for the largest
    threshold τ found (by bisection) whose left-out ordered pairs weigh
    ``U(τ) = Σ_i f_i · Σ_{j: f_i f_j < τ} f_j`` ≤ ``tolerance``.  Row i then visits the columns
    ``i ≤ j < stops[i]``; rows with ``stops[i] ≤ i`` visit none (they come last).

    Returns
    -------
    (numpy.ndarray, float)
        int64 ``stops`` (n,) and ``U(τ)``, the mass left out.
    """
    f = np.ascontiguousarray(freqs, dtype=np.float64)
    n = f.shape[0]
    tails = np.append(np.cumsum(f[::-1])[::-1], 0.0)
    neg = -f

    def left_out(tau: float) -> tuple[np.ndarray, float]:
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(f > 0, tau / f, np.inf)  # a row of frequency 0 visits nothing
        j = np.searchsorted(neg, -need, side="right")  # count of f_j ≥ τ / f_i
        return j, float(np.dot(f, tails[j]))

    full = np.full(n, n, dtype=np.int64)
    if n == 0 or tolerance <= 0:
        return full, 0.0
    positive = f[f > 0]
    lo, hi = 0.0, float(f[0] * f[0]) * 2.0  # τ = lo leaves nothing out; τ = hi leaves out everything
    if positive.size:
        lo = float(positive[-1] * positive[-1]) * 0.5
    stops, u = left_out(lo)
    if u > tolerance:
        return full, 0.0
    for _ in range(60):  # bisection on a log scale: the largest τ found whose U(τ) ≤ tolerance
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
        j, um = left_out(mid)
        if um <= tolerance:
            lo, stops, u = mid, j, um
        else:
            hi = mid
        if hi <= lo * 1.01:  # τ within 1% of the best: a few more genotypes visited, never fewer
            break
    return np.ascontiguousarray(np.maximum(stops, 0), dtype=np.int64), u
