"""Donor supply (``hlamatch.api.supply``) against the references of ``tests/naive.py``.

Per-person figures are checked against their formulas computed plainly (and, for small R,
exactly in rational arithmetic); expected distinct lines against a term-by-term sum; the exact
haplotype-level expectation of a registry's bank coverage against an ENUMERATION of every
registry of R = 1..3 people on 2–4 haplotypes (which shares nothing with the library's
pair-probability algebra); the Monte Carlo path against the exact value (inside its own 95%
interval) and against the enumeration at genotype level.  Tolerance: 1e-12 absolute unless a
comment says why it is looser.
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from conftest import hlamatchit
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from naive import (
    naive_expected_distinct,
    naive_haplotype_bank_coverage,
    naive_homozygous_probability,
    naive_registry_coverage,
    naive_registry_probability,
    naive_rule_coverage,
)
from strategies import frequencies

from hlamatch.api.supply import supply
from hlamatch.compute.donor_math import donor_probability, expected_distinct, people_per_donor, registry_probability
from hlamatch.errors import HlamatchWarning, OptionError
from hlamatch.hla.rules import MatchRules
from hlamatch.io.frame import table_from_frame

ATOL = 1e-12
LEVELS = ("haplotype", "genotype")
LOCI = ("A", "B", "DRB1")
POPS = ("JPN", "KOR")
HYPOTHESIS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ====================================================================== helpers


def allele(locus: str, k: int) -> str:
    """Allele number ``k`` of ``locus``; number 3 is a null allele (``A*04:11N``)."""
    return f"{locus}*{k + 1:02d}:11N" if k == 3 else f"{locus}*{k + 1:02d}:01"


def make_table(loci, haps, pop_freqs: dict[str, list[float]]):
    data = {locus: [h[l] for h in haps] for l, locus in enumerate(loci)}
    data.update({pop: [float(x) for x in f] for pop, f in pop_freqs.items()})
    return table_from_frame(pl.DataFrame(data), name="t")


def hap_text(hap) -> str:
    return "~".join(hap)


@st.composite
def small_tables(draw, max_haps: int = 4, n_pops=(1, 2), with_nulls: bool = True):
    """2–3 loci, 2–4 distinct haplotypes (null alleles allowed), 1–2 populations."""
    n_loci = draw(st.integers(2, 3))
    loci = LOCI[:n_loci]
    top = 3 if with_nulls else 2
    idx = draw(st.lists(st.tuples(*[st.integers(0, top)] * n_loci), min_size=2, max_size=max_haps, unique=True))
    haps = [tuple(allele(loci[l], k) for l, k in enumerate(h)) for h in idx]
    pops = POPS[: draw(st.integers(*n_pops))]
    pop_freqs = {pop: draw(frequencies(len(haps))) for pop in pops}
    return loci, haps, pop_freqs


def run_supply(*args, **kw):
    """``supply`` with no warning of any kind; one numba thread unless told (tiny tables: the
    Monte Carlo path evaluates one small bank per draw, where starting threads costs the most)."""
    kw.setdefault("threads", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return supply(*args, **kw)


# ====================================================================== pure functions


@settings(max_examples=60, **HYPOTHESIS)
@given(f=st.floats(0, 1), g=st.floats(0, 1), F=st.floats(0, 1), R=st.integers(1, 10**6))
def test_pure_functions_equal_their_formulas(f, g, F, R):
    p = float(donor_probability(f, inbreeding=F))
    assert p == pytest.approx(naive_homozygous_probability(f, F), abs=1e-15)
    assert float(donor_probability(f, g, inbreeding=F)) == pytest.approx(2 * (1 - F) * f * g, abs=1e-15)
    # The plain power loses ~R·eps of (1 − p)'s rounding: at most 1e6 × 1.1e-16 ≈ 1e-10.
    assert float(registry_probability(p, R)) == pytest.approx(naive_registry_probability(p, R), abs=1e-9)
    assert float(people_per_donor(p)) == (math.inf if p == 0 else pytest.approx(1 / p, rel=1e-15))


@settings(max_examples=40, **HYPOTHESIS)
@given(p=st.floats(0, 1), R=st.integers(1, 30))
def test_registry_probability_is_accurate_in_exact_arithmetic(p, R):
    exact = 1 - (1 - Fraction(p)) ** R
    assert float(registry_probability(p, R)) == pytest.approx(float(exact), rel=1e-13, abs=1e-300)


def test_registry_probability_tiny_p_large_r():
    # 1 − (1 − 1e-12)^1e6 = 1e-6 − 5e-13 + ...: the plain power would keep ~4 digits only.
    assert float(registry_probability(1e-12, 10**6)) == pytest.approx(1e-6 - 0.5e-12, rel=1e-12)
    assert float(registry_probability(1.0, 3)) == 1.0
    assert float(registry_probability(0.0, 3)) == 0.0


def test_inbreeding_edges():
    f = np.array([0.0, 0.1, 0.5, 1.0])
    np.testing.assert_array_equal(donor_probability(f), f * f)  # F = 0: HWE
    np.testing.assert_array_equal(donor_probability(f, inbreeding=1), f)  # F = 1: p_h = f_h
    np.testing.assert_array_equal(donor_probability(f, f, inbreeding=1), 0 * f)  # nobody heterozygous
    assert float(donor_probability(0.2, inbreeding=0.5)) == pytest.approx(0.5 * 0.04 + 0.5 * 0.2, abs=1e-16)
    assert people_per_donor(0.0) == math.inf
    np.testing.assert_array_equal(people_per_donor(np.array([0.5, 0.0])), [2.0, math.inf])


@settings(max_examples=40, **HYPOTHESIS)
@given(
    freqs=st.lists(st.floats(0, 0.2), min_size=1, max_size=30),
    R=st.integers(1, 200_000),
    F=st.sampled_from([0.0, 0.01, 1.0]),
)
def test_expected_distinct_is_the_term_by_term_sum(freqs, R, F):
    p = donor_probability(np.array(freqs), inbreeding=F)
    # Up to 30 terms, each off by <= R·eps in the plain power (see above).
    assert expected_distinct(p, R) == pytest.approx(naive_expected_distinct(freqs, R, F), abs=1e-9)
    assert 0 <= expected_distinct(p, R) <= sum(1 for x in freqs if x > 0)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: donor_probability(0.1, inbreeding=1.5),
            "the inbreeding coefficient must be a number in [0, 1], got 1.5",
        ),
        (
            lambda: donor_probability(0.1, inbreeding="x"),
            "the inbreeding coefficient must be a number in [0, 1], got 'x'",
        ),
        (lambda: donor_probability(1.5), "haplotype frequencies must lie in [0, 1], got 1.5"),
        (lambda: people_per_donor(-0.1), "donor probabilities must lie in [0, 1], got -0.1"),
        (lambda: registry_probability(0.1, 0), "registry sizes must be whole numbers ≥ 1, got 0"),
        (lambda: registry_probability(0.1, 2.5), "registry sizes must be whole numbers ≥ 1, got 2.5"),
        (lambda: expected_distinct([0.1], True), "registry sizes must be whole numbers ≥ 1, got True"),
    ],
)
def test_pure_function_errors(call, message):
    with pytest.raises(OptionError) as e:
        call()
    assert str(e.value) == message


# ====================================================================== hand-computed


A1, A2, B7, B8 = "A*01:01", "A*02:01", "B*07:02", "B*08:01"


def test_hand_two_haplotypes_one_person():
    # a=A1~B8 (.5), b=A2~B7 (.25), U=.25; R=1.  p_a = .25, p_b = .0625.
    # The person is homozygous a (.25): bank {a}: lower 1−(1−.5)² = .75, upper 1−(.75−.5)² = .9375;
    # homozygous b (.0625): {b}: lower 1−.75² = .4375, upper 1−(.75−.25)² = .75; else empty bank: 0.
    # E[lower] = .25·.75 + .0625·.4375 = .21484375; E[upper] = .234375 + .046875 = .28125.
    # Expected distinct lines = .25 + .0625 = .3125.
    t = make_table(("A", "B"), [(A1, B8), (A2, B7)], {"JPN": [0.5, 0.25]})
    rep = run_supply(t, registry_sizes=[1], level="haplotype")
    r = rep.registry(1)
    assert r.expected_distinct_lines == pytest.approx(0.3125, abs=ATOL)
    assert r.p_no_line == pytest.approx(1 - 0.3125, abs=ATOL)
    hap = r.level("haplotype")
    assert (hap.expected_coverage, hap.expected_upper) == pytest.approx((0.21484375, 0.28125), abs=ATOL)
    assert hap.method == "exact" and hap.standard_error == 0 and hap.ci_low == hap.ci_high == hap.expected_coverage
    # Candidates: the two haplotypes, most frequent first.
    c = rep.candidates
    assert [x.line for x in c] == ["A*01:01~B*08:01", "A*02:01~B*07:02"]
    assert [x.p_donor for x in c] == [0.25, 0.0625]
    assert [x.people_per_donor for x in c] == [4.0, 16.0]
    assert [x.p_in_registry[0] for x in c] == pytest.approx([0.25, 0.0625], abs=1e-16)


def test_hand_null_allele_line_matches_more_chromosomes():
    # n=A*01:11N~B8 (.25, A not expressed), b=A2~B8 (.25), c=A2~B7 (.5); R=1, haplotype level.
    # Line n/n has no HvG mismatch against b (the null allele never counts): it matches n and b.
    # p: n .0625, b .0625, c .25.  Banks: {n}: S = .5 → .75; {b}: S = .25 → .4375; {c}: .75.
    # E = .0625·.75 + .0625·.4375 + .25·.75 = .2617... computed below term by term.
    haps = [("A*01:11N", B8), (A2, B8), (A2, B7)]
    freqs = [0.25, 0.25, 0.5]
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    expected = 0.0625 * 0.75 + 0.0625 * (1 - 0.75**2) + 0.25 * 0.75
    got = run_supply(t, registry_sizes=[1], level="haplotype").registry(1).level("haplotype")
    assert got.expected_coverage == pytest.approx(expected, abs=ATOL)
    assert naive_registry_coverage(haps, [freqs], 1, "haplotype")[0] == pytest.approx(expected, abs=ATOL)


def test_heterozygous_and_absent_candidates():
    # a=A1~B8 (.5), b=A2~B7 (.25), U=.25, F=.5.  Line a/b: 2·(1−F)·.5·.25 = .125.
    # Line A1~B7: not listed: frequency 0, never found (people_per_donor inf → None in JSON).
    t = make_table(("A", "B"), [(A1, B8), (A2, B7)], {"JPN": [0.5, 0.25]})
    rep = run_supply(
        t, ["A*01:01~B*08:01/A*02:01~B*07:02", "A*01:01~B*07:02"], registry_sizes=[2], inbreeding=0.5, level="haplotype"
    )
    het, absent = rep.candidates
    assert (het.homozygous, het.frequency, het.frequency_2, het.p_donor) == (False, 0.5, 0.25, 0.125)
    assert het.p_in_registry == pytest.approx((1 - 0.875**2,), abs=ATOL)
    assert (absent.frequency, absent.p_donor, absent.people_per_donor) == (0.0, 0.0, math.inf)
    rows = rep.to_dicts("candidates")
    assert rows[1]["people_per_donor"] is None and rows[0]["p_in_registry_2"] == het.p_in_registry[0]
    json.dumps(rep.to_dict(), allow_nan=False)
    # Inbreeding raises homozygosity: p_a = .5·.25 + .5·.5 = .375, p_b = .5·.0625 + .5·.25 = .15625.
    assert rep.registry(2).expected_distinct_lines == pytest.approx((1 - 0.625**2) + (1 - 0.84375**2), abs=ATOL)


# ====================================================================== exact vs enumeration


@settings(max_examples=30, **HYPOTHESIS)
@given(problem=small_tables(), data=st.data())
def test_naive_haplotype_bank_coverage_agrees_with_the_rule_brute_force(problem, data):
    # The supply reference's own haplotype-level brute force against the shared one of the match
    # rules (zero HvG mismatches, homozygous lines, nulls never mismatch, novel/wildcard unlisted).
    loci, haps, pop_freqs = problem
    bank = data.draw(st.lists(st.sampled_from(haps), max_size=3, unique=True))
    f = next(iter(pop_freqs.values()))
    u = max(0.0, 1.0 - math.fsum(f))
    expected = naive_rule_coverage(haps, f, [(d, d) for d in bank], "haplotype", unlisted=u)[:2] if bank else (0, 0)
    assert naive_haplotype_bank_coverage(haps, f, bank, u) == pytest.approx(expected, abs=ATOL)


def _check_against_enumeration(loci, haps, pop_freqs, R, F, weights):
    populations = dict(zip(pop_freqs, weights)) if weights else None
    t = make_table(loci, haps, pop_freqs)
    rep = run_supply(t, registry_sizes=[R], inbreeding=F, level="haplotype", populations=populations)
    for pop, f in pop_freqs.items():
        r = rep.registry(R, pop)
        lo, hi = naive_registry_coverage(haps, [f], R, "haplotype", inbreeding=F)
        hap = r.level("haplotype")
        assert hap.method == "exact"
        assert hap.expected_coverage == pytest.approx(lo, abs=ATOL)
        assert hap.expected_upper == pytest.approx(hi, abs=ATOL)
        assert r.expected_distinct_lines == pytest.approx(naive_expected_distinct(f, R, F), abs=ATOL)
    if weights:
        lo, hi = naive_registry_coverage(haps, list(pop_freqs.values()), R, "haplotype", weights=weights, inbreeding=F)
        mix = rep.registry(R, "weighted").level("haplotype")
        assert (mix.expected_coverage, mix.expected_upper) == pytest.approx((lo, hi), abs=ATOL)


@settings(max_examples=60, **HYPOTHESIS)
@given(
    problem=small_tables(),
    R=st.integers(1, 3),
    F=st.sampled_from([0.0, 0.3, 1.0]),
    weights=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
)
@example(  # an all-null haplotype: its line matches every chromosome, unlisted ones included
    problem=(("A", "B"), [("A*04:11N", "B*04:11N"), (A1, B8), (A2, B8)], {"JPN": [0.25, 0.25, 0.25]}),
    R=2,
    F=0.0,
    weights=None,
)
def test_exact_haplotype_expectation_equals_enumeration(problem, R, F, weights):
    loci, haps, pop_freqs = problem
    weights = list(weights[: len(pop_freqs)]) if weights and len(pop_freqs) > 1 else None
    _check_against_enumeration(loci, haps, pop_freqs, R, F, weights)


def test_weighted_mix_equals_weighted_sum_when_registry_probabilities_agree():
    # Same frequencies in both populations: every person is homozygous for h with the same
    # probability whatever population they come from, so the mixed registry is distributed like
    # each population's own, and the mix's expectation is Σ w_p × (population p's expectation).
    haps = [(A1, B8), (A2, B7), (A1, B7)]
    f = [0.5, 0.25, 0.125]
    t = make_table(("A", "B"), haps, {"JPN": f, "KOR": f})
    rep = run_supply(t, registry_sizes=[7, 300], populations={"JPN": 3, "KOR": 1}, level="haplotype")
    for R in (7, 300):
        mix = rep.registry(R, "weighted")
        parts = [rep.registry(R, p) for p in ("JPN", "KOR")]
        assert mix.level("haplotype").expected_coverage == pytest.approx(
            0.75 * parts[0].level("haplotype").expected_coverage + 0.25 * parts[1].level("haplotype").expected_coverage,
            abs=ATOL,
        )
        assert mix.expected_distinct_lines == pytest.approx(parts[0].expected_distinct_lines, abs=ATOL)
    assert rep.weights == {"JPN": 0.75, "KOR": 0.25}


def test_weighted_mix_with_different_populations_equals_enumeration():
    haps = [(A1, B8), (A2, B7), (A1, B7), (A2, B8)]
    _check_against_enumeration(
        ("A", "B"), haps, {"JPN": [0.5, 0.25, 0.125, 0.0], "KOR": [0.0, 0.25, 0.25, 0.375]}, 3, 0.0, [2, 1]
    )


@settings(max_examples=25, **HYPOTHESIS)
@given(
    problem=small_tables(max_haps=12, n_pops=(1, 1)),
    sizes=st.lists(st.integers(1, 5000), min_size=2, max_size=4, unique=True),
    F=st.sampled_from([0.0, 0.5]),
)
def test_expectations_are_monotone_bounded_and_ordered(problem, sizes, F):
    loci, haps, pop_freqs = problem
    sizes = sorted(sizes)
    rep = run_supply(make_table(loci, haps, pop_freqs), registry_sizes=sizes, inbreeding=F, level="haplotype")
    n_listed = sum(1 for x in next(iter(pop_freqs.values())) if x > 0)
    prev_d = prev_c = prev_u = -1.0
    for R in sizes:
        r = rep.registry(R)
        hap = r.level("haplotype")
        assert 0 <= hap.expected_coverage <= hap.expected_upper + ATOL <= 1 + 2 * ATOL
        assert 0 <= r.expected_distinct_lines <= n_listed
        # A larger registry holds a superset of the bank (couple the draws), so never less.
        assert r.expected_distinct_lines >= prev_d - ATOL
        assert hap.expected_coverage >= prev_c - ATOL and hap.expected_upper >= prev_u - ATOL
        prev_d, prev_c, prev_u = r.expected_distinct_lines, hap.expected_coverage, hap.expected_upper


# ====================================================================== Monte Carlo


def _inside(result, exact):
    return result.ci_low <= exact <= result.ci_high


def test_monte_carlo_agrees_with_exact_at_haplotype_level():
    # 12 haplotypes over A~B (recombinants present), U = 1/16, R = 20: a bank of a few lines.
    haps = [(allele("A", a), allele("B", b)) for a in range(3) for b in range(4)]
    f = [x / 16 for x in (3, 2, 1, 1, 2, 1, 1, 1, 1, 1, 0.5, 0.5)]
    t = make_table(("A", "B"), haps, {"JPN": f})
    exact = run_supply(t, registry_sizes=[20, 200], level="haplotype")
    mc = run_supply(t, registry_sizes=[20, 200], level="haplotype", method="monte-carlo", samples=2000, seed=1)
    for R in (20, 200):
        e, m = exact.registry(R).level("haplotype"), mc.registry(R).level("haplotype")
        assert m.method == "monte carlo (2000 samples, seed 1)"
        assert m.standard_error > 0 and _inside(m, e.expected_coverage)
        assert abs(m.expected_upper - e.expected_upper) <= 4 * m.standard_error + 1e-12


def test_monte_carlo_genotype_level_agrees_with_enumeration():
    # a=A1~B8, b=A2~B7 and the recombinants c=A1~B7, d=A2~B8: at genotype level the line a/a
    # also covers (c, d) patients.  R = 3: the enumeration visits 5^3 registries.
    haps = [(A1, B8), (A2, B7), (A1, B7), (A2, B8)]
    f = [0.4, 0.3, 0.15, 0.1]
    t = make_table(("A", "B"), haps, {"JPN": f})
    rep = run_supply(t, registry_sizes=[3], samples=4000, seed=0)
    gen = rep.registry(3).level("genotype")
    lo, hi = naive_registry_coverage(haps, [f], 3, "genotype")
    assert gen.method == "monte carlo (4000 samples, seed 0)"
    assert _inside(gen, lo)
    assert abs(gen.expected_upper - hi) <= 4 * gen.standard_error
    # Genotype level ≥ haplotype level for every bank, hence in expectation.
    assert lo >= naive_registry_coverage(haps, [f], 3, "haplotype")[0] - ATOL
    assert rep.registry(3).level("haplotype").method == "exact"


def test_monte_carlo_with_rules_and_a_mix():
    # One mismatch allowed: Monte Carlo at both levels; the mix is evaluated in both populations.
    haps = [(A1, B8), (A2, B7), (A1, B7)]
    t = make_table(("A", "B"), haps, {"JPN": [0.5, 0.25, 0.25], "KOR": [0.25, 0.5, 0.125]})
    rules = MatchRules(max_mismatches=1)
    rep = run_supply(t, registry_sizes=[2], rules=rules, populations={"JPN": 1, "KOR": 1}, samples=3000, seed=3)
    for lev in LEVELS:
        for pop, f, w in (
            ("JPN", [[0.5, 0.25, 0.25]], None),
            ("KOR", [[0.25, 0.5, 0.125]], None),
            ("weighted", [[0.5, 0.25, 0.25], [0.25, 0.5, 0.125]], [1, 1]),
        ):
            got = rep.registry(2, pop).level(lev)
            assert got.method.startswith("monte carlo")
            lo, _ = naive_registry_coverage(haps, f, 2, lev, weights=w, k=1)
            assert _inside(got, lo), (lev, pop, got, lo)
    assert rep.rule == "HvG mismatches ≤ 1; homozygous mismatch counts 1"


def test_monte_carlo_is_reproducible_and_reports_progress():
    haps = [(A1, B8), (A2, B7), (A1, B7)]
    t = make_table(("A", "B"), haps, {"JPN": [0.5, 0.25, 0.25]})
    seen = []
    a = run_supply(t, registry_sizes=[5], level="genotype", samples=50, seed=7, progress=lambda s, x: seen.append(x))
    b = run_supply(t, registry_sizes=[5], level="genotype", samples=50, seed=7)
    assert a.registries == b.registries
    assert seen and seen[-1] == 1.0 and all(0 < x <= 1 for x in seen)
    one = run_supply(t, registry_sizes=[5], level="genotype", samples=1).registry(5).level("genotype")
    assert math.isnan(one.standard_error)
    row = run_supply(t, registry_sizes=[5], level="genotype", samples=1).to_dicts()[0]
    assert row["standard_error"] is None and row["ci_low"] is None


# ====================================================================== report and arguments


def test_report_rows_and_default_candidates():
    haps = [(A1, B8), (A2, B7), (A1, B7)]
    t = make_table(("A", "B"), haps, {"JPN": [0.5, 0.25, 0.125], "KOR": [0.125, 0.25, 0.5]})
    rep = run_supply(t, n_candidates=1, registry_sizes=[10, 100], level="haplotype")
    # Without weights each population reports its own most frequent haplotype.
    assert [(c.population, c.line) for c in rep.candidates] == [("JPN", "A*01:01~B*08:01"), ("KOR", "A*01:01~B*07:02")]
    rows = rep.to_dicts()
    assert [(r["population"], r["registry_size"], r["level"]) for r in rows] == [
        ("JPN", 10, "haplotype"),
        ("JPN", 100, "haplotype"),
        ("KOR", 10, "haplotype"),
        ("KOR", 100, "haplotype"),
    ]
    assert rows[0]["loci"] == ["A", "B"] and rows[0]["rule"] == "HvG mismatches = 0" and rows[0]["table"] == "t"
    doc = rep.to_dict()
    json.dumps(doc, allow_nan=False)
    assert set(doc["definitions"]) >= {"expected_distinct_lines", "expected_coverage", "haplotype", "p_donor"}
    assert rep.to_polars().height == 4 and rep.to_polars("candidates").height == 2
    # Weighted: one candidate list, by weighted frequency (JPN .75·.5 + .25·.125 for A1~B8).
    mix = run_supply(t, n_candidates=1, registry_sizes=[10], level="haplotype", populations={"JPN": 3, "KOR": 1})
    assert [(c.population, c.line) for c in mix.candidates] == [
        ("JPN", "A*01:01~B*08:01"),
        ("KOR", "A*01:01~B*08:01"),
        ("weighted", "A*01:01~B*08:01"),
    ]
    w = mix.candidates[-1]
    assert w.frequency == pytest.approx(0.75 * 0.5 + 0.25 * 0.125, abs=ATOL)
    assert w.p_donor == pytest.approx(0.75 * 0.25 + 0.25 * 0.125**2, abs=ATOL)  # a mix of p, not p of the mix
    assert mix.populations == ("JPN", "KOR", "weighted")
    # No registry sizes: candidate figures only.
    assert run_supply(t, n_candidates=2, populations="JPN").registries == ()


T = make_table(("A", "B"), [(A1, B8), (A2, B7)], {"JPN": [0.5, 0.25]})


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(registry_sizes=[0]), "registry sizes must be whole numbers ≥ 1, got 0"),
        (dict(registry_sizes=[1.5]), "registry sizes must be whole numbers ≥ 1, got 1.5"),
        (dict(registry_sizes=["10"]), "registry sizes must be whole numbers ≥ 1, got '10'"),
        (dict(registry_sizes=[10, 10]), "registry size 10 is given twice"),
        (dict(samples=0), "samples must be a whole number ≥ 1, got 0"),
        (dict(seed=-1), "seed must be a whole number ≥ 0, got -1"),
        (dict(n_candidates=0), "n_candidates must be a whole number ≥ 1, got 0"),
        (dict(inbreeding=-0.1), "the inbreeding coefficient must be a number in [0, 1], got -0.1"),
        (dict(level="both!"), "unknown level 'both!' (choose from haplotype, genotype, both)"),
        (dict(method="mc"), "unknown method 'mc' (choose from auto, exact, monte-carlo)"),
        (
            dict(method="exact", registry_sizes=[5]),
            "the exact method covers the haplotype level under the default rule (zero HvG mismatches) only; "
            "use method 'auto' or 'monte-carlo' for level 'both' with rule 'HvG mismatches = 0'",
        ),
        (
            dict(method="exact", level="haplotype", rules=MatchRules(max_mismatches=1)),
            "the exact method covers the haplotype level under the default rule (zero HvG mismatches) only; "
            "use method 'auto' or 'monte-carlo' for level 'haplotype' with rule 'HvG mismatches ≤ 1; "
            "homozygous mismatch counts 1'",
        ),
    ],
)
def test_bad_arguments(kw, message):
    with pytest.raises(OptionError) as e:
        supply(T, **kw)
    assert str(e.value) == message


def test_bad_report_queries():
    rep = run_supply(T, registry_sizes=[3], level="haplotype")
    with pytest.raises(OptionError, match="no result at level 'genotype'"):
        rep.registry(3).level("genotype")
    with pytest.raises(OptionError, match="no single result for registry_size=4"):
        rep.registry(4)
    with pytest.raises(OptionError, match="unknown part 'x'"):
        rep.to_dicts("x")


def test_unknown_candidate_allele_warns():
    with pytest.warns(HlamatchWarning, match="A\\*03:01"):
        rep = supply(T, ["A*03:01~B*08:01"])
    assert rep.candidates[0].p_donor == 0.0


# ====================================================================== real data


JAPI_SIZES = (15_000, 24_000, 160_000)


@pytest.mark.real_data
def test_japi_registry_supply():
    import hlamatch

    table = hlamatch.load_table(hlamatchit("JAPI"), loci=["A", "B", "DRB1"])
    f = table.freqs[:, 0]
    listed = f[f > 0]
    # Mass that lines carrying a null allele (never a mismatch) match beyond their own haplotype:
    # rows equal to such a row at every locus where it is expressed.  Computed plainly here.
    null = np.array([[name.endswith("N") for name in table.alleles[l]] for l in range(3)], dtype=object)
    is_null = np.array([[null[l][table.codes[r, l]] for l in range(3)] for r in range(len(f))])
    extra = 0.0
    for d in np.flatnonzero(is_null.any(axis=1)):
        same = np.all((table.codes == table.codes[d]) | is_null[d], axis=1)
        extra += f[same].sum() - f[d]
    assert extra > 0  # JAPI A~B~DRB1 lists two haplotypes with a null A allele
    # Monte Carlo at both levels on the same draws: genotype ≥ haplotype draw by draw, so in the mean.
    rep = run_supply(table, n_candidates=1, registry_sizes=JAPI_SIZES, method="monte-carlo", samples=30)
    exact = run_supply(table, n_candidates=1, registry_sizes=JAPI_SIZES, level="haplotype", method="exact")
    prev = (-1.0, -1.0)
    for R in JAPI_SIZES:
        r, e = rep.registry(R), exact.registry(R)
        distinct = naive_expected_distinct(listed.tolist(), R)
        assert r.expected_distinct_lines == pytest.approx(distinct, rel=1e-9)
        assert e.expected_distinct_lines == r.expected_distinct_lines
        hap = e.level("haplotype")
        assert hap.method == "exact" and hap.expected_coverage == hap.expected_upper  # no unlisted mass
        # Jensen: coverage 1 − (1 − S)² is concave in the matched mass S, so E ≤ 1 − (1 − E[S])²;
        # and 2S − S² ≥ S, so E ≥ E[S].  E[S] ≥ Σ f_h·P(h in the bank), summed plainly here, and
        # exceeds it by at most the extra mass matched through null alleles.
        es = math.fsum(x * naive_registry_probability(x * x, R) for x in listed.tolist())
        assert es - 1e-12 <= hap.expected_coverage <= 1 - (1 - es - extra) ** 2
        # The Monte Carlo estimate of the same figure: within 4 standard errors (30 samples).
        mc = r.level("haplotype")
        assert abs(mc.expected_coverage - hap.expected_coverage) <= 4 * mc.standard_error
        assert r.level("genotype").expected_coverage >= mc.expected_coverage
        assert (r.expected_distinct_lines, hap.expected_coverage) > prev
        prev = (r.expected_distinct_lines, hap.expected_coverage)
    # The first candidate is the most frequent haplotype: p = f², 1 / f² people per donor.
    c = rep.candidates[0]
    assert c.frequency == listed.max() and c.p_donor == pytest.approx(c.frequency**2, rel=1e-15)
    assert c.people_per_donor == pytest.approx(1 / c.frequency**2, rel=1e-15)


def test_public_functions_survive_importing_their_modules():
    """A submodule named like a public function would replace it on the package once imported."""
    import hlamatch
    import hlamatch.api.coverage
    import hlamatch.api.planning
    import hlamatch.api.supply  # noqa: F401

    assert callable(hlamatch.supply) and callable(hlamatch.coverage) and callable(hlamatch.rank_candidates)
