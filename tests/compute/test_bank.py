"""Rank and plan against the brute force of ``tests/naive.py`` (hypothesis), hand cases and real tables.

The one-pass marginal gains must equal coverage(bank + candidate) − coverage(bank) computed
separately by the brute force, for every candidate, at both levels and under random rules; the
greedy plan must equal step-by-step brute-force coverage and pick the best single line first.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from conftest import hlamatchit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive import naive_bank_coverage, naive_best_subset, naive_gains
from strategies import limits_of, rule_problems, rules

import hlamatch
from hlamatch.api.match import match_patients
from hlamatch.api.planning import plan_bank, rank_candidates
from hlamatch.errors import HlamatchWarning, LineError, OptionError
from hlamatch.io.frame import table_from_frame

ATOL = 1e-12
LEVELS = ("haplotype", "genotype")
HYPOTHESIS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_table(loci, haps, freqs, pops=("P",)):
    data = {locus: [h[l] for h in haps] for l, locus in enumerate(loci)}
    if isinstance(freqs, dict):
        data.update({p: [float(x) for x in f] for p, f in freqs.items()})
    else:
        data[pops[0]] = [float(x) for x in freqs]
    return table_from_frame(pl.DataFrame(data), name="t")


def text(line) -> str:
    h1, h2 = line
    return "~".join(h1) if h1 == h2 else "~".join(h1) + "/" + "~".join(h2)


def unlisted_of(freqs) -> float:
    return max(0.0, 1.0 - math.fsum(freqs))


def quiet(fn, *a, **kw):
    """Call ``fn``; the warning about line alleles absent from the table is expected here."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HlamatchWarning)
        return fn(*a, **kw)


def naive_rule(loci, rule):
    return dict(
        k=rule["max_mismatches"],
        direction=rule["direction"],
        homozygous_count=rule["homozygous_count"],
        limits=limits_of(loci, rule),
    )


# ====================================================================== rank


@settings(max_examples=60, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems(max_lines=5))
def test_one_pass_gains_equal_separate_coverage_differences(data, p):
    """Every candidate, both levels, random rules (incl. nulls, GvH, per-locus limits), with and
    without unlisted mass: gain and bounds equal the brute force of bank + candidate."""
    loci, haps, freqs, lines = p
    rule = data.draw(rules(loci))
    n_bank = data.draw(st.integers(0, len(lines) - 1))
    bank, cands = lines[:n_bank], lines[n_bank:]
    table = make_table(loci, haps, freqs)
    U = unlisted_of(freqs)
    nr = naive_rule(loci, rule)
    for level in LEVELS:
        rep = quiet(rank_candidates, table, [text(c) for c in cands], bank=[text(b) for b in bank], level=level, **rule)
        base = naive_bank_coverage(haps, freqs, bank, level, U, **nr)
        expected = naive_gains(haps, freqs, bank, cands, level, unlisted=U, **nr)
        got = {c.line: c for c in rep}
        assert len(rep) == len(cands)
        for cand, (lo, hi) in zip(cands, expected):
            r = got[text(cand)] if text(cand) in got else None
            assert r is not None
            assert r.coverage == pytest.approx(lo, abs=ATOL), (level, rule, text(cand))
            assert r.upper == pytest.approx(hi, abs=ATOL), (level, rule, text(cand))
            assert r.gain == pytest.approx(lo - base, abs=ATOL)
        assert rep.base["P"][0] == pytest.approx(base, abs=ATOL)
        gains = [c.gain for c in rep]
        assert all(a >= b - 1e-15 for a, b in zip(gains, gains[1:])), "ranked best first"
        assert [c.rank for c in rep] == list(range(1, len(cands) + 1))


def test_hand_rank_two_haplotypes():
    """Two haplotypes a (0.5) and b (0.3), U = 0.2, empty bank, haplotype level.

    Line a alone covers every pair holding a: 1 − (1 − 0.5)² = 0.75; line b: 1 − 0.7² = 0.51.
    Upper bounds let the unlisted chromosome be a (resp. b): line a 1 − (1 − 0.7)² = 0.91,
    line b 1 − (1 − 0.5)² = 0.75.
    """
    t = make_table(("A", "B"), [("A*01:01", "B*08:01"), ("A*02:01", "B*07:02")], [0.5, 0.3])
    r = rank_candidates(t, ["A*02:01~B*07:02", "A*01:01~B*08:01"], level="haplotype")
    assert [c.line for c in r] == ["A*01:01~B*08:01", "A*02:01~B*07:02"]
    assert r[0].gain == pytest.approx(0.75) and r[0].upper == pytest.approx(0.91)
    assert r[1].gain == pytest.approx(0.51) and r[1].upper == pytest.approx(0.75)
    assert r[0].frequency == pytest.approx(0.5)
    assert r[0].p_donor == pytest.approx(0.25) and r[0].people_per_donor == pytest.approx(4.0)


def test_rank_weighted_mix_is_the_weighted_sum_of_populations():
    haps = [("A*01:01", "B*08:01"), ("A*02:01", "B*07:02"), ("A*01:01", "B*07:02")]
    t = make_table(("A", "B"), haps, {"JPN": [0.5, 0.25, 0.25], "KOR": [0.125, 0.5, 0.25]})
    cands = [text((h, h)) for h in haps]
    mix = rank_candidates(t, cands, populations={"JPN": 3, "KOR": 1})
    assert mix.weights == {"JPN": 0.75, "KOR": 0.25}
    per = {p: {c.line: c.gain for c in rank_candidates(t, cands, populations=[p])} for p in ("JPN", "KOR")}
    for c in mix:
        assert c.population == "weighted"
        assert c.gain == pytest.approx(0.75 * per["JPN"][c.line] + 0.25 * per["KOR"][c.line], abs=ATOL)
        assert set(c.coverage_by_population) == {"JPN", "KOR"}
    both = rank_candidates(t, cands)  # several populations, no weights: one ranking each
    assert {c.population for c in both} == {"JPN", "KOR"}


def test_rank_default_candidates_need_one_population_or_weights():
    t = make_table(("A", "B"), [("A*01:01", "B*08:01"), ("A*02:01", "B*07:02")], {"JPN": [0.5, 0.5], "KOR": [0.5, 0.5]})
    with pytest.raises(
        OptionError,
        match=r"choose one for the most frequent haplotypes \(--population JPN\), or weight them \(e\.g\. --population JPN=0\.5,KOR=0\.5\)",
    ):
        hlamatch.top_lines(t, 2)
    r = rank_candidates(t, n_candidates=2, populations=["KOR"])
    assert len(r) == 2 and {c.population for c in r} == {"KOR"}


def test_rank_rejects_bad_arguments():
    with pytest.raises(
        OptionError, match=r"unknown level 'both' for ranking and planning \(choose from haplotype, genotype\)"
    ):
        rank_candidates("japanese", n_candidates=3, level="both")
    with pytest.raises(OptionError, match=r"registry sizes must be whole numbers ≥ 1, got 0"):
        rank_candidates("japanese", n_candidates=3, registry_sizes=0)
    with pytest.raises(OptionError, match=r"the inbreeding coefficient must be a number in \[0, 1\], got 2"):
        rank_candidates("japanese", n_candidates=3, inbreeding=2)
    with pytest.raises(OptionError, match=r"give target \(a coverage"):
        plan_bank("japanese", n_candidates=3)


# ====================================================================== greedy plan


@settings(max_examples=40, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems(max_lines=5))
def test_greedy_plan_equals_stepwise_brute_force(data, p):
    """Each step's coverage and bounds equal the brute force of the bank so far; the first pick
    maximises single-line coverage; every pick is the best gain at its step."""
    loci, haps, freqs, lines = p
    rule = data.draw(rules(loci))
    table = make_table(loci, haps, freqs)
    U = unlisted_of(freqs)
    nr = naive_rule(loci, rule)
    cands = [text(c) for c in lines]
    for level in LEVELS:
        plan = quiet(plan_bank, table, cands, max_lines=len(lines), level=level, **rule)
        chosen = []
        for step in plan.steps[1:]:
            best = max(lo for lo, _ in naive_gains(haps, freqs, chosen, lines, level, unlisted=U, **nr))
            chosen.append(lines[cands.index(step.line)])
            lo, hi = naive_gains(haps, freqs, chosen[:-1], [chosen[-1]], level, unlisted=U, **nr)[0]
            assert step.coverage == pytest.approx(lo, abs=ATOL)
            assert step.upper == pytest.approx(hi, abs=ATOL)
            assert step.coverage == pytest.approx(best, abs=ATOL), "greedy takes the largest gain"
        assert plan.steps[0].coverage == 0.0


@settings(max_examples=40, **HYPOTHESIS)
@given(p=rule_problems(max_lines=5, homozygous_only=True, nulls=False))
def test_greedy_haplotype_level_follows_frequency_order(p):
    """One population, zero mismatches, homozygous lines of table haplotypes: the gain of h given
    bank mass F is f_h (2 − 2F − f_h), increasing in f_h, so greedy takes the most frequent first."""
    loci, haps, freqs, _ = p
    table = make_table(loci, haps, freqs)
    cands = [text((h, h)) for h in haps]
    plan = plan_bank(table, cands, max_lines=len(haps), level="haplotype")
    f = dict(zip(cands, freqs))
    picked = [f[s.line] for s in plan.steps[1:]]
    # Greedy treats gains below 1e-15 as zero (rounding noise of the incremental update).
    positive = sorted((x for x in freqs if x > 1e-13), reverse=True)
    # Frequencies equal to within rounding may come in either order (greedy breaks near-ties by
    # candidate order).
    assert picked[: len(positive)] == pytest.approx(positive, abs=1e-12)
    assert all(a >= b - 1e-12 for a, b in zip(picked, picked[1:]))


def test_plan_target_stops_at_first_step_reaching_it():
    t = make_table(
        ("A", "B"), [("A*01:01", "B*08:01"), ("A*02:01", "B*07:02"), ("A*03:01", "B*07:02")], [0.5, 0.3, 0.2]
    )
    plan = plan_bank(t, ["A*01:01~B*08:01", "A*02:01~B*07:02", "A*03:01~B*07:02"], target=0.9, level="haplotype")
    # 1 line: 1 - 0.5^2 = 0.75; 2 lines: 1 - 0.2^2 = 0.96 >= 0.9
    assert [round(s.coverage, 12) for s in plan] == [0.0, 0.75, 0.96]
    assert plan.reached["P"] and plan.lines_for(0.9) == 2


def test_plan_weighted_mix_maximises_the_mix():
    """Population JPN prefers a, KOR prefers b; with KOR weighted 0.9 the mix picks b first."""
    haps = [("A*01:01", "B*08:01"), ("A*02:01", "B*07:02")]
    t = make_table(("A", "B"), haps, {"JPN": [0.5, 0.1], "KOR": [0.1, 0.5]})
    cands = [text((h, h)) for h in haps]
    plan = plan_bank(t, cands, max_lines=1, populations={"JPN": 0.1, "KOR": 0.9}, level="haplotype")
    assert plan.steps[1].line == "A*02:01~B*07:02"
    jpn = 1 - 0.9**2
    kor = 1 - 0.5**2
    assert plan.steps[1].coverage == pytest.approx(0.1 * jpn + 0.9 * kor)
    assert plan.steps[1].coverage_by_population == pytest.approx({"JPN": jpn, "KOR": kor})


# ====================================================================== exact plan


@settings(max_examples=25, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems(max_lines=5))
def test_exact_plan_equals_brute_force_and_is_never_worse_than_greedy(data, p):
    pytest.importorskip("scipy", reason="the exact planner needs the extra hlamatch[exact]")
    loci, haps, freqs, lines = p
    rule = data.draw(rules(loci))
    level = data.draw(st.sampled_from(LEVELS))
    n_lines = data.draw(st.integers(1, 3))
    table = make_table(loci, haps, freqs)
    cands = [text(c) for c in lines]
    plan = quiet(plan_bank, table, cands, max_lines=n_lines, level=level, exact=True, **rule)
    ex = plan.exact["P"]
    best = naive_best_subset(haps, freqs, [], lines, n_lines, level, unlisted_of(freqs), **naive_rule(loci, rule))
    assert ex["coverage"] == pytest.approx(best, abs=1e-9)
    assert ex["coverage"] >= plan.steps[-1].coverage - 1e-9
    assert ex["gap"] == pytest.approx(ex["coverage"] - plan.steps[-1].coverage, abs=1e-12)


# ====================================================================== one path for lines


def test_match_and_coverage_reject_a_coarse_line_the_same_way():
    """A one-field line at two-field resolution: coverage and patient look-up raise the same error
    (patient look-up used to report 3 mismatches)."""
    line = "A*24~B*52~DRB1*15"
    msg = (
        "line A*24~B*52~DRB1*15: A*24 is 1-field, coarser than 2-field; type the line at the "
        "computation's 2-field resolution, or pass --resolution 1-field"
    )
    with pytest.raises(LineError) as a:
        hlamatch.coverage("japanese", [line], loci=["A", "B", "DRB1"], resolution="2-field")
    with pytest.raises(LineError) as b:
        match_patients(["A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05"], [line], resolution="2-field")
    assert str(a.value) == str(b.value) == msg


# ====================================================================== real tables


@pytest.mark.real_data
def test_japi_rank_gains_equal_coverage_differences():
    """JAPI A~B~DRB1, bank = CiRA's first line: ten candidates' one-pass gains equal two separate
    coverage runs each, at both levels."""
    tab = hlamatch.load_table(hlamatchit("JAPI")).select(["A", "B", "DRB1"])
    bank = ["A*24:02~B*52:01~DRB1*15:02"]
    cands = hlamatch.top_lines(tab, 11)[1:]
    for level in LEVELS:
        r = rank_candidates(tab, cands, bank=bank, level=level)
        base = hlamatch.coverage(tab, bank, level=level)[0].lower
        for c in r:
            cov = hlamatch.coverage(tab, bank + [c.line], level=level)[0]
            assert c.gain == pytest.approx(cov.lower - base, abs=1e-12)
            assert c.upper == pytest.approx(cov.upper, abs=1e-12)


@pytest.mark.real_data
def test_japi_greedy_plan_tracks_coverage():
    """A 10-line greedy plan on JAPI A~B~DRB1 at genotype level: every step's coverage equals a
    separate coverage run of the lines picked so far."""
    tab = hlamatch.load_table(hlamatchit("JAPI")).select(["A", "B", "DRB1"])
    plan = plan_bank(tab, n_candidates=60, max_lines=10, level="genotype")
    lines = []
    for s in plan.steps[1:]:
        lines.append(s.line)
        assert s.coverage == pytest.approx(hlamatch.coverage(tab, lines, level="genotype")[0].lower, abs=1e-12)
    first = rank_candidates(tab, n_candidates=60, level="genotype")[0]
    assert plan.steps[1].line == first.line


def test_warmup_compiles_every_public_path():
    """After ``warmup()``, every kernel the library calls from outside ``hlamatch/kernels`` has compiled
    code (loaded from the cache or compiled), in a fresh process; the exact plan's kernels need the
    optional SciPy extra and are left out."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        pytest.skip("NUMBA_DISABLE_JIT: the kernels are plain Python functions, there is nothing to compile")
    package = Path(hlamatch.__file__).parent
    called = set()
    for path in package.rglob("*.py"):
        if "kernels" not in path.relative_to(package).parts:
            text = path.read_text(encoding="utf-8")
            for family, wrapped, group in re.findall(
                r"from hlamatch\.kernels\.(\w+) import (?:\(([^)]*)\)|([\w, ]+))", text
            ):
                names = (wrapped or group).replace("\n", ",").split(",")
                called |= {(family, name.split(" as ")[0].strip()) for name in names if name.strip()}
    entry = sorted(
        (f, n)
        for f, n in called
        if not f.endswith("_numpy")
        and n[0].islower()
        and n not in ("cover_rows", "rule_cover_rows", "sampled_cover_count")
    )
    names = {n for _, n in entry}
    assert {"line_sweep", "class_groups", "hom_gain_folds", "pair_mass_folds"} <= names
    code = (
        "import hlamatch, importlib\nhlamatch.warmup()\n"
        f"print(' '.join(f + '.' + n for f, n in {entry!r} "
        "if not getattr(importlib.import_module('hlamatch.kernels.' + f), n).signatures))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=True)
    assert out.stdout.split() == []
