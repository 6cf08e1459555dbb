"""The coverage kernels against the brute force of ``tests/naive.py``, hand-computed tables and
invariants (hypothesis).

Every expected number below is either worked out by hand in a comment or produced by
``naive.py``, which is written from ``docs/matching-model.md`` and shares no code with the
library.  Tolerance: 1e-12 absolute (the library sums in a different order than the brute force).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numba
import numpy as np
import polars as pl
import pytest
from conftest import both_paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive import closed_form_haplotype, naive_coverage, numpy_genotype_coverage, numpy_haplotype_coverage
from strategies import bank, frequencies

from hlamatch.api.coverage import coverage
from hlamatch.compute.encode import identity_codes
from hlamatch.compute.zero_bounds import zero_mismatch_bounds
from hlamatch.errors import HlamatchWarning
from hlamatch.io.frame import table_from_frame

ATOL = 1e-12
LEVELS = ("haplotype", "genotype")
LOCI = ("A", "C", "B", "DRB1")
POPS = ("JPN", "KOR")  # not "POP"/"population": those name the long layout's population column
HAPLOTYPES_DIR = Path(__file__).resolve().parents[2] / "haplotypes"

HYPOTHESIS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# ====================================================================== helpers


def allele(locus: str, k: int) -> str:
    """Two-field allele name number ``k`` of ``locus`` (``A*01:01``, ``A*02:01`` ...)."""
    return f"{locus}*{k + 1:02d}:01"


def hap_text(hap: tuple[str, ...]) -> str:
    return "~".join(hap)


def line_text(line, explicit_pair: bool = False) -> str:
    h1, h2 = line
    return hap_text(h1) if h1 == h2 and not explicit_pair else f"{hap_text(h1)}/{hap_text(h2)}"


def make_table(loci, haps, pop_freqs: dict[str, list[float]]):
    """A table from named haplotypes (tuples of allele names) and one frequency list per population."""
    data = {locus: [h[l] for h in haps] for l, locus in enumerate(loci)}
    data.update({pop: [float(x) for x in f] for pop, f in pop_freqs.items()})
    return table_from_frame(pl.DataFrame(data), name="t")


def unlisted_of(freqs) -> float:
    return max(0.0, 1.0 - math.fsum(freqs))


def run_coverage(table, texts, *, expect_warning: bool, **kw):
    """``coverage(table, texts)``, checking that the unknown-allele warning comes iff expected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = coverage(table, texts, **kw)
    ours = [w for w in caught if issubclass(w.category, HlamatchWarning)]
    others = [w for w in caught if not issubclass(w.category, HlamatchWarning)]
    assert not others, [str(w.message) for w in others]
    assert bool(ours) == expect_warning, [str(w.message) for w in ours]
    return report


def has_unknown_allele(lines, haps) -> bool:
    """True when some line allele occurs in no row of the table (the library warns about it)."""
    vocab = [{h[l] for h in haps} for l in range(len(haps[0]))]
    return any(a not in vocab[l] for line in lines for hap in line for l, a in enumerate(hap))


# ====================================================================== strategies


@st.composite
def problems(draw, max_haps: int = 12, max_lines: int = 5, n_pops=(1, 2), homozygous_only: bool = False):
    """A small table (2–4 loci, 1–4 alleles per locus, distinct haplotypes) and a bank of lines.

    Line alleles come from a pool two larger than the table's, so lines may carry alleles (and
    whole haplotypes) that the table lacks; about half the line haplotypes are table rows.
    """
    n_loci = draw(st.integers(2, 4))
    loci = LOCI[:n_loci]
    sizes = draw(st.lists(st.integers(1, 4), min_size=n_loci, max_size=n_loci))
    n_max = min(max_haps, math.prod(sizes))
    idx = draw(st.lists(st.tuples(*[st.integers(0, s - 1) for s in sizes]), min_size=1, max_size=n_max, unique=True))
    haps = [tuple(allele(loci[l], k) for l, k in enumerate(h)) for h in idx]
    k_pops = draw(st.integers(*n_pops))
    pop_freqs = {pop: draw(frequencies(len(haps))) for pop in POPS[:k_pops]}
    any_hap = st.tuples(*[st.integers(0, s + 1).map(lambda k, lc=lc: allele(lc, k)) for lc, s in zip(loci, sizes)])
    lines = bank(draw, haps, any_hap, max_lines, homozygous_only)
    return loci, haps, pop_freqs, lines


def naive_for(haps, freqs, lines, level):
    return naive_coverage(haps, freqs, lines, level, unlisted_of(freqs))


# ====================================================================== hand-computed tables
#
# Notation: a=A*01:01~B*08:01 and so on; f = frequency; U = unlisted mass; a patient is an
# ordered pair, so a heterozygous patient (x, y) weighs 2 f_x f_y.

A1, A2, A3, A11 = "A*01:01", "A*02:01", "A*03:01", "A*11:01"
B7, B8 = "B*07:02", "B*08:01"


def _check(report, level, lower, upper, unlisted=0.0):
    r = report.get(level)
    assert r.lower == pytest.approx(lower, abs=ATOL)
    assert r.upper == pytest.approx(upper, abs=ATOL)
    assert r.coverage == r.lower
    assert r.unlisted_mass == pytest.approx(unlisted, abs=ATOL)


def test_hand_single_homozygous_line():
    # a=A1~B8 (0.6), b=A2~B7 (0.4); line a/a.
    # Haplotype level: uncovered iff neither chromosome is a: 1 - 0.4^2 = 0.84.
    # Genotype level: needs A1 and B8; (a,a) .36 + (a,b),(b,a) 2*.24 = 0.84; (b,b) has neither.
    haps = [(A1, B8), (A2, B7)]
    t = make_table(("A", "B"), haps, {"JPN": [0.6, 0.4]})
    rep = run_coverage(t, ["A*01:01~B*08:01"], expect_warning=False)
    _check(rep, "haplotype", 0.84, 0.84)
    _check(rep, "genotype", 0.84, 0.84)
    for level in LEVELS:
        assert naive_coverage(haps, [0.6, 0.4], [(haps[0], haps[0])], level) == pytest.approx((0.84, 0.84), abs=ATOL)


def test_hand_recombinant_raises_genotype_level():
    # p=A1~B8 (.5), q=A1~B7 (.25), r=A2~B8 (.25); line p/p.
    # Haplotype level: 1 - (1 - .5)^2 = 0.75.
    # Genotype level: every pair holding p (0.75), plus (q,r),(r,q): alleles A1,A2,B7,B8 include
    # A1 and B8 although neither chromosome is p: 2*.25*.25 = .125.  (q,q) lacks B8, (r,r) lacks A1.
    # Total 0.875 > 0.75.
    haps = [(A1, B8), (A1, B7), (A2, B8)]
    freqs = [0.5, 0.25, 0.25]
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    rep = run_coverage(t, ["A*01:01~B*08:01"], expect_warning=False)
    _check(rep, "haplotype", 0.75, 0.75)
    _check(rep, "genotype", 0.875, 0.875)
    assert naive_coverage(haps, freqs, [(haps[0], haps[0])], "genotype") == pytest.approx((0.875, 0.875), abs=ATOL)
    assert naive_coverage(haps, freqs, [(haps[0], haps[0])], "haplotype") == pytest.approx((0.75, 0.75), abs=ATOL)


def test_hand_heterozygous_line():
    # p=A1~B8, q=A2~B7, r=A1~B7, s=A2~B8, each .25; line p/q.
    # Haplotype level: only (p,q),(q,p): 2/16 = 0.125.
    # Genotype level: patient needs A1,A2 and B7,B8: (p,q),(q,p),(r,s),(s,r): 4/16 = 0.25.
    haps = [(A1, B8), (A2, B7), (A1, B7), (A2, B8)]
    freqs = [0.25] * 4
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    for text in ("A*01:01~B*08:01/A*02:01~B*07:02", "A*02:01~B*07:02/A*01:01~B*08:01"):
        rep = run_coverage(t, [text], expect_warning=False)
        _check(rep, "haplotype", 0.125, 0.125)
        _check(rep, "genotype", 0.25, 0.25)
    assert naive_coverage(haps, freqs, [(haps[0], haps[1])], "genotype") == pytest.approx((0.25, 0.25), abs=ATOL)
    assert naive_coverage(haps, freqs, [(haps[0], haps[1])], "haplotype") == pytest.approx((0.125, 0.125), abs=ATOL)


def test_hand_unlisted_mass_bounds():
    # a=A1~B8 (.5), b=A2~B7 (.25), U=.25; line a/a.
    # Haplotype: lower 1-(1-.5)^2 = .75; upper 1-(1-.5-.25)^2 = .9375.
    # Genotype lower: listed pairs holding a: .25 + 2*.5*.25 = .5; (a, novel): a alone has A1,B8:
    #   2*.5*.25 = .25; total .75.
    # Genotype upper: add (b, u=A1~B8): 2*.25*.25 = .125 and (u, u): .0625; total .9375.
    haps = [(A1, B8), (A2, B7)]
    freqs = [0.5, 0.25]
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    rep = run_coverage(t, ["A*01:01~B*08:01"], expect_warning=False)
    _check(rep, "haplotype", 0.75, 0.9375, 0.25)
    _check(rep, "genotype", 0.75, 0.9375, 0.25)
    line = [(haps[0], haps[0])]
    for level in LEVELS:
        assert naive_coverage(haps, freqs, line, level, 0.25) == pytest.approx((0.75, 0.9375), abs=ATOL)
    assert closed_form_haplotype([0.5], 0.25) == pytest.approx((0.75, 0.9375), abs=ATOL)


def test_hand_line_allele_absent_from_table():
    # a=A1~B8 (.5), b=A2~B7 (.25), U=.25; line A1~B8 / A3~B8, A3 absent from the table (warning).
    # Lower: no listed chromosome carries A3 and a novel one carries nothing: 0 at both levels.
    # Upper: (a, u=A3~B8) covered at both levels: 2*.5*.25 = .25; (b, u) needs A1 and A3 from u
    #   alone: no; (u, u): .0625.  Total .3125 at both levels.
    haps = [(A1, B8), (A2, B7)]
    freqs = [0.5, 0.25]
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    rep = run_coverage(t, ["A*01:01~B*08:01/A*03:01~B*08:01"], expect_warning=True)
    _check(rep, "haplotype", 0.0, 0.3125, 0.25)
    _check(rep, "genotype", 0.0, 0.3125, 0.25)
    line = [((A1, B8), (A3, B8))]
    for level in LEVELS:
        assert naive_coverage(haps, freqs, line, level, 0.25) == pytest.approx((0.0, 0.3125), abs=ATOL)


def test_distinct_unlisted_line_haplotypes_are_not_homozygous():
    # Regression: a=A1~B8 (.25), b=A2~B7 (.25), U=.5; line A1~B7 / A2~B8: two
    # distinct haplotypes, both made of table alleles, neither listed (so no warning).
    # Haplotype level: no listed chromosome is A1~B7 or A2~B8, and one unlisted chromosome can
    #   be only one of them: covered only when both chromosomes are unlisted: lower 0, upper
    #   U^2 = .25.
    # Genotype level: (a,b),(b,a) carry A1,A2,B7,B8: 2*.25*.25 = .125 (lower: novel helps
    #   nothing).  Upper: (a, u=A2~B7) and (b, u=A1~B8): 2*.5*.5 = .5, plus (u,u) .25: .875.
    # (A first version reported haplotype upper .75: identity_codes gave both line haplotypes
    # the code -1, line_bitsets read equal codes as a homozygous locus, and the wildcard partner
    # then "covered" every listed chromosome: 2*U*S = .5 too much.)
    haps = [(A1, B8), (A2, B7)]
    freqs = [0.25, 0.25]
    line = [((A1, B7), (A2, B8))]
    for level, expected in (("haplotype", (0.0, 0.25)), ("genotype", (0.125, 0.875))):
        assert naive_coverage(haps, freqs, line, level, 0.5) == pytest.approx(expected, abs=ATOL)
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    rep = run_coverage(t, ["A*01:01~B*07:02/A*02:01~B*08:01"], expect_warning=False)
    _check(rep, "genotype", 0.125, 0.875, 0.5)
    _check(rep, "haplotype", 0.0, 0.25, 0.5)


def test_distinct_absent_alleles_at_one_locus_are_not_homozygous():
    # Regression: a=A1~B8 (.25), b=A2~B7 (.25), U=.5; line A3~B8 / A11~B8 with
    # A3 and A11 both absent from the table.  A patient needs A3 and A11; a listed chromosome
    # carries neither and an unlisted one only one of them, so only (u, u) is covered: lower 0,
    # upper U^2 = .25 at genotype level.  (A first version encoded A3 and A11 both as -1, took
    # the line for homozygous at A and reported upper .75.)
    haps = [(A1, B8), (A2, B7)]
    freqs = [0.25, 0.25]
    line = [((A3, B8), (A11, B8))]
    assert naive_coverage(haps, freqs, line, "genotype", 0.5) == pytest.approx((0.0, 0.25), abs=ATOL)
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    rep = run_coverage(t, ["A*03:01~B*08:01/A*11:01~B*08:01"], level="genotype", expect_warning=True)
    _check(rep, "genotype", 0.0, 0.25, 0.5)


def test_unlisted_line_haplotypes_keep_genotype_level_above_haplotype_level():
    # Regression for the same encoding slip, seen through the invariant "genotype >= haplotype".
    # a=A1~B8 (.125), b=A2~B7 (.125), c=A3~B44 (.5), U=.25; line A1~B7 / A2~B8 (unlisted
    # haplotypes, table alleles).
    # Haplotype level: lower 0; upper: only (u, u) = U^2 = .0625.
    # Genotype level: listed (a,b),(b,a): 2*.125*.125 = .03125 = lower; upper adds (a, u=A2~B7)
    #   and (b, u=A1~B8): 2*.25*.125*2 = .125 ((c, u) would need A1 and A2 from u), and (u, u)
    #   .0625: .21875.
    # (The first version reported haplotype upper 2*U*(.75) + U^2 = .4375 > genotype upper.)
    haps = [(A1, B8), (A2, B7), (A3, "B*44:02")]
    freqs = [0.125, 0.125, 0.5]
    line = [((A1, B7), (A2, B8))]
    assert naive_coverage(haps, freqs, line, "haplotype", 0.25) == pytest.approx((0.0, 0.0625), abs=ATOL)
    assert naive_coverage(haps, freqs, line, "genotype", 0.25) == pytest.approx((0.03125, 0.21875), abs=ATOL)
    t = make_table(("A", "B"), haps, {"JPN": freqs})
    rep = run_coverage(t, ["A*01:01~B*07:02/A*02:01~B*08:01"], expect_warning=False)
    _check(rep, "genotype", 0.03125, 0.21875, 0.25)
    assert rep.get("genotype").upper >= rep.get("haplotype").upper
    _check(rep, "haplotype", 0.0, 0.0625, 0.25)


def test_naive_reference_self_checks():
    # The brute force itself on facts that need no library: an empty bank covers nothing; with
    # U = 1 (nothing listed) the upper bound is 1 and the lower 0.
    haps = [(A1, B8)]
    assert naive_coverage(haps, [0.5], [], "genotype", 0.5) == (0.0, 0.0)
    assert naive_coverage([], [], [((A1, B8), (A2, B7))], "genotype", 1.0) == (0.0, 1.0)
    assert naive_coverage([], [], [((A1, B8), (A2, B7))], "haplotype", 1.0) == (0.0, 1.0)


# ====================================================================== library == brute force


@both_paths
@settings(max_examples=100, **HYPOTHESIS)
@given(p=problems())
def test_coverage_matches_naive(p):
    """Both levels, both bounds, every population: library == brute force."""
    loci, haps, pop_freqs, lines = p
    rep = run_coverage(
        make_table(loci, haps, pop_freqs),
        [line_text(ln) for ln in lines],
        expect_warning=has_unknown_allele(lines, haps),
    )
    assert len(rep) == 2 * len(pop_freqs)
    for pop, freqs in pop_freqs.items():
        for level in LEVELS:
            r = rep.get(level, pop)
            lower, upper = naive_for(haps, freqs, lines, level)
            assert r.unlisted_mass == pytest.approx(unlisted_of(freqs), abs=ATOL)
            assert r.lower == pytest.approx(lower, abs=ATOL), (pop, level)
            assert r.upper == pytest.approx(upper, abs=ATOL), (pop, level)
            assert r.coverage == r.lower


@both_paths
@settings(max_examples=50, **HYPOTHESIS)
@given(p=problems())
def test_distribution_path_matches_naive(p):
    """``distribution=True`` computes the default rule through the general mismatch-count kernels:
    same bounds as the brute force, and the distribution is a probability distribution whose
    zero-mismatch share is the coverage."""
    loci, haps, pop_freqs, lines = p
    rep = run_coverage(
        make_table(loci, haps, pop_freqs),
        [line_text(ln) for ln in lines],
        expect_warning=has_unknown_allele(lines, haps),
        distribution=True,
    )
    for pop, freqs in pop_freqs.items():
        for level in LEVELS:
            r = rep.get(level, pop)
            lower, upper = naive_for(haps, freqs, lines, level)
            assert r.lower == pytest.approx(lower, abs=ATOL), (pop, level)
            assert r.upper == pytest.approx(upper, abs=ATOL), (pop, level)
            for dist, bound in ((r.distribution, r.lower), (r.distribution_upper, r.upper)):
                assert math.fsum(dist.values()) == pytest.approx(1.0, abs=ATOL)
                assert dist["0"] == pytest.approx(bound, abs=ATOL)
                assert min(dist.values()) >= 0.0


def _raw_arrays(haps, freqs, lines):
    """Codes, frequencies and line codes built here (not by the library) for one population.

    Rows are the population's haplotypes with positive frequency; allele codes are indices into a
    per-locus vocabulary of the alleles those rows carry (in order of first appearance, unlike the
    library's sorted vocabulary); a line allele outside it gets its own code past the vocabulary
    (``line_bitsets``: codes >= ``n_alleles[l]`` are absent from the table).
    """
    rows = [h for h, f in zip(haps, freqs) if f > 0]
    n_loci = len(haps[0])
    vocab = [{} for _ in range(n_loci)]
    for h in rows:
        for l, a in enumerate(h):
            vocab[l].setdefault(a, len(vocab[l]))
    sizes = [len(v) for v in vocab]
    codes = np.array([[vocab[l][a] for l, a in enumerate(h)] for h in rows], dtype=np.int32)
    f = np.array([f for f in freqs if f > 0], dtype=np.float64)
    absent = [{} for _ in range(n_loci)]

    def code(l, a):
        if a in vocab[l]:
            return vocab[l][a]
        return absent[l].setdefault(a, sizes[l] + 5 + len(absent[l]))

    lc = np.array(
        [[[code(l, a) for l, a in enumerate(hap)] for hap in line] for line in lines], dtype=np.int32
    ).reshape(len(lines), 2, n_loci)
    return codes, f, lc, sizes


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(p=problems(n_pops=(1, 1)))
def test_numpy_inputs_match_polars_table(p):
    """``coverage`` on a polars-built table == ``zero_mismatch_bounds`` on arrays built by hand."""
    loci, haps, pop_freqs, lines = p
    ((pop, freqs),) = pop_freqs.items()
    rep = run_coverage(
        make_table(loci, haps, pop_freqs),
        [line_text(ln) for ln in lines],
        expect_warning=has_unknown_allele(lines, haps),
    )
    codes, f, lc, sizes = _raw_arrays(haps, freqs, lines)
    u = unlisted_of(freqs)
    geno = zero_mismatch_bounds(codes, f, lc, sizes, u)
    c, hlc, hsizes = identity_codes(codes, lc)
    hap = zero_mismatch_bounds(c, f, hlc, hsizes, u)
    for level, (lower, upper) in (("genotype", geno), ("haplotype", hap)):
        r = rep.get(level)
        assert r.lower == pytest.approx(lower, abs=ATOL), level
        assert r.upper == pytest.approx(upper, abs=ATOL), level


@settings(max_examples=60, **HYPOTHESIS)
@given(p=problems(n_pops=(1, 1)))
def test_numpy_reference_matches_naive(p):
    """The vectorised NumPy brute force (benchmark baseline) == the loop brute force (no unlisted mass)."""
    loci, haps, pop_freqs, lines = p
    (freqs,) = pop_freqs.values()
    codes, f, lc, _ = _raw_arrays(haps, freqs, lines)
    rows = [h for h, x in zip(haps, freqs) if x > 0]
    for level, fn in (("genotype", numpy_genotype_coverage), ("haplotype", numpy_haplotype_coverage)):
        expected, _ = naive_coverage(rows, f.tolist(), lines, level)
        for chunk in (None, 1, 3):
            assert fn(codes, f, lc, chunk=chunk) == pytest.approx(expected, abs=ATOL), (level, chunk)


def _random_arrays(rng, n, n_loci, n_lines, n_alleles):
    codes = np.unique(rng.integers(0, n_alleles, size=(n, n_loci)), axis=0).astype(np.int32)
    rng.shuffle(codes)
    n = codes.shape[0]
    freqs = rng.dirichlet(np.ones(n)) * rng.uniform(0.5, 0.95)
    # Line haplotypes: table rows or random codes (code n_alleles, n_alleles + 1: alleles the table
    # lacks); the second haplotype is a row or equals the first.
    lc = np.empty((n_lines, 2, n_loci), dtype=np.int32)
    for t in range(n_lines):
        lc[t, 0] = codes[rng.integers(n)] if rng.random() < 0.5 else rng.integers(0, n_alleles + 2, n_loci)
        lc[t, 1] = lc[t, 0] if rng.random() < 0.3 else codes[rng.integers(n)]
    return codes, freqs, lc


def _names(codes_row, loci):
    return tuple(allele(locus, int(c)) for locus, c in zip(loci, codes_row))


@both_paths
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiword_banks_match_references(seed):
    """Banks of more than 64 lines (several bitset words) and larger tables, on raw arrays.

    Listed mass against the NumPy brute force; both bounds with unlisted mass against the loop
    brute force (kept small: it is slow).
    """
    rng = np.random.default_rng(seed)
    codes, freqs, lc = _random_arrays(rng, n=120, n_loci=3, n_lines=64 * 2 + 7, n_alleles=6)
    sizes = [6, 6, 6]
    lower, upper = zero_mismatch_bounds(codes, freqs, lc, sizes, 0.0)
    assert lower == upper == pytest.approx(numpy_genotype_coverage(codes, freqs, lc), abs=ATOL)
    c, hlc, hs = identity_codes(codes, lc)
    lower, upper = zero_mismatch_bounds(c, freqs, hlc, hs, 0.0)
    assert lower == upper == pytest.approx(numpy_haplotype_coverage(codes, freqs, lc), abs=ATOL)

    codes, freqs, lc = _random_arrays(rng, n=14, n_loci=2, n_lines=70, n_alleles=5)
    u = 1.0 - math.fsum(freqs)
    loci = ("A", "B")
    haps = [_names(r, loci) for r in codes]
    lines = [(_names(t[0], loci), _names(t[1], loci)) for t in lc]
    got = zero_mismatch_bounds(codes, freqs, lc, [5, 5], u)
    assert got == pytest.approx(naive_coverage(haps, freqs.tolist(), lines, "genotype", u), abs=ATOL)
    c, hlc, hs = identity_codes(codes, lc)
    got = zero_mismatch_bounds(c, freqs, hlc, hs, u)
    assert got == pytest.approx(naive_coverage(haps, freqs.tolist(), lines, "haplotype", u), abs=ATOL)


def test_bundled_table_projected_matches_naive():
    """A real table (bundled Japanese top 100), projected to A~B~DRB1 by the library and by hand."""
    from hlamatch import bundled_table

    df = pl.read_csv(HAPLOTYPES_DIR / "japanese.csv")
    loci = ("A", "B", "DRB1")
    proj: dict[tuple, float] = {}
    for row in df.iter_rows(named=True):
        key = tuple(row[locus] for locus in loci)
        proj[key] = proj.get(key, 0.0) + row["JAPI"]
    haps, freqs = list(proj), list(proj.values())
    top = sorted(proj, key=lambda h: -proj[h])
    lines = [(top[0], top[0]), (top[1], top[1]), (top[2], top[5]), (top[3], (top[3][0], top[4][1], top[3][2]))]
    rep = run_coverage(bundled_table("japanese"), [line_text(ln) for ln in lines], expect_warning=False)
    u = 1.0 - math.fsum(df["JAPI"].to_list())
    for level in LEVELS:
        r = rep.get(level)
        assert r.loci == loci
        lower, upper = naive_coverage(haps, freqs, lines, level, u)
        assert r.lower == pytest.approx(lower, abs=ATOL), level
        assert r.upper == pytest.approx(upper, abs=ATOL), level
    # The library's own docstring example, re-derived: the CiRA line alone at haplotype level is
    # 1 - (1 - f)^2 with f its projected frequency.
    f = proj[("A*24:02", "B*52:01", "DRB1*15:02")]
    r = run_coverage(bundled_table("japanese"), ["A*24:02~B*52:01~DRB1*15:02"], level="haplotype", expect_warning=False)
    assert r[0].lower == pytest.approx(1 - (1 - f) ** 2, abs=ATOL)


# ====================================================================== invariants


def _bounds(table, lines, haps, **kw):
    rep = run_coverage(table, [line_text(ln) for ln in lines], expect_warning=has_unknown_allele(lines, haps), **kw)
    return {(r.population, r.level): (r.lower, r.upper) for r in rep}


@both_paths
@settings(max_examples=80, **HYPOTHESIS)
@given(p=problems())
def test_bounds_ordered_and_genotype_level_at_least_haplotype_level(p):
    """0 <= lower <= upper <= 1 at both levels, and genotype level >= haplotype level (both bounds)."""
    loci, haps, pop_freqs, lines = p
    b = _bounds(make_table(loci, haps, pop_freqs), lines, haps)
    for (pop, level), (lower, upper) in b.items():
        assert 0.0 <= lower <= upper <= 1.0, (pop, level, lower, upper)
    for pop in pop_freqs:
        (hl, hu), (gl, gu) = b[(pop, "haplotype")], b[(pop, "genotype")]
        assert gl >= hl - ATOL, (pop, "lower", gl, hl)
        assert gu >= hu - ATOL, (pop, "upper", gu, hu)


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(p=problems(max_lines=3), data=st.data())
def test_monotone_when_lines_added(p, data):
    loci, haps, pop_freqs, lines = p
    extra = [e for e in data.draw(problems_lines(haps, loci)) if frozenset(e) not in map(frozenset, lines)]
    t = make_table(loci, haps, pop_freqs)
    before = _bounds(t, lines, haps)
    after = _bounds(t, lines + extra, haps)
    for key, (lower, upper) in before.items():
        assert after[key][0] >= lower - ATOL, (key, "lower")
        assert after[key][1] >= upper - ATOL, (key, "upper")


def problems_lines(haps, loci):
    """1–3 extra lines over the alleles of ``haps`` plus one absent allele per locus."""
    pools = [sorted({h[l] for h in haps}) + [allele(locus, 40)] for l, locus in enumerate(loci)]
    any_hap = st.tuples(*[st.sampled_from(pool) for pool in pools])
    line_hap = st.one_of(st.sampled_from(haps), any_hap)
    return st.lists(st.tuples(line_hap, line_hap), min_size=1, max_size=3, unique_by=frozenset)


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(p=problems(), data=st.data())
def test_invariant_under_row_order(p, data):
    loci, haps, pop_freqs, lines = p
    perm = data.draw(st.permutations(range(len(haps))))
    shuffled = {pop: [f[i] for i in perm] for pop, f in pop_freqs.items()}
    a = _bounds(make_table(loci, haps, pop_freqs), lines, haps)
    b = _bounds(make_table(loci, [haps[i] for i in perm], shuffled), lines, haps)
    for key in a:
        assert b[key] == pytest.approx(a[key], abs=ATOL), key


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(p=problems(), data=st.data())
def test_duplicated_lines_add_nothing(p, data):
    """Repeating lines, or writing a line as ``hap2/hap1`` or ``hap/hap``, changes nothing (the
    repeats are left out, with a warning)."""
    loci, haps, pop_freqs, lines = p
    picks = data.draw(st.lists(st.sampled_from(lines), min_size=1, max_size=4))
    t = make_table(loci, haps, pop_freqs)
    a = _bounds(t, lines, haps)
    texts = [line_text(ln) for ln in lines] + [line_text((h2, h1), explicit_pair=True) for h1, h2 in picks]
    rep = run_coverage(t, texts, expect_warning=True)
    for r in rep:
        assert (r.lower, r.upper) == pytest.approx(a[(r.population, r.level)], abs=ATOL)


@both_paths
@settings(max_examples=25, **HYPOTHESIS)
@given(p=problems(), data=st.data())
def test_line_locus_order_is_irrelevant(p, data):
    """A line typed with its loci in another order than the table's gives the same result."""
    loci, haps, pop_freqs, lines = p
    order = data.draw(st.permutations(range(len(loci))))
    t = make_table(loci, haps, pop_freqs)
    a = _bounds(t, lines, haps)
    texts = [line_text(tuple(tuple(h[l] for l in order) for h in ln)) for ln in lines]
    rep = run_coverage(t, texts, expect_warning=has_unknown_allele(lines, haps))
    for r in rep:
        assert r.loci == loci
        assert (r.lower, r.upper) == pytest.approx(a[(r.population, r.level)], abs=ATOL)


@both_paths
@settings(max_examples=60, **HYPOTHESIS)
@given(p=problems(homozygous_only=True))
def test_closed_form_homozygous_bank_haplotype_level(p):
    loci, haps, pop_freqs, lines = p
    bank = sorted({h1 for h1, _ in lines})
    b = _bounds(make_table(loci, haps, pop_freqs), lines, haps)
    for pop, freqs in pop_freqs.items():
        f_of = dict(zip(haps, freqs))
        expected = closed_form_haplotype([f_of.get(d, 0.0) for d in bank], unlisted_of(freqs))
        assert b[(pop, "haplotype")] == pytest.approx(expected, abs=ATOL), pop


@both_paths
@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has fewer than 2 threads here")
@settings(max_examples=30, **HYPOTHESIS)
@given(p=problems(max_haps=40, max_lines=6))
def test_threads_do_not_change_results(p):
    """The kernel's folds do not depend on the thread count: bit-identical, as its docstring says."""
    loci, haps, pop_freqs, lines = p
    t = make_table(loci, haps, pop_freqs)
    before = numba.get_num_threads()
    one = _bounds(t, lines, haps, threads=1)
    two = _bounds(t, lines, haps, threads=2)
    for key in one:
        assert two[key] == pytest.approx(one[key], abs=ATOL), key
        assert two[key] == one[key], key
    assert numba.get_num_threads() == before  # restored afterwards
