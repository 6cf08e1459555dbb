"""The line sweep (``kernels.line_sweep``): each line's covered pairs, counted by their first
covering line, against the NumPy brute force of ``tests/naive.py``, the pair loop and the
NumPy twin of the pair test; its work estimate against a count by brute force; its ranges.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import both_paths, only_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive import naive_coverage, numpy_genotype_coverage

from hlamatch.compute import zero_bounds as cover
from hlamatch.compute.encode import merged_bitsets, word_count
from hlamatch.compute.zero_bounds import exact_listed_mass, zero_mismatch_bounds
from hlamatch.engine.ranges import line_ranges
from hlamatch.engine.run import exact_sum
from hlamatch.engine.setting import use_engine
from hlamatch.kernels import pairs_numpy
from hlamatch.kernels.sweep import line_sweep, line_sweep_work

ATOL = 1e-13


def random_problem(
    seed: int, n: int, n_loci: int, n_lines: int, het: bool, n_alleles: int = 4, null_share: float = 0.0
):
    """Codes, frequencies, lines (from table rows and absent alleles) and line null flags."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n_alleles, size=(n, n_loci)).astype(np.int32)
    lc = np.empty((n_lines, 2, n_loci), dtype=np.int32)
    for t in range(n_lines):  # mostly table haplotypes (the usual bank), some alleles the table lacks
        lc[t, 0] = codes[rng.integers(n)] if rng.random() < 0.7 else rng.integers(0, n_alleles + 2, n_loci)
        lc[t, 1] = codes[rng.integers(n)] if het and rng.random() < 0.6 else lc[t, 0]
    nulls = rng.random(lc.shape) < null_share
    if not het:
        nulls[:, 1] = nulls[:, 0]
    freqs = rng.random(n) ** 3
    freqs /= freqs.sum() * 1.05
    return codes, freqs, lc, nulls


def merged(codes, freqs, lc, nulls, n_alleles=4):
    b1, b2, f, hom, het, _ = merged_bitsets(codes, freqs, lc, [n_alleles] * codes.shape[1], nulls)
    return b1, b2, f, het


def sweep_total(b1, b2, het, n_words, n_loci, f, n_lines) -> float:
    return float(exact_sum(line_sweep(b1, b2, het, n_words, n_loci, f, 0, n_lines)))


@both_paths
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    n_loci=st.integers(1, 7),
    n_lines=st.integers(1, 150),
    het=st.booleans(),
)
def test_sweep_equals_brute_force(seed, n, n_loci, n_lines, het):
    """No null alleles: the sweep's covered mass is the NumPy brute force over all genotypes."""
    codes, freqs, lc, nulls = random_problem(seed, n, n_loci, n_lines, het)
    b1, b2, f, is_het = merged(codes, freqs, lc, nulls)
    got = sweep_total(b1, b2, is_het, word_count(n_lines), n_loci, f, n_lines)
    assert got == pytest.approx(numpy_genotype_coverage(codes, freqs, lc), abs=ATOL)


@both_paths
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 50),
    n_loci=st.integers(1, 7),
    n_lines=st.integers(1, 140),
    het=st.booleans(),
    null_share=st.sampled_from([0.0, 0.2, 0.6]),
)
def test_sweep_equals_pair_loop_and_numpy_twin(seed, n, n_loci, n_lines, het, null_share):
    """Null line alleles included: the sweep, the pair loop and the NumPy pair test agree (seven
    loci with heterozygous lines: masks too wide for the sweep, the pair loop whatever the margin)."""
    codes, freqs, lc, nulls = random_problem(seed, n, n_loci, n_lines, het, null_share=null_share)
    b1, b2, f, is_het = merged(codes, freqs, lc, nulls)
    n_words = word_count(n_lines)
    want = pairs_numpy.pair_mass(b1, b2, is_het, n_words, n_loci, f)
    assert sweep_total(b1, b2, is_het, n_words, n_loci, f, n_lines) == pytest.approx(want, abs=ATOL)
    old = cover.SWEEP_MARGIN
    try:
        for margin in (0.0, math.inf):  # every bank swept / every bank of > 64 lines on the pair loop
            cover.SWEEP_MARGIN = margin
            got = exact_listed_mass(b1, b2, is_het, n_words, n_loci, f, None, n_lines)
            assert got == pytest.approx(want, abs=ATOL)
    finally:
        cover.SWEEP_MARGIN = old


@only_path("numba")
def test_sweep_with_unlisted_mass_matches_loop_brute_force():
    """Through ``zero_mismatch_bounds`` on the kernel path (the NumPy small path switched off),
    with unlisted mass, against the loop brute force written from the matching model."""
    loci = ("A", "B", "C")
    for seed, het in ((1, False), (2, True), (3, False)):
        codes, freqs, lc, _ = random_problem(seed, 18, 3, 9, het, n_alleles=3)
        names = lambda row: tuple(f"{locus}*{int(c) + 1:02d}:01" for locus, c in zip(loci, row))  # noqa: E731
        haps = [names(r) for r in codes]
        lines = [(names(t[0]), names(t[1])) for t in lc]
        u = 1.0 - math.fsum(freqs)
        got = zero_mismatch_bounds(codes, freqs, lc, [3, 3, 3], u)
        assert got == pytest.approx(naive_coverage(haps, freqs.tolist(), lines, "genotype", u), abs=1e-12)


def test_first_covering_line_parts():
    """Each line's part is the mass of the genotypes it is the first to cover: a later line equal
    to an earlier one adds nothing, and the parts sum to the bank's coverage."""
    codes, freqs, lc, nulls = random_problem(7, 40, 4, 6, False)
    lc = np.concatenate([lc, lc[:3]])  # lines 6, 7, 8 repeat lines 0, 1, 2
    nulls = np.concatenate([nulls, nulls[:3]])
    b1, b2, f, het = merged(codes, freqs, lc, nulls)
    parts = line_sweep(b1, b2, het, 1, 4, f, 0, lc.shape[0])
    assert np.all(parts[6:] == 0.0)
    assert parts[0] == pytest.approx(numpy_genotype_coverage(codes, freqs, lc[:1]), abs=ATOL)
    assert math.fsum(parts) == pytest.approx(numpy_genotype_coverage(codes, freqs, lc), abs=ATOL)
    for a, b in ((0, 2), (2, 5), (5, 9)):  # ranges of lines are independent
        assert np.array_equal(line_sweep(b1, b2, het, 1, 4, f, a, b), parts[a:b])


@pytest.mark.parametrize("het", [False, True])
def test_work_counts_the_covered_pairs(het):
    """The work estimate's pair term is each line's covered unordered pairs, counted by brute force."""
    codes, freqs, lc, nulls = random_problem(11, 30, 3, 70, het, null_share=0.1)
    b1, b2, f, is_het = merged(codes, freqs, lc, nulls)
    m, n_loci, n_words = f.shape[0], 3, 2
    work = line_sweep_work(b1, b2, is_het, n_words, n_loci, lc.shape[0])
    x1 = b1.reshape(n_words, n_loci, m)
    x2 = b2.reshape(n_words, n_loci, m)
    for t in range(lc.shape[0]):
        w, bit = divmod(t, 64)
        a1 = (x1[w] >> np.uint64(bit)) & np.uint64(1)  # (n_loci, m): row carries allele 1 of line t
        a2 = (x2[w] >> np.uint64(bit)) & np.uint64(1)
        pair = np.all(((a1[:, :, None] | a1[:, None, :]) & (a2[:, :, None] | a2[:, None, :])) == 1, axis=0)
        pairs = int(np.triu(pair).sum())
        rows = int(pair.any(axis=1).sum())  # rows that take part in a covered pair
        assert work[t] == (w + 1) * (pairs + rows * n_loci) + m * n_loci


@pytest.mark.parametrize("n_lines", [1, 2, 7, 64, 300])
@pytest.mark.parametrize("min_ranges", [None, 1, 3, 1000])
def test_line_ranges_cover_every_line_once(n_lines, min_ranges):
    rng = np.random.default_rng(n_lines)
    work = (rng.random(n_lines) ** 4 * 5e7).astype(np.int64)
    ranges = line_ranges(work, min_ranges=min_ranges)
    assert ranges[0][0] == 0 and ranges[-1][1] == n_lines
    assert all(a < b for a, b in ranges) and all(ranges[k][1] == ranges[k + 1][0] for k in range(len(ranges) - 1))
    if min_ranges:
        assert len(ranges) >= min(min_ranges, n_lines)
    assert line_ranges(work, min_ranges=min_ranges) == ranges  # the split depends on the work only
    assert line_ranges(np.zeros(0, dtype=np.int64)) == []


def test_line_ranges_balance_work():
    work = np.array([10**8] + [10**6] * 200, dtype=np.int64)
    ranges = line_ranges(work)
    assert ranges[0] == (0, 1)  # the heavy line alone
    shares = [int(work[a:b].sum()) for a, b in ranges]
    assert max(shares[1:]) <= 3 * min(shares[1:])


def test_split_sweep_is_identical_to_one_range():
    codes, freqs, lc, nulls = random_problem(5, 60, 5, 90, False)
    b1, b2, f, het = merged(codes, freqs, lc, nulls)
    one = exact_listed_mass(b1, b2, het, 2, 5, f, None, 90)
    with use_engine("local", min_ranges=7):
        split = exact_listed_mass(b1, b2, het, 2, 5, f, None, 90)
    assert split == pytest.approx(one, abs=1e-15)


@pytest.mark.parametrize("n_loci, het", [(7, True), (13, False), (5, False), (5, True)])
@only_path("numba")
def test_banks_too_wide_for_the_sweep_take_the_pair_loop_exactly(n_loci, het):
    """Through ``zero_mismatch_bounds`` on the kernel path (NumPy small path off): a bank of a few
    lines whose masks are too wide for the sweep (seven heterozygous loci, thirteen loci) runs the
    pair loop on rows sorted by pattern, and every bank gives the brute force's coverage."""
    assert cover.sweep_fits(het, n_loci) == (n_loci <= (6 if het else 12))
    for seed in range(12):
        codes, freqs, lc, _ = random_problem(seed, 60, n_loci, 5, het, n_alleles=3)
        lower, upper = zero_mismatch_bounds(codes, freqs, lc, [3] * n_loci, 0.0)
        assert lower == upper == pytest.approx(numpy_genotype_coverage(codes, freqs, lc), abs=ATOL)
