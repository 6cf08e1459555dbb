"""Exact bank selection by integer programming (HiGHS through SciPy), and the greedy baseline.

The bank planner reduces an instance to *patient classes*: class ``s`` has a weight ``w_s >= 0``
(probability mass of patients, already weighted over populations) and is covered by the
candidate lines ``c`` with ``cover[s, c]``.  Patients the existing bank already covers are not
in the classes; their mass is ``base``.  The coverage of a set of chosen candidates is
``base + sum of w_s over the classes that some chosen candidate covers``.

* :func:`solve_exact` finds the best set exactly: at most ``n_lines`` candidates with the
  largest coverage (*maximum coverage*), or the fewest candidates reaching a ``target`` coverage
  (*set cover with a mass target*), by a mixed-integer program solved with HiGHS
  (``scipy.optimize.milp``; needs the ``exact`` extra: ``pip install 'hlamatch[exact]'``).
* :func:`greedy_max_coverage` is the classical greedy on the same representation (NumPy only),
  so that the greedy's gap can be reported on the same instance.

Both return an :class:`ExactSolution`, whose ``coverage`` is always recomputed from the chosen
set with :func:`math.fsum` (never read from the solver's objective).

The integer program (one binary ``x_c`` per candidate, one continuous ``y_s`` in [0, 1] per class)::

    maximise  sum_s w_s y_s                    (n_lines mode)
    s.t.      y_s <= sum_{c covers s} x_c      for every class s
              sum_c x_c <= n_lines

Classes of weight 0, and classes that no candidate covers, drop out; classes covered by the
same candidates are merged (their weights summed) first, and candidates that cover no remaining
class are fixed at 0.  This is exact: it changes the size of the program, not its optimum.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from hlamatch.errors import HlamatchError, MissingExtraError, OptionError
from hlamatch.table.rows import group_sums, row_groups

__all__ = ["ExactSolution", "solve_exact", "greedy_max_coverage"]

# HiGHS stops when the primal-dual gap is below an absolute 1e-6 (``mip_abs_gap``, which SciPy
# does not expose) or below ``mip_rel_gap`` (set to 0 here).  Class weights are probabilities,
# often far below 1e-6, so the objective is rescaled to make the coverable mass 1e6: the absolute
# gap then stands for 1e-12 of the coverable mass.  The weights appear in the objective only,
# never in a constraint row (see solve_exact's target mode), so no row tolerance depends on them.
_OBJECTIVE_SCALE = 1e6

_MISSING_SCIPY = "exact optimisation needs SciPy: pip install 'hlamatch[exact]'"


@dataclass(frozen=True)
class ExactSolution:
    """A chosen set of candidate lines and the coverage it reaches.

    Attributes
    ----------
    chosen : tuple of int
        Indices (columns of ``cover``) of the chosen candidates, sorted ascending.  In a
        :func:`solve_exact` answer no chosen candidate is redundant (dropping any one of them
        uncovers some class of positive weight); the greedy's picks are kept as picked.
    coverage : float
        ``base`` plus the weight of every class some chosen candidate covers, summed with
        :func:`math.fsum` from the chosen set (not the solver's objective value).
    optimal : bool
        True when the solver proved the set optimal (in target mode: both the number of lines
        and, for that number, the coverage).  Always False for :func:`greedy_max_coverage`.
    status : str
        ``"optimal"``, ``"time_limit"`` (the time limit stopped the solver; the best set found
        is returned, never worse than the greedy's) or ``"greedy"``.
    n_lines : int or None
        The ``n_lines`` requested (None in target mode).
    target : float or None
        The ``target`` requested (None in n_lines mode).
    """

    chosen: tuple[int, ...]
    coverage: float
    optimal: bool
    status: str
    n_lines: int | None = None
    target: float | None = None


# ====================================================================== validation


class _Instance:
    """Validated arrays of one instance and exact coverage of any chosen set."""

    def __init__(self, cover: Any, weights: Any, base: Any):
        try:
            cov = np.asarray(cover)
        except (TypeError, ValueError) as e:
            raise OptionError(f"cover must be a boolean matrix (classes × candidates): {e}") from e
        if cov.ndim != 2:
            raise OptionError(
                f"cover must be a 2-d boolean matrix (classes × candidates), found {cov.ndim} dimension(s)"
            )
        if cov.dtype != np.bool_:
            if cov.dtype.kind not in "biuf" or not np.isin(cov, (0, 1)).all():
                raise OptionError(f"cover must hold booleans (or 0/1), found dtype {cov.dtype} with other values")
            cov = cov.astype(np.bool_)
        self.cover = np.ascontiguousarray(cov)
        self.n_classes, self.n_candidates = self.cover.shape

        try:
            w = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise OptionError(f"weights must be numbers: {e}") from e
        if w.ndim != 1 or w.shape[0] != self.n_classes:
            raise OptionError(
                f"weights must be a 1-d array of one weight per class: found shape {w.shape}, "
                f"cover has {self.n_classes} rows (classes)"
            )
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if bad.size:
            raise OptionError(
                f"weights must be finite and non-negative: class {int(bad[0])} has weight {float(w[bad[0]])!r}"
            )
        self.weights = w
        self.base = _finite_nonnegative(base, "base")

        # Relevant classes: positive weight and covered by at least one candidate.
        self.rel = np.flatnonzero((w > 0) & self.cover.any(axis=1))
        self.rel_cover = self.cover[self.rel]  # (m, n_candidates) bool
        self.rel_weights = w[self.rel]
        self.best = self._fsum(np.ones(self.rel.size, dtype=np.bool_))

    def _fsum(self, covered_rel: np.ndarray) -> float:
        return math.fsum([self.base, *self.rel_weights[covered_rel].tolist()])

    def covered(self, chosen: list[int] | tuple[int, ...]) -> np.ndarray:
        """Boolean mask over the relevant classes covered by ``chosen``."""
        if len(chosen) == 0:
            return np.zeros(self.rel.size, dtype=np.bool_)
        return cast(np.ndarray, self.rel_cover[:, list(chosen)].any(axis=1))  # (2-d: an array, not a scalar)

    def coverage(self, chosen: list[int] | tuple[int, ...]) -> float:
        """``base`` + weight of the classes ``chosen`` covers, summed exactly (math.fsum)."""
        return self._fsum(self.covered(chosen))

    def prune(self, chosen: list[int] | tuple[int, ...]) -> tuple[int, ...]:
        """Drop redundant candidates (highest index first) without changing the covered classes."""
        keep = sorted(set(int(c) for c in chosen))
        if not keep:
            return ()
        counts = self.rel_cover[:, keep].sum(axis=1)
        for c in reversed(list(keep)):
            mine = self.rel_cover[:, c]
            if np.all(counts[mine] >= 2):
                counts -= mine
                keep.remove(c)
        return tuple(keep)

    def unreachable(self, target: float) -> OptionError:
        best = self.best
        # The fewest digits (6, 9, 12, then all) that show the two numbers apart.
        for digits in (6, 9, 12):
            shown_best, shown_target = f"{best:.{digits}g}", f"{target:.{digits}g}"
            if shown_best != shown_target:
                break
        else:
            shown_best, shown_target = repr(best), repr(target)
        return OptionError(
            f"target coverage {shown_target} cannot be reached: all {self.n_candidates} candidates "
            f"together reach {shown_best}"
        )


def _finite_nonnegative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise OptionError(f"{name} must be a finite non-negative number, found {value!r}")
    return float(value)


def _check_mode(n_lines: Any, target: Any) -> tuple[int | None, float | None]:
    if (n_lines is None) == (target is None):
        raise OptionError("give exactly one of n_lines (a number of lines) and target (a coverage)")
    if n_lines is not None:
        if isinstance(n_lines, bool) or not isinstance(n_lines, numbers.Integral) or n_lines < 0:
            raise OptionError(f"n_lines must be a non-negative integer, found {n_lines!r}")
        return int(n_lines), None
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not math.isfinite(target):
        raise OptionError(f"target must be a finite number (a coverage), found {target!r}")
    return None, float(target)


# ====================================================================== greedy


def _greedy(inst: _Instance, n_lines: int | None, target: float | None) -> list[int]:
    """Greedy picks in order: largest uncovered weight, ties to the lowest candidate index.

    Stops after ``n_lines`` picks, once ``target`` is reached, or when no candidate adds weight.
    """
    # Per-candidate lists of relevant classes, in candidate order then class order, so that each
    # gain is a sum over one contiguous segment (np.add.reduceat).  Identical candidates get
    # bitwise-identical gains, so exact ties really go to the lowest index.
    cand, cls = np.nonzero(inst.rel_cover.T)
    useful, seg_starts = np.unique(cand, return_index=True)
    uncovered_w = inst.rel_weights.copy()
    covered = np.zeros(inst.rel.size, dtype=np.bool_)
    chosen: list[int] = []
    approx = inst.base  # running float sum: the exact fsum is only needed near the target
    while useful.size:
        if n_lines is not None and len(chosen) >= n_lines:
            break
        if target is not None and approx >= target - 1e-9 * max(1.0, abs(target)) and inst._fsum(covered) >= target:
            break
        gains = np.add.reduceat(uncovered_w[cls], seg_starts)
        k = int(np.argmax(gains))
        if not gains[k] > 0:
            break
        c = int(useful[k])
        chosen.append(c)
        newly = inst.rel_cover[:, c]
        approx += float(gains[k])
        covered |= newly
        uncovered_w[newly] = 0.0
    return chosen


def greedy_max_coverage(
    cover: Any,
    weights: Any,
    *,
    n_lines: int | None = None,
    target: float | None = None,
    base: float = 0.0,
) -> ExactSolution:
    """Greedy bank selection on the class representation (NumPy only; the baseline of :func:`solve_exact`).

    At each step the candidate adding the largest uncovered class weight is chosen; ties go to
    the lowest candidate index.  Selection stops after ``n_lines`` candidates, as soon as the
    coverage reaches ``target``, or when no candidate adds any weight.

    Parameters
    ----------
    cover : array_like of shape (n_classes, n_candidates), bool
        ``cover[s, c]`` is True when candidate ``c`` covers patient class ``s`` (0/1 integers
        are accepted).
    weights : array_like of shape (n_classes,), float64
        Probability mass of each class; finite and non-negative.
    n_lines : int, optional
        Choose at most this many candidates.  Exactly one of ``n_lines`` and ``target``.
    target : float, optional
        Choose candidates until ``base`` + covered mass reaches ``target``.
    base : float, default 0.0
        Mass already covered by the existing bank (not part of the classes).

    Returns
    -------
    ExactSolution
        ``chosen`` (sorted ascending; the pick order is lost), the exact ``coverage``,
        ``optimal=False``, ``status="greedy"``.

    Raises
    ------
    OptionError
        Both or neither of ``n_lines`` and ``target``; bad shapes or values; a ``target`` that
        even all candidates together do not reach (the message gives the reachable coverage).

    Examples
    --------
    >>> cover = [[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]
    >>> greedy_max_coverage(cover, [0.3, 0.2, 0.2, 0.25], n_lines=1).chosen
    (0,)
    """
    n_lines, target = _check_mode(n_lines, target)
    inst = _Instance(cover, weights, base)
    if target is not None and inst.best < target:
        raise inst.unreachable(target)
    chosen = tuple(sorted(_greedy(inst, n_lines, target)))
    return ExactSolution(chosen, inst.coverage(chosen), False, "greedy", n_lines, target)


# ====================================================================== exact


def _import_scipy() -> Any:
    """``(milp, LinearConstraint, Bounds, sparse)`` from SciPy, or MissingExtraError."""
    try:
        import scipy  # noqa: F401  (imported first so that a blocked top-level package is seen)
        from scipy import sparse
        from scipy.optimize import Bounds, LinearConstraint, milp
    except ImportError as e:
        raise MissingExtraError(_MISSING_SCIPY) from e
    return milp, LinearConstraint, Bounds, sparse


class _Program:
    """The reduced integer program of one instance: merged classes × useful candidates."""

    def __init__(self, inst: _Instance, scipy_parts: Any):
        self.milp, self.LinearConstraint, self.Bounds, sparse = scipy_parts
        sub = inst.rel_cover
        self.useful = np.flatnonzero(sub.any(axis=0))  # original candidate indices
        sub = sub[:, self.useful]
        # Classes covered by the same candidates are interchangeable: merge them.
        first, inverse = row_groups(np.packbits(sub, axis=1))
        merged_w = group_sums(inverse, inst.rel_weights, first.size)
        sub = sub[first]
        self.nx, self.ny = self.useful.size, first.size
        # Divide by the largest weight first: no overflow even for subnormal weights.
        self._wmax = float(merged_w.max())
        self._factor = _OBJECTIVE_SCALE / float((merged_w / self._wmax).sum())
        self.obj_w = self.scaled(merged_w)
        # Rows y_s - sum_{c covers s} x_c <= 0.
        rows, cols = np.nonzero(sub)
        data = np.concatenate([np.ones(self.ny), -np.ones(rows.size)])
        r = np.concatenate([np.arange(self.ny), rows])
        c = np.concatenate([self.nx + np.arange(self.ny), cols])
        self.link = sparse.csr_array((data, (r, c)), shape=(self.ny, self.nx + self.ny))
        self.sparse = sparse
        self.integrality = np.concatenate([np.ones(self.nx), np.zeros(self.ny)])
        self.bounds = self.Bounds(np.zeros(self.nx + self.ny), np.ones(self.nx + self.ny))

    def scaled(self, mass: Any) -> Any:
        """``mass`` (original units) in the units of the objective (coverable mass = 1e6)."""
        return (mass / self._wmax) * self._factor

    def _row(self, x_coef: np.ndarray | float, y_coef: np.ndarray | float) -> Any:
        row = np.concatenate([np.broadcast_to(x_coef, (self.nx,)), np.broadcast_to(y_coef, (self.ny,))])
        return self.sparse.csr_array(row[None, :])

    def _solve(self, c: np.ndarray, extra: list[Any], time_limit: float | None) -> tuple[list[int] | None, bool]:
        options: dict[str, Any] = {"mip_rel_gap": 0.0}
        if time_limit is not None:
            options["time_limit"] = time_limit
        constraints = [self.LinearConstraint(self.link, -np.inf, 0.0), *extra]
        res = self.milp(c, integrality=self.integrality, bounds=self.bounds, constraints=constraints, options=options)
        if res.status not in (0, 1):
            raise HlamatchError(f"the HiGHS solver failed (status {res.status}): {res.message}")
        if res.x is None:
            return None, False
        chosen = [int(i) for i in self.useful[np.asarray(res.x[: self.nx]) > 0.5]]
        return chosen, res.status == 0

    def max_coverage(self, n_lines: int, time_limit: float | None) -> tuple[list[int] | None, bool]:
        """At most ``n_lines`` candidates with the largest covered mass."""
        c = np.concatenate([np.zeros(self.nx), -self.obj_w])
        budget = self.LinearConstraint(self._row(1.0, 0.0), -np.inf, float(n_lines))
        return self._solve(c, [budget], time_limit)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def _best_max(
    inst: _Instance,
    prog: _Program | None,
    n_lines: int,
    deadline: float | None,
    known: list[tuple[int, ...]],
) -> tuple[tuple[int, ...], bool]:
    """At most ``n_lines`` candidates of largest coverage, and whether that is proven.

    The solver's set is compared (exactly) with the greedy's and with the ``known`` sets that
    fit the budget, and the best is returned, so the answer is never worse than the greedy's,
    even when the time limit stops the solver early.
    """
    if prog is None or n_lines == 0:
        return (), True
    pool = [inst.prune(_greedy(inst, n_lines, None)), *(s for s in known if len(s) <= n_lines)]
    remaining = _remaining(deadline)
    proven = False
    if remaining is None or remaining > 0:
        chosen, proven = prog.max_coverage(n_lines, remaining)
        if chosen is not None:
            pool.insert(0, inst.prune(chosen))
    # max() keeps the first of equal coverages: the solver's set, then the greedy's.
    best = max(pool, key=inst.coverage)
    return best, proven


def solve_exact(
    cover: Any,
    weights: Any,
    *,
    n_lines: int | None = None,
    target: float | None = None,
    base: float = 0.0,
    time_limit: float | None = None,
) -> ExactSolution:
    """Best set of candidate lines, exactly, by mixed-integer programming (HiGHS via SciPy).

    Two modes (give exactly one of ``n_lines`` and ``target``):

    * ``n_lines``: at most ``n_lines`` candidates maximising ``base`` + covered mass;
    * ``target``: the fewest candidates with ``base`` + covered mass >= ``target``; among those,
      the largest coverage.  This lexicographic order is solved as a **sequence of n_lines
      programs**: the best coverage of at most ``k`` lines grows with ``k``, so ``k`` is bisected
      between 0 and the greedy's number of lines, each probe's set being compared with
      ``target`` in exact arithmetic; the probe at the smallest sufficient ``k`` is the answer
      (largest coverage for that ``k``).  About ``log2(greedy lines) + 1`` solves.  A single
      "fewest lines subject to a mass row" program would be smaller, but HiGHS checks that row
      against a tolerance relative to its scaled coefficients, so with probabilities as
      coefficients it accepts sets short of the target (and SciPy's HiGHS 1.12 was seen to call
      a feasible one infeasible); objective-only weights avoid both.

    The program has one binary ``x_c`` per candidate and one continuous ``y_s`` in [0, 1] per
    class, with ``y_s <= sum_{c covers s} x_c`` (sparse constraint matrix); see the module
    docstring for the reductions applied first.  Optimality is proven to HiGHS's absolute gap,
    which the objective scaling makes 1e-12 of the coverable mass.  The answer is never worse
    than :func:`greedy_max_coverage` on the same instance (both are compared exactly), redundant
    candidates are dropped (removing any chosen one lowers the coverage), and ``coverage`` is
    recomputed from the chosen set with :func:`math.fsum`.

    Parameters
    ----------
    cover : array_like of shape (n_classes, n_candidates), bool
        ``cover[s, c]`` is True when candidate ``c`` covers patient class ``s`` (0/1 integers
        are accepted).
    weights : array_like of shape (n_classes,), float64
        Probability mass of each class (already weighted over populations); finite, >= 0.
    n_lines : int, optional
        Choose at most this many candidates (>= 0).
    target : float, optional
        Coverage to reach, on the same scale as ``base`` + weights.
    base : float, default 0.0
        Mass already covered by the existing bank (patients not in the classes).
    time_limit : float, optional
        Seconds allowed to the solver (all solves together; HiGHS checks it at its own pace,
        so a run can overshoot it a little).  When it is hit, the best set found
        so far (never worse than the greedy's) is returned with ``optimal=False`` and
        ``status="time_limit"``.

    Returns
    -------
    ExactSolution
        ``chosen`` (sorted candidate indices), exact ``coverage``, ``optimal``, ``status``
        (``"optimal"`` or ``"time_limit"``) and the requested ``n_lines``/``target``.

    Raises
    ------
    MissingExtraError
        SciPy is not installed (``pip install 'hlamatch[exact]'``).
    OptionError
        Both or neither of ``n_lines`` and ``target``; bad shapes or values; a ``target`` that
        even all candidates together do not reach (the message gives the reachable coverage).
    HlamatchError
        The solver failed for a reason other than the time limit (should not happen: every
        program built here is feasible and bounded).

    Examples
    --------
    Candidate 0 is the heaviest, so the greedy starts with it; the best pair is (1, 2):

    >>> cover = [[1, 1, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1], [1, 0, 0]]
    >>> weights = [0.2, 0.2, 0.2, 0.2, 0.05]
    >>> greedy_max_coverage(cover, weights, n_lines=2)
    ExactSolution(chosen=(0, 1), coverage=0.65, optimal=False, status='greedy', n_lines=2, target=None)
    >>> solve_exact(cover, weights, n_lines=2)
    ExactSolution(chosen=(1, 2), coverage=0.8, optimal=True, status='optimal', n_lines=2, target=None)
    >>> sol = solve_exact(cover, weights, target=0.8)  # the greedy needs 3 lines
    >>> sol.chosen, sol.coverage, sol.optimal
    ((1, 2), 0.8, True)
    """
    n_lines, target = _check_mode(n_lines, target)
    if time_limit is not None and (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, numbers.Real)
        or not math.isfinite(time_limit)
        or time_limit <= 0
    ):
        raise OptionError(f"time_limit must be a positive number of seconds, found {time_limit!r}")
    scipy_parts = _import_scipy()
    inst = _Instance(cover, weights, base)
    if target is not None and inst.best < target:
        raise inst.unreachable(target)
    deadline = None if time_limit is None else time.monotonic() + float(time_limit)
    prog = _Program(inst, scipy_parts) if inst.rel.size else None

    if n_lines is not None:
        chosen, proven = _best_max(inst, prog, n_lines, deadline, [])
        return ExactSolution(chosen, inst.coverage(chosen), proven, _status(proven), n_lines, None)

    assert target is not None
    if inst.base >= target or prog is None:
        return ExactSolution((), inst.coverage(()), True, "optimal", None, target)
    # Lexicographic: fewest lines, then largest coverage.  maxcov(k), the best coverage of at
    # most k lines, grows with k; bisect for the smallest k with maxcov(k) >= target, every probe
    # being the n_lines program, compared with target in exact arithmetic.  The probe at that k
    # is also the second objective.
    greedy = inst.prune(_greedy(inst, None, target))  # reaches target: checked above
    lo, lo_proven = 0, True  # 0 lines do not reach target (base < target)
    hi, hi_set, hi_proven, hi_solved = len(greedy), greedy, False, False
    while hi - lo > 1 or not hi_solved:
        k = (lo + hi) // 2 if hi - lo > 1 else hi
        chosen, proven = _best_max(inst, prog, k, deadline, [hi_set])
        if inst.coverage(chosen) >= target:
            # a pruned set may use fewer than k lines; it is then also best for its own size
            hi, hi_set, hi_proven, hi_solved = len(chosen), chosen, proven, True
            if hi <= lo:  # only if a solver tolerance misled an earlier probe: search again below
                lo, lo_proven = hi - 1, False
        else:
            lo, lo_proven = k, proven
    optimal = lo_proven and hi_proven
    return ExactSolution(hi_set, inst.coverage(hi_set), optimal, _status(optimal), None, target)


def _status(proven: bool) -> str:
    return "optimal" if proven else "time_limit"
