"""Exact bank selection (``hlamatch.compute.optimize``) against a brute force over all subsets.

The brute force below enumerates every combination of candidates with :mod:`itertools` and sums
with :func:`math.fsum`; it shares no code with ``hlamatch/optimize.py``.  ``coverage`` is summed
exactly (fsum) by both, so for the same chosen set the two agree to the last bit; optimal values
of different sets are compared with ``ATOL`` (HiGHS proves optimality to 1e-12 of the coverable
mass).  Instances: at most 8 candidates, 12 classes, ``n_lines`` 1..4.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hlamatch.compute.optimize import ExactSolution, greedy_max_coverage, solve_exact
from hlamatch.errors import HlamatchError, MissingExtraError, OptionError

ATOL = 1e-12
HYPOTHESIS = dict(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])


# ====================================================================== brute force (no library code)


def brute_coverage(cover, weights, base, subset) -> float:
    """``base`` + weight of every class some candidate of ``subset`` covers."""
    return math.fsum([base] + [w for row, w in zip(cover, weights) if any(row[c] for c in subset)])


def subsets(n_candidates, size):
    return itertools.combinations(range(n_candidates), size)


def brute_best(cover, weights, base, n_lines, n_candidates) -> float:
    """Largest coverage of at most ``n_lines`` candidates."""
    return max(
        brute_coverage(cover, weights, base, s)
        for k in range(min(n_lines, n_candidates) + 1)
        for s in subsets(n_candidates, k)
    )


def brute_min_lines(cover, weights, base, target, n_candidates) -> int | None:
    """Fewest candidates reaching ``target`` (None when even all of them do not)."""
    for k in range(n_candidates + 1):
        if any(brute_coverage(cover, weights, base, s) >= target for s in subsets(n_candidates, k)):
            return k
    return None


def naive_greedy(cover, weights, n_lines, n_candidates) -> list[int]:
    """Greedy picks, written out: largest uncovered weight, first index on ties, positive gains only."""
    covered = [False] * len(cover)
    picks = []
    for _ in range(n_lines):
        gains = [
            math.fsum(w for s, (row, w) in enumerate(zip(cover, weights)) if row[c] and not covered[s])
            for c in range(n_candidates)
        ]
        best = max(gains)
        if best <= 0:
            break
        c = gains.index(best)
        picks.append(c)
        covered = [cv or row[c] for cv, row in zip(covered, cover)]
    return picks


# ====================================================================== strategies


@st.composite
def instances(draw, dyadic: bool = False):
    """``(cover as lists of bools, weights, base, n_candidates)``, small enough for brute force.

    ``dyadic`` weights (integers / 1024) make every sum exact in binary, so ties are real ties.
    """
    n_candidates = draw(st.integers(1, 8))
    n_classes = draw(st.integers(0, 12))
    density = draw(st.sampled_from([0.15, 0.3, 0.6]))
    cover = [[draw(st.integers(0, 99)) < 100 * density for _ in range(n_candidates)] for _ in range(n_classes)]
    if dyadic:
        weights = [draw(st.integers(0, 64)) / 1024 for _ in range(n_classes)]
        base = draw(st.integers(0, 256)) / 1024
    else:
        weight = st.one_of(st.just(0.0), st.floats(1e-6, 1.0), st.floats(0.0, 1e-3))
        weights = [draw(weight) for _ in range(n_classes)]
        total = math.fsum(weights)
        if total > 0 and draw(st.booleans()):  # probabilities: scale to a total below 1
            weights = [w / total * 0.8 for w in weights]
        base = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.2)))
    return cover, weights, base, n_candidates


def matrix(cover, n_candidates) -> np.ndarray:
    """The library's input: a (n_classes, n_candidates) bool array (a list cannot say n_candidates
    when there are no classes)."""
    return np.array(cover, dtype=bool).reshape(len(cover), n_candidates)


def assert_no_redundant(sol: ExactSolution, cover, weights):
    """Every chosen candidate is the only chosen one to cover some class of positive weight.

    (Checked on sets of classes, not on sums: a tiny class can vanish in a rounded sum.)
    """
    for c in sol.chosen:
        rest = [d for d in sol.chosen if d != c]
        assert any(row[c] and w > 0 and not any(row[d] for d in rest) for row, w in zip(cover, weights)), (
            f"candidate {c} is redundant"
        )


# ====================================================================== n_lines mode


@settings(**HYPOTHESIS)
@given(inst=st.one_of(instances(), instances(dyadic=True)), n_lines=st.integers(1, 4))
def test_exact_matches_brute_force_and_beats_greedy(inst, n_lines):
    cover, weights, base, n = inst
    sol = solve_exact(matrix(cover, n), weights, n_lines=n_lines, base=base)
    greedy = greedy_max_coverage(matrix(cover, n), weights, n_lines=n_lines, base=base)

    assert sol.optimal and sol.status == "optimal"
    assert sol.n_lines == n_lines and sol.target is None
    assert list(sol.chosen) == sorted(set(sol.chosen)) and len(sol.chosen) <= n_lines
    assert all(0 <= c < n for c in sol.chosen)
    # coverage is recomputed exactly from the chosen set
    assert sol.coverage == brute_coverage(cover, weights, base, sol.chosen)
    assert sol.coverage == pytest.approx(brute_best(cover, weights, base, n_lines, n), abs=ATOL)
    # never worse than the greedy, compared exactly (solve_exact checks the greedy's set itself)
    assert sol.coverage >= greedy.coverage
    assert not greedy.optimal and greedy.status == "greedy"
    assert greedy.coverage == brute_coverage(cover, weights, base, greedy.chosen)
    assert_no_redundant(sol, cover, weights)


@settings(**HYPOTHESIS)
@given(inst=instances(dyadic=True), n_lines=st.integers(1, 4))
def test_greedy_is_the_textbook_greedy(inst, n_lines):
    cover, weights, base, n = inst
    picks = naive_greedy(cover, weights, n_lines, n)
    greedy = greedy_max_coverage(matrix(cover, n), weights, n_lines=n_lines, base=base)
    assert greedy.chosen == tuple(sorted(picks))


@settings(**HYPOTHESIS)
@given(inst=instances(dyadic=True))
def test_greedy_first_pick_maximises_single_candidate_coverage(inst):
    cover, weights, base, n = inst
    single = [brute_coverage(cover, weights, base, (c,)) for c in range(n)]
    greedy = greedy_max_coverage(matrix(cover, n), weights, n_lines=1, base=base)
    if max(single) == base:  # no candidate adds anything: nothing is picked
        assert greedy.chosen == ()
    else:
        assert greedy.chosen == (single.index(max(single)),)  # ties go to the lowest index
        assert greedy.coverage == max(single)


# ====================================================================== target mode


@st.composite
def target_instances(draw):
    cover, weights, base, n = draw(st.one_of(instances(), instances(dyadic=True)))
    best = brute_coverage(cover, weights, base, range(n))
    if draw(st.booleans()):  # exactly the coverage of some subset: the boundary case
        size = draw(st.integers(0, n))
        target = brute_coverage(cover, weights, base, draw(st.sampled_from(list(subsets(n, size)))))
    else:
        target = base + draw(st.floats(0.0, 1.0)) * (best - base)
    return cover, weights, base, n, min(target, best)


@settings(**HYPOTHESIS)
@given(inst=target_instances())
def test_target_mode_uses_the_fewest_lines(inst):
    cover, weights, base, n, target = inst
    sol = solve_exact(matrix(cover, n), weights, target=target, base=base)
    k = brute_min_lines(cover, weights, base, target, n)

    assert sol.optimal and sol.status == "optimal"
    assert sol.target == target and sol.n_lines is None
    assert len(sol.chosen) == k
    assert sol.coverage >= target
    assert sol.coverage == brute_coverage(cover, weights, base, sol.chosen)
    # second objective: the largest coverage among sets of k lines
    assert sol.coverage == pytest.approx(brute_best(cover, weights, base, k, n), abs=ATOL)
    greedy = greedy_max_coverage(matrix(cover, n), weights, target=target, base=base)
    assert greedy.coverage >= target and len(greedy.chosen) >= len(sol.chosen)
    assert_no_redundant(sol, cover, weights)


def test_target_mode_beats_greedy_on_the_textbook_instance():
    # Candidate 0 covers half of each of the others' classes plus a small class of its own.
    cover = [[1, 1, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1], [1, 0, 0]]
    weights = [0.2, 0.2, 0.2, 0.2, 0.05]
    assert greedy_max_coverage(cover, weights, target=0.8).chosen == (0, 1, 2)
    sol = solve_exact(cover, weights, target=0.8)
    assert (sol.chosen, sol.coverage, sol.optimal) == ((1, 2), 0.8, True)
    # with a base of 0.1 two lines still suffice, and the best pair is kept
    assert solve_exact(cover, weights, target=0.8, base=0.1).coverage == pytest.approx(0.9, abs=ATOL)


def test_target_at_or_below_base_needs_no_line():
    sol = solve_exact([[True]], [0.5], target=0.25, base=0.25)
    assert sol == ExactSolution((), 0.25, True, "optimal", None, 0.25)


# ====================================================================== edge cases


@pytest.mark.parametrize(
    ("cover", "weights", "n_lines", "expected"),
    [
        ([[1, 1]], [0.5], 0, ()),  # no line allowed
        (np.zeros((0, 3), dtype=bool), [], 2, ()),  # no classes
        ([[0, 0], [0, 0]], [0.5, 0.25], 2, ()),  # no candidate covers anything
        ([[1, 0], [0, 1]], [0.0, 0.0], 2, ()),  # only weightless classes
    ],
)
def test_nothing_to_choose(cover, weights, n_lines, expected):
    sol = solve_exact(cover, weights, n_lines=n_lines, base=0.125)
    assert sol == ExactSolution(expected, 0.125, True, "optimal", n_lines, None)


def test_more_lines_than_candidates_and_duplicates():
    # two identical candidates and a useless one: one line is enough, the copy is redundant
    sol = solve_exact([[1, 1, 0], [1, 1, 0]], [0.25, 0.5], n_lines=5)
    assert len(sol.chosen) == 1 and sol.chosen[0] in (0, 1)
    assert sol.coverage == 0.75 and sol.optimal


def test_inputs_as_numpy_lists_and_integers_agree():
    rng = np.random.default_rng(1)
    cover = rng.random((30, 10)) < 0.2
    weights = rng.random(30)
    results = {
        solve_exact(c, w, n_lines=3).coverage
        for c, w in [(cover, weights), (cover.tolist(), weights.tolist()), (cover.astype(np.int8), weights)]
    }
    assert len(results) == 1


def test_solution_is_frozen():
    sol = solve_exact([[True]], [1.0], n_lines=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sol.coverage = 0.0  # type: ignore[misc]


def test_time_limit_returns_a_non_optimal_solution_no_worse_than_greedy():
    # Random maximum coverage with 400 classes, 120 candidates and 15 lines takes HiGHS minutes.
    rng = np.random.default_rng(0)
    cover = rng.random((400, 120)) < 0.05
    weights = rng.random(400)
    weights /= weights.sum()
    sol = solve_exact(cover, weights, n_lines=15, time_limit=0.2)
    greedy = greedy_max_coverage(cover, weights, n_lines=15)
    assert not sol.optimal and sol.status == "time_limit"
    assert len(sol.chosen) <= 15 and sol.coverage >= greedy.coverage
    sol = solve_exact(cover, weights, target=greedy.coverage, time_limit=0.2)
    assert not sol.optimal and sol.status == "time_limit"
    assert sol.coverage >= greedy.coverage and len(sol.chosen) <= len(greedy.chosen)


# ====================================================================== errors


@pytest.mark.parametrize("solver", [solve_exact, greedy_max_coverage])
def test_unreachable_target(solver):
    with pytest.raises(OptionError) as e:
        solver([[1, 0], [0, 0]], [0.25, 0.5], target=0.5, base=0.125)
    assert str(e.value) == "target coverage 0.5 cannot be reached: all 2 candidates together reach 0.375"


def test_unreachable_target_close_to_reachable_shows_full_precision():
    with pytest.raises(OptionError) as e:
        solve_exact([[1]], [0.1], target=0.1 + 1e-12)
    assert str(e.value) == ("target coverage 0.100000000001 cannot be reached: all 1 candidates together reach 0.1")
    with pytest.raises(OptionError) as e:
        solve_exact([[1]], [0.1], target=0.1 + 1e-16)
    assert str(e.value) == ("target coverage 0.1000000000000001 cannot be reached: all 1 candidates together reach 0.1")


def test_missing_scipy(monkeypatch):
    for name in ("scipy", "scipy.optimize", "scipy.sparse"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails
    with pytest.raises(MissingExtraError) as e:
        solve_exact([[True]], [1.0], n_lines=1)
    assert str(e.value) == "exact optimisation needs SciPy: pip install 'hlamatch[exact]'"
    assert isinstance(e.value, ImportError) and isinstance(e.value, HlamatchError)
    # the greedy needs NumPy only
    assert greedy_max_coverage([[True]], [1.0], n_lines=1).chosen == (0,)


BAD_ARGUMENTS = [
    (dict(), "give exactly one of n_lines (a number of lines) and target (a coverage)"),
    (dict(n_lines=1, target=0.5), "give exactly one of n_lines (a number of lines) and target (a coverage)"),
    (dict(n_lines=-1), "n_lines must be a non-negative integer, found -1"),
    (dict(n_lines=1.5), "n_lines must be a non-negative integer, found 1.5"),
    (dict(n_lines=True), "n_lines must be a non-negative integer, found True"),
    (dict(target=math.nan), "target must be a finite number (a coverage), found nan"),
    (dict(n_lines=1, base=-0.1), "base must be a finite non-negative number, found -0.1"),
    (dict(n_lines=1, time_limit=0), "time_limit must be a positive number of seconds, found 0"),
    (
        dict(n_lines=1, weights=[0.5]),
        ("weights must be a 1-d array of one weight per class: found shape (1,), cover has 2 rows (classes)"),
    ),
    (dict(n_lines=1, weights=[0.5, -0.25]), ("weights must be finite and non-negative: class 1 has weight -0.25")),
    (dict(n_lines=1, weights=[0.5, math.inf]), "weights must be finite and non-negative: class 1 has weight inf"),
    (
        dict(n_lines=1, cover=[1, 0]),
        ("cover must be a 2-d boolean matrix (classes × candidates), found 1 dimension(s)"),
    ),
    (dict(n_lines=1, cover=[[2, 0], [0, 1]]), "cover must hold booleans (or 0/1), found dtype int64 with other values"),
]


@pytest.mark.parametrize(
    ("solver", "kwargs", "message"),
    [(solve_exact, kw, m) for kw, m in BAD_ARGUMENTS]
    + [(greedy_max_coverage, kw, m) for kw, m in BAD_ARGUMENTS if "time_limit" not in kw],  # no time limit
)
def test_bad_arguments(solver, kwargs, message):
    args = dict(cover=[[True, False], [False, True]], weights=[0.5, 0.25])
    args.update(kwargs)
    with pytest.raises(OptionError) as e:
        solver(args.pop("cover"), args.pop("weights"), **args)
    assert str(e.value) == message
