"""Tolerance-bounded coverage: the bounds always bracket the exact value, and their width is ≤ ε.

Small tables fit in one range of work, so the tests make every row its own range
(``PAIRS_PER_RANGE`` patched to 1): the run then really stops early, after the first rows.
They also keep zero-mismatch runs on the bounded path (``SWEEP_MARGIN`` patched to infinity),
except the tests of the exact line sweep that replaces a bounded run when it is cheaper.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import both_paths, hlamatchit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hlamatch
from hlamatch.compute import zero_bounds as cover
from hlamatch.engine import ranges as engine
from hlamatch.errors import OptionError
from hlamatch.io.frame import table_from_frame

RULES = [
    {},
    {"max_mismatches": 1},
    {"max_mismatches": 1, "allow_mismatch": ["A", "B"]},
    {"max_mismatches": 1, "direction": "GvH", "homozygous_count": 2},
    {"max_mismatches": 2, "direction": "bidirectional"},
]


@pytest.fixture
def fine_ranges(monkeypatch):
    monkeypatch.setattr(engine, "PAIRS_PER_RANGE", 1)
    monkeypatch.setattr(cover, "SWEEP_MARGIN", float("inf"))


def _random_table(seed: int, n: int, listed: float) -> hlamatch.HaplotypeTable:
    rng = np.random.default_rng(seed)
    cols = {locus: [f"{locus}*{rng.integers(1, 6):02d}:01" for _ in range(n)] for locus in ("A", "B", "DRB1")}
    frame = pl.DataFrame(cols).unique(maintain_order=True)
    f = rng.pareto(1.2, frame.height) + 1e-3  # heavy tail: a few frequent rows, many rare ones
    frame = frame.with_columns(P=pl.Series(f / f.sum() * listed))
    return table_from_frame(frame, name=f"random{seed}")


def _check(exact, bounded, eps: float) -> None:
    for e, b in zip(exact, bounded):
        assert b.lower <= e.lower + 1e-14
        assert b.upper >= e.upper - 1e-14
        assert (b.upper - b.lower) - (e.upper - e.lower) <= eps + 1e-14
        assert b.tolerance == (eps if b.level == "genotype" else 0.0)


@both_paths
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 60),
    n_lines=st.integers(1, 6),
    eps=st.sampled_from([0.3, 0.1, 1e-2, 1e-3, 1e-6]),
    rule=st.sampled_from(range(len(RULES))),
    listed=st.sampled_from([1.0, 0.9]),
)
def test_tolerance_brackets_exact_coverage(fine_ranges, seed, n, n_lines, eps, rule, listed):
    table = _random_table(seed, n, listed)
    lines = hlamatch.top_lines(table, n_lines)
    exact = hlamatch.coverage(table, lines, **RULES[rule])
    bounded = hlamatch.coverage(table, lines, tolerance=eps, **RULES[rule])
    _check(exact, bounded, eps)


def test_large_tolerance_really_stops_early(fine_ranges):
    table = _random_table(3, 60, 1.0)
    lines = hlamatch.top_lines(table, 3)
    exact = hlamatch.coverage(table, lines, level="genotype")[0]
    loose = hlamatch.coverage(table, lines, level="genotype", tolerance=0.2)[0]
    assert loose.upper - loose.lower > 1e-6  # the run stopped before the end
    assert loose.lower <= exact.lower <= exact.upper <= loose.upper
    assert loose.upper - loose.lower <= 0.2


def test_tolerance_zero_is_exact_and_bad_values_are_refused():
    table = hlamatch.bundled_table("japanese")
    line = ["A*24:02~B*52:01~DRB1*15:02"]
    assert [r.lower for r in hlamatch.coverage(table, line, tolerance=0)] == [
        r.lower for r in hlamatch.coverage(table, line)
    ]
    for bad in (-1e-6, 1.0, float("nan"), "1e-6", True):
        with pytest.raises(OptionError, match="tolerance must be"):
            hlamatch.coverage(table, line, tolerance=bad)


@pytest.mark.real_data
@pytest.mark.parametrize("rule", range(len(RULES)))
def test_tolerance_brackets_exact_on_japi(fine_ranges, rule):
    path = hlamatchit("JAPI")
    if not path.exists():
        pytest.skip(f"NMDP JAPI table not found at {path}")
    table = hlamatch.load_table(path, loci=["A", "B", "DRB1"])
    lines = hlamatch.top_lines(table, 10)
    exact = hlamatch.coverage(table, lines, level="genotype", **RULES[rule])
    for eps in (1e-3, 1e-6):
        _check(exact, hlamatch.coverage(table, lines, level="genotype", tolerance=eps, **RULES[rule]), eps)


def test_exact_sweep_replaces_a_costlier_bounded_run(monkeypatch):
    """A zero-mismatch run whose exact line sweep is cheaper than the bounded pair run is computed
    exactly: the exact bounds, whatever ε (margin 0 makes the sweep the cheaper on a small table)."""
    monkeypatch.setattr(cover, "SWEEP_MARGIN", 0.0)
    table = _random_table(5, 60, 0.95)
    lines = hlamatch.top_lines(table, 4)
    exact = hlamatch.coverage(table, lines, level="genotype")[0]
    for eps in (0.2, 1e-12):
        loose = hlamatch.coverage(table, lines, level="genotype", tolerance=eps)[0]
        assert (loose.lower, loose.upper) == pytest.approx((exact.lower, exact.upper), abs=1e-14)
        assert loose.tolerance == eps


@pytest.mark.real_data
def test_tight_tolerance_on_japi_five_loci_is_exact():
    """JAPI five loci, top 20, ε = 1e-9: the bounded run would visit almost every pair, the sweep
    far fewer: exact bounds."""
    table = hlamatch.load_table(hlamatchit("JAPI"), loci=["A", "C", "B", "DRB1", "DQB1"])
    lines = hlamatch.top_lines(table, 20)
    exact = hlamatch.coverage(table, lines, level="genotype")[0]
    tight = hlamatch.coverage(table, lines, level="genotype", tolerance=1e-9)[0]
    assert (tight.lower, tight.upper) == pytest.approx((exact.lower, exact.upper), abs=1e-14)


# ---------------------------------------------------------------------------------- rank and plan


@both_paths
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 40),
    eps=st.sampled_from([0.2, 1e-2, 1e-4]),
    rule=st.sampled_from(range(len(RULES))),
    listed=st.sampled_from([1.0, 0.9]),
    level=st.sampled_from(["genotype", "haplotype"]),
)
def test_rank_with_tolerance_brackets_exact_gains(seed, n, eps, rule, listed, level):
    """Every candidate's coverage after adding it: the tolerance run brackets the exact one and
    widens it by at most ε (the default rule stays exact)."""
    table = _random_table(seed, n, listed)
    bank = hlamatch.top_lines(table, 1)
    kw = dict(bank=bank, n_candidates=6, level=level, **RULES[rule])
    exact = {c.line: c for c in hlamatch.rank_candidates(table, **kw)}
    bounded = hlamatch.rank_candidates(table, tolerance=eps, **kw)
    assert bounded.context.tolerance == eps
    for b in bounded:
        e = exact[b.line]
        assert b.lower <= e.lower + 1e-14 and b.upper >= e.upper - 1e-14
        assert (b.upper - b.lower) - (e.upper - e.lower) <= eps + 1e-14
        if not RULES[rule]:
            assert (b.lower, b.upper) == (e.lower, e.upper)


@both_paths
def test_plan_with_tolerance_brackets_the_coverage_of_its_banks():
    """Each greedy step's bounds bracket the exact coverage of that step's bank (hlamatch.coverage)."""
    table = _random_table(11, 60, 0.95)
    eps = 1e-3
    plan = hlamatch.plan_bank(table, n_candidates=8, max_lines=4, level="genotype", max_mismatches=1, tolerance=eps)
    bank: list[str] = []
    for step in plan:
        if step.step == 0:
            continue
        bank.append(step.line)
        e = hlamatch.coverage(table, bank, level="genotype", max_mismatches=1)[0]
        assert step.coverage <= e.lower + 1e-12 and step.upper >= e.upper - 1e-12
        assert (step.upper - step.coverage) - (e.upper - e.lower) <= eps + 1e-12


def test_exact_plan_refuses_a_tolerance():
    with pytest.raises(
        OptionError, match="the integer-programming plan needs every patient pair: drop tolerance or exact"
    ):
        hlamatch.plan_bank("japanese", n_candidates=5, max_lines=2, exact=True, tolerance=1e-3, max_mismatches=1)
    with pytest.raises(OptionError, match="tolerance must be"):
        hlamatch.rank_candidates("japanese", n_candidates=5, tolerance=-1.0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000), eps=st.sampled_from([0.5, 0.1, 1e-2, 1e-4, 1e-9]))
def test_stair_stops_visit_the_most_probable_genotypes(n, seed, eps):
    """Brute force: the genotypes left out weigh the reported mass, at most ε, and none of them is
    more probable than a visited one."""
    rng = np.random.default_rng(seed)
    f = np.sort(rng.pareto(1.0, n) * (rng.random(n) < 0.9))[::-1]
    f = f / max(f.sum(), 1e-300) * 0.9
    stops, left = engine.stair_stops(f, eps)
    visited = [(i, j) for i in range(n) for j in range(i, n) if j < stops[i]]
    out = [(i, j) for i in range(n) for j in range(i, n) if j >= stops[i]]
    mass_out = sum(f[i] * f[j] * (1 if i == j else 2) for i, j in out)
    assert left == pytest.approx(mass_out, abs=1e-15) and left <= eps + 1e-15
    if visited and out:
        assert min(f[i] * f[j] for i, j in visited) >= max(f[i] * f[j] for i, j in out)
    assert list(stops) == sorted(stops, reverse=True)  # visited rows form a prefix
