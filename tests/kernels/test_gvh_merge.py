"""GvH and bidirectional rules with a missing homozygous allele counting once, on merged classes.

Alleles no line carries are merged into one "other" code (``encode.other_classes``); whether a
patient's two other alleles are equal is restored from per-locus-subset pair sums
(``kernels.other_merge_folds``, NumPy twin ``small.other_merge_histograms``).  Both are checked
against the brute force of ``tests/naive.py`` and against the unmerged kernels.
"""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext

import numpy as np
import polars as pl
import pytest
from conftest import both_paths, hlamatchit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive import naive_is_null, naive_rule_histograms
from strategies import frequencies, limits_of

import hlamatch
from hlamatch.compute import dispatch
from hlamatch.compute.problem import prepare
from hlamatch.engine.run import run_pairs
from hlamatch.errors import HlamatchWarning
from hlamatch.hla.rules import MatchRules
from hlamatch.io.frame import table_from_frame
from hlamatch.io.load import load_table

HYPOTHESIS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
ATOL = 1e-12
LEVELS = ("haplotype", "genotype")

#: Per locus: expressed alleles, then null ones (DRBX*NNNN and an N allele at DRB345).
VOCAB = {
    "A": ["A*01:01", "A*02:01", "A*03:01", "A*11:01", "A*24:02", "A*01:11N"],
    "B": ["B*07:02", "B*08:01", "B*15:01", "B*44:02", "B*51:01"],
    "DRB345": ["DRB3*01:01", "DRB3*02:02", "DRB4*01:01", "DRB5*01:01", "DRBX*NNNN", "DRB4*01:03N"],
}


@st.composite
def shared_class_problems(draw, max_lines: int = 3):
    """Tables where several haplotypes share a class (same line alleles) but differ in alleles no
    line carries: lines use only the first two alleles of each locus (or one absent allele)."""
    loci = draw(st.sampled_from([("A", "B"), ("A", "DRB345"), ("A", "B", "DRB345")]))
    vocab = [VOCAB[x][: draw(st.integers(3, len(VOCAB[x])))] for x in loci]
    idx = draw(st.lists(st.tuples(*[st.integers(0, len(v) - 1) for v in vocab]), min_size=2, max_size=10, unique=True))
    haps = [tuple(vocab[l][k] for l, k in enumerate(h)) for h in idx]
    freqs = draw(frequencies(len(haps)))
    pool = [[a for a in v[:2] if not naive_is_null(a)] for v in vocab]
    hap = st.tuples(*[st.sampled_from(p) for p in pool])
    line = st.tuples(hap, hap, st.integers(0, 2)).map(lambda x: (x[0], x[0]) if x[2] else x[:2])
    lines = draw(st.lists(line, min_size=1, max_size=max_lines))
    return loci, haps, freqs, lines


def make_table(loci, haps, freqs):
    data = {locus: [h[l] for h in haps] for l, locus in enumerate(loci)}
    data["P"] = [float(x) for x in freqs]
    return table_from_frame(pl.DataFrame(data), name="t")


def line_text(line) -> str:
    h1, h2 = line
    return "~".join(h1) if h1 == h2 else "~".join(h1) + "/" + "~".join(h2)


def cover(table, lines, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HlamatchWarning)
        return hlamatch.coverage(table, lines, distribution=True, **kw)


def check_against_naive(p, rule):
    loci, haps, freqs, lines = p
    rep = cover(make_table(loci, haps, freqs), [line_text(x) for x in lines], **rule)
    unlisted = max(0.0, 1.0 - math.fsum(freqs))
    limits = limits_of(loci, rule)
    for level in LEVELS:
        r = rep.get(level)
        lo, hi = naive_rule_histograms(haps, freqs, lines, level, rule["direction"], 1, limits, unlisted)
        for key in lo:
            assert r.distribution[key] == pytest.approx(lo[key], abs=ATOL), (level, key)
            assert r.distribution_upper[key] == pytest.approx(hi[key], abs=ATOL), (level, key)


@st.composite
def merge_rules(draw, loci):
    require = draw(st.lists(st.sampled_from(loci), unique=True, max_size=1))
    allow = draw(st.one_of(st.none(), st.lists(st.sampled_from(loci), unique=True, max_size=len(loci))))
    if allow is not None:  # a locus both required and allowed is a contradiction MatchRules refuses
        allow = [x for x in allow if x not in require]
    return dict(
        max_mismatches=draw(st.integers(0, 3)),
        direction=draw(st.sampled_from(["GvH", "bidirectional"])),
        homozygous_count=1,
        require_match=require,
        allow_mismatch=allow,
    )


@both_paths
@settings(max_examples=60, **HYPOTHESIS)
@given(data=st.data(), p=shared_class_problems())
def test_merged_path_equals_naive(data, p):
    """The merged path in NumPy (small problems) and in the numba kernel, against the brute force."""
    loci = p[0]
    rule = data.draw(merge_rules(loci))
    check_against_naive(p, rule)


@both_paths
def test_hand_two_other_alleles_count_twice():
    """Patient A*03/A*11 (both other, different): 2 GvH mismatches; A*03/A*03: 1."""
    loci = ("A", "B")
    haps = [("A*01:01", "B*07:02"), ("A*03:01", "B*07:02"), ("A*11:01", "B*07:02")]
    freqs = [0.5, 0.25, 0.25]
    lines = [(("A*01:01", "B*07:02"),) * 2]
    rep = cover(make_table(loci, haps, freqs), [line_text(x) for x in lines], direction="GvH", max_mismatches=2)
    d = rep.get("genotype").distribution
    assert d["0"] == pytest.approx(0.25)  # A*01 twice
    assert d["1"] == pytest.approx(2 * 0.5 * 0.5 + 0.25 * 0.25 * 2)  # A*01 with other; other twice
    assert d["2"] == pytest.approx(2 * 0.25 * 0.25)  # A*03/A*11
    check_against_naive(
        (loci, haps, freqs, lines),
        dict(max_mismatches=2, direction="GvH", homozygous_count=1, require_match=[], allow_mismatch=None),
    )
    # A locus that allows no second mismatch: A*03/A*11 becomes unmatched, A*03/A*03 does not
    rep = cover(
        make_table(loci, haps, freqs),
        [line_text(x) for x in lines],
        direction="GvH",
        max_mismatches=2,
        require_match=["B"],
    )
    assert rep.get("genotype").distribution["2"] == pytest.approx(2 * 0.25 * 0.25)


def old_histograms(table, lines, loci, level, direction):
    """The unmerged kernels on the full table (the path used before the merge): (lower, upper)."""
    from hlamatch.compute.rule_bounds import geno_rule_arrays
    from hlamatch.kernels.common import NOVEL_A, NOVEL_B, WILDCARD
    from hlamatch.kernels.geno_rule import geno_rule_folds
    from hlamatch.kernels.rules import mismatch_hist_folds, mismatch_hist_partner, pair_best

    rules = MatchRules(max_mismatches=1, direction=direction)
    problem = prepare(table, lines, loci=loci, rules=rules)
    pa = problem.populations[0]
    lc, ln, limits, d = problem.line_codes, problem.line_nulls, problem.limits, rules.direction_code
    n_bins = 2 * len(problem.loci) + 2
    haplo = level == "haplotype" and not (direction == "GvH" and np.array_equal(lc[:, 0], lc[:, 1]))
    if haplo:
        listed = run_pairs(
            mismatch_hist_folds,
            (pa.codes, pa.nulls, pa.freqs, lc, ln, False, d, True, limits, n_bins),
            pa.freqs.shape[0],
        )
    else:
        garr = geno_rule_arrays(pa.codes, pa.nulls, pa.freqs, lc, ln, rules, limits, n_bins)
        listed = run_pairs(geno_rule_folds, garr, garr[8].shape[0])
    out = []
    u = pa.unlisted
    for solo, pair in ((NOVEL_A, (NOVEL_A, NOVEL_B)), (WILDCARD, (WILDCARD, WILDCARD))):
        h = listed.copy()
        if u > 0:
            args = (lc, ln, False, d, haplo, limits)
            h += 2.0 * u * mismatch_hist_partner(pa.codes, pa.nulls, pa.freqs, *args, n_bins, solo)
            b = pair_best(pa.codes, pa.nulls, pair[0], pair[1], *args)
            h[n_bins - 1 if b < 0 else b] += u * u
        out.append(h)
    return out


def compare_with_old(table, lines, loci, cases):
    for direction, level in cases:
        lo, hi = old_histograms(table, lines, loci, level, direction)
        for path, thresholds in (("default", nullcontext), ("numba", dispatch.kernels_only)):  # NumPy when small
            with thresholds():
                r = cover(table, lines, loci=loci, level=level, direction=direction, max_mismatches=1)[0]
            for got, want in ((r.distribution, lo), (r.distribution_upper, hi)):
                np.testing.assert_allclose(
                    np.array(list(got.values())), want, rtol=0, atol=1e-13, err_msg=f"{direction} {level} {path}"
                )


def test_bundled_table_equals_unmerged_kernels():
    table = hlamatch.bundled_table(hlamatch.available_tables()[0])
    lines = hlamatch.top_lines(table, 5)
    lines = [x.name for x in lines] + [f"{lines[0].name}/{lines[1].name}"]  # heterozygous: phase-aware kernel
    cases = [(d, lev) for d in ("GvH", "bidirectional") for lev in LEVELS]
    compare_with_old(table, lines, None, cases)


@pytest.mark.slow
def test_japi_abdr_equals_unmerged_kernels():
    table = load_table(hlamatchit("JAPI"))
    loci = ["A", "B", "DRB1"]
    lines = [x.name for x in hlamatch.top_lines(table, 10)]
    compare_with_old(table, lines, loci, [("GvH", "genotype"), ("GvH", "haplotype"), ("bidirectional", "genotype")])
    # the phase-aware kernel on the full table is slow: one homozygous and one heterozygous line
    compare_with_old(
        table, [lines[0], f"{lines[0]}/{lines[1]}"], loci, [("bidirectional", "haplotype"), ("GvH", "haplotype")]
    )
