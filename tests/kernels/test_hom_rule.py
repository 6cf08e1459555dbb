"""The HvG rule kernel for homozygous lines at genotype level (``cover.hom_rule_histograms``).

It answers every HvG rule (k, per-locus limits, homozygous count 1 or 2, nulls, unlisted mass,
tolerance) for banks of homozygous lines from the zero-mismatch bitsets.  Checked against the
brute force of ``tests/naive.py`` on small tables, against the general rule kernel (an
independent code path) on random arrays with more than 64 lines, and on the real JAPI table.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from conftest import both_paths, hlamatchit, only_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive import naive_rule_coverage, naive_rule_histograms
from strategies import limits_of, rule_problems

import hlamatch
from hlamatch.compute.rule_bounds import hom_rule_histograms, homozygous_hvg, mismatch_histograms
from hlamatch.hla.rules import MatchRules
from hlamatch.io.frame import table_from_frame

ATOL = 1e-12
HYPOTHESIS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def make_table(loci, haps, freqs):
    data = {locus: [h[l] for h in haps] for l, locus in enumerate(loci)}
    data["P"] = [float(x) for x in freqs]
    return table_from_frame(pl.DataFrame(data), name="t")


def text(line) -> str:
    return "~".join(line[0])


@st.composite
def hvg_rules(draw, loci):
    require = draw(st.lists(st.sampled_from(loci), unique=True, max_size=2))
    allow = draw(st.one_of(st.none(), st.lists(st.sampled_from(loci), unique=True, max_size=len(loci))))
    if allow is not None:  # a locus both required and allowed is a contradiction MatchRules refuses
        allow = [x for x in allow if x not in require]
    return dict(
        max_mismatches=draw(st.integers(0, 3)),
        direction="HvG",
        homozygous_count=draw(st.sampled_from([1, 2])),
        require_match=require,
        allow_mismatch=allow,
    )


@both_paths
@settings(max_examples=150, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems(max_lines=5, homozygous_only=True))
def test_homozygous_hvg_coverage_equals_naive(data, p):
    """Lower, upper and both distributions equal the brute force (nulls and unlisted mass included)."""
    loci, haps, freqs, lines = p
    rule = data.draw(hvg_rules(loci))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # line alleles absent from the table: warned, not the point here
        r = hlamatch.coverage(
            make_table(loci, haps, freqs), [text(x) for x in lines], level="genotype", distribution=True, **rule
        ).get("genotype")
    U = max(0.0, 1.0 - math.fsum(freqs))
    limits = limits_of(loci, rule)
    lo, hi = naive_rule_histograms(haps, freqs, lines, "genotype", "HvG", rule["homozygous_count"], limits, U)
    lower, upper, _ = naive_rule_coverage(
        haps, freqs, lines, "genotype", rule["max_mismatches"], "HvG", rule["homozygous_count"], limits, U
    )
    assert r.lower == pytest.approx(lower, abs=ATOL)
    assert r.upper == pytest.approx(upper, abs=ATOL)
    for key in lo:
        assert r.distribution[key] == pytest.approx(lo[key], abs=ATOL), key
        assert r.distribution_upper[key] == pytest.approx(hi[key], abs=ATOL), key


def random_problem(rng, n_lines):
    """Random codes (some null), frequencies below 1 and homozygous lines (codes past the
    vocabulary, as the line encoder gives alleles the table lacks, and null line alleles)."""
    n_loci = int(rng.integers(1, 6))
    n = int(rng.integers(1, 60))
    sizes = [int(rng.integers(1, 6)) for _ in range(n_loci)]
    codes = np.stack([rng.integers(0, s, n) for s in sizes], axis=1).astype(np.int32)
    with_nulls = rng.random() < 0.4
    nulls = np.zeros(codes.shape, dtype=np.bool_)
    if with_nulls:
        nulls[:, 0] = codes[:, 0] == 0
    freqs = rng.random(n)
    freqs = freqs / freqs.sum() * rng.uniform(0.5, 1.0)
    one = np.stack([rng.integers(0, s + 2, n_lines) for s in sizes], axis=1)
    one = np.where(one >= np.array(sizes), one + 2, one).astype(np.int32)
    one_null = np.zeros(one.shape, dtype=np.bool_)
    if with_nulls:
        one_null[:, 0] = one[:, 0] == 0
    lc = np.ascontiguousarray(np.stack([one, one], axis=1))
    ln = np.ascontiguousarray(np.stack([one_null, one_null], axis=1))
    loci = [f"L{l}" for l in range(n_loci)]
    rules = MatchRules(
        max_mismatches=int(rng.integers(0, 4)),
        homozygous_count=int(rng.integers(1, 3)),
        require_match=[x for x in loci if rng.random() < 0.3],
    )
    return codes, nulls, freqs, lc, ln, sizes, rules, rules.locus_limits(loci), 1.0 - freqs.sum()


@both_paths
@pytest.mark.parametrize("seed", range(40))
def test_equals_general_kernel_on_random_arrays(seed):
    """Identical histograms to the general rule kernel, with one and with several 64-line words."""
    rng = np.random.default_rng(seed)
    n_lines = int(rng.integers(1, 6)) if seed % 2 else int(rng.integers(60, 140))
    args = random_problem(rng, n_lines)
    assert homozygous_hvg(args[6], args[3], args[4])
    a_lo, a_hi = hom_rule_histograms(*args)
    b_lo, b_hi = mismatch_histograms(*args[:8], False, args[8])
    np.testing.assert_allclose(a_lo, b_lo, rtol=0, atol=ATOL)
    np.testing.assert_allclose(a_hi, b_hi, rtol=0, atol=ATOL)
    assert a_lo.sum() == pytest.approx(1.0, abs=1e-9) and a_hi.sum() == pytest.approx(1.0, abs=1e-9)


@both_paths
@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("tolerance", [1e-3, 1e-2, 0.2])
def test_tolerance_brackets_the_exact_value(seed, tolerance):
    """With a tolerance the covered mass is bracketed and the bracket widens by at most ε."""
    rng = np.random.default_rng(1000 + seed)
    args = random_problem(rng, int(rng.integers(1, 80)))
    k = min(args[6].max_mismatches, 2 * len(args[5]))
    e_lo, e_hi = hom_rule_histograms(*args)
    t_lo, t_hi = hom_rule_histograms(*args, tolerance=tolerance)
    lower, upper = math.fsum(t_lo[: k + 1]), math.fsum(t_hi[: k + 1])
    exact_lo, exact_hi = math.fsum(e_lo[: k + 1]), math.fsum(e_hi[: k + 1])
    assert lower <= exact_lo + ATOL and upper >= exact_hi - ATOL
    assert (upper - lower) - (exact_hi - exact_lo) <= tolerance + ATOL


def test_hand_case_one_line_two_loci():
    """Line A1~B1; haplotypes A1~B1 (0.5), A2~B2 (0.3), A1~B2 (0.2): the pairs by hand."""
    codes = np.array([[0, 0], [1, 1], [0, 1]], dtype=np.int32)
    freqs = np.array([0.5, 0.3, 0.2])
    lc = np.zeros((1, 2, 2), dtype=np.int32)
    ln = np.zeros((1, 2, 2), dtype=np.bool_)
    rules = MatchRules(max_mismatches=2)
    lo, hi = hom_rule_histograms(
        codes, np.zeros(codes.shape, dtype=np.bool_), freqs, lc, ln, [2, 2], rules, rules.locus_limits(["A", "B"]), 0.0
    )
    # 0 mismatches: every pair with A1~B1, 1 - (1 - 0.5)² = 0.75.  1 mismatch (B1 missing):
    # (A1~B2, A1~B2) 0.04 + (A1~B2, A2~B2) 2·0.2·0.3 = 0.12 → 0.16.  2: (A2~B2, A2~B2) 0.09.
    np.testing.assert_allclose(lo, [0.75, 0.16, 0.09, 0, 0, 0], atol=ATOL)
    np.testing.assert_allclose(hi, lo, atol=ATOL)


@pytest.mark.real_data
@pytest.mark.parametrize(
    "rule",
    [
        dict(max_mismatches=1),
        dict(max_mismatches=2, homozygous_count=2),
        dict(max_mismatches=1, require_match=["DRB1"]),
    ],
)
def test_japi_top20_equals_general_kernel(rule):
    """JAPI A~B~DRB1, top 20 lines: the same histograms as the general rule kernel."""
    from hlamatch.compute.problem import prepare

    table = hlamatch.load_table(hlamatchit("JAPI"), loci=["A", "B", "DRB1"])
    rules = MatchRules(**rule)
    problem = prepare(table, hlamatch.top_lines(table, 20), rules=rules)
    pa = problem.populations[0]
    args = (pa.codes, pa.nulls, pa.freqs, problem.line_codes, problem.line_nulls, problem.sizes, rules, problem.limits)
    a_lo, a_hi = hom_rule_histograms(*args, pa.unlisted)
    b_lo, b_hi = mismatch_histograms(*args, False, pa.unlisted)
    np.testing.assert_allclose(a_lo, b_lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a_hi, b_hi, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ rank and plan (hom_gain_arrays)


def _random_table(seed: int, n: int, n_loci: int = 3) -> hlamatch.HaplotypeTable:
    rng = np.random.default_rng(seed)
    loci = ["A", "B", "DRB1", "C", "DQB1"][:n_loci]
    frame = pl.DataFrame({l: [f"{l}*{rng.integers(1, 6):02d}:01" for _ in range(n)] for l in loci})
    frame = frame.unique(maintain_order=True)
    f = rng.pareto(1.2, frame.height) + 1e-3
    return table_from_frame(frame.with_columns(P=pl.Series(f / f.sum() * rng.choice([1.0, 0.9]))), name="r")


def _general_path(monkeypatch):
    """Make BankState take the general rule kernels (the independent reference path)."""
    import hlamatch.compute.bank as bank

    monkeypatch.setattr(bank, "homozygous_hvg", lambda *a: False)


HVG_RULES = [
    dict(max_mismatches=1),
    dict(max_mismatches=2, homozygous_count=2),
    dict(max_mismatches=1, require_match=["B"]),
    dict(max_mismatches=3, allow_mismatch=["A"]),
]


@only_path("numba")  # both paths differ only in how rows merge here
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rule", range(len(HVG_RULES)))
def test_rank_and_plan_equal_the_general_kernels(monkeypatch, seed, rule):
    """Gains of up to 100 candidates (two 64-line words), with a bank, and a greedy plan: the same
    figures as the general rule kernels."""
    table = _random_table(seed, 80 + 10 * seed)
    kw = dict(bank=hlamatch.top_lines(table, 2), n_candidates=30 + 14 * seed, level="genotype", **HVG_RULES[rule])
    fast = hlamatch.rank_candidates(table, **kw)
    plan_fast = hlamatch.plan_bank(table, max_lines=4, **kw)
    with monkeypatch.context() as m:
        _general_path(m)
        slow = {c.line: c for c in hlamatch.rank_candidates(table, **kw)}
        plan_slow = hlamatch.plan_bank(table, max_lines=4, **kw)
    for c in fast:
        assert (c.lower, c.upper) == pytest.approx((slow[c.line].lower, slow[c.line].upper), abs=ATOL)
    assert [s.line for s in plan_fast] == [s.line for s in plan_slow]
    for a, b in zip(plan_fast, plan_slow):
        assert (a.coverage, a.upper) == pytest.approx((b.coverage, b.upper), abs=ATOL)


@only_path("numba")  # both paths differ only in how rows merge here
def test_plan_steps_equal_coverage_of_their_banks():
    """Each greedy step's coverage is the coverage of its bank (hlamatch.coverage, another path)."""
    table = _random_table(7, 200, 4)
    plan = hlamatch.plan_bank(table, n_candidates=70, max_lines=5, level="genotype", max_mismatches=1)
    bank: list[str] = []
    for step in plan.steps[1:]:
        bank.append(step.line)
        r = hlamatch.coverage(table, bank, level="genotype", max_mismatches=1)[0]
        assert (step.coverage, step.upper) == pytest.approx((r.lower, r.upper), abs=ATOL)
