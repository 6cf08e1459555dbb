"""The bitset encoder (``hlamatch.compute.encode``) against bitsets built one row and one line at a time."""

from __future__ import annotations

import numpy as np
import pytest

from hlamatch.compute import dispatch
from hlamatch.compute.encode import line_bitsets, merged_bitsets, pattern_runs, word_count


@pytest.fixture(params=["sort", "hash"])
def grouping(request):
    """Both ways of merging rows: the NumPy sort (small tables) and the numba hash pass (large), which
    merges every table on the kernel path (else few merged rows keep the NumPy sort)."""
    with dispatch.kernels_only() if request.param == "hash" else dispatch.numpy_twins():
        yield request.param


def naive_bitsets(codes, line_codes, line_nulls):
    """(n, n_loci, n_words) per slot: bit t set where the row carries slot h of line t, or it is null."""
    n, n_loci = codes.shape
    n_lines = line_codes.shape[0]
    out = np.zeros((2, n, n_loci, word_count(n_lines)), dtype=np.uint64)
    for h in range(2):
        for i in range(n):
            for l in range(n_loci):
                for t in range(n_lines):
                    if line_nulls[t, h, l] or line_codes[t, h, l] == codes[i, l]:
                        out[h, i, l, t // 64] |= np.uint64(1) << np.uint64(t % 64)
    return out


def merged_rows(b1, b2, f):
    """The merged rows as a sorted list of (bitsets 1, bitsets 2, frequency)."""
    m = f.shape[0]
    w1, w2 = b1.reshape(-1, m).T, b2.reshape(-1, m).T
    return sorted((tuple(w1[j]), tuple(w2[j]), round(float(f[j]), 12)) for j in range(m))


def random_case(rng, n_loci, n_lines, homozygous):
    sizes = [int(rng.integers(1, 7)) for _ in range(n_loci)]
    n = int(rng.integers(1, 40))
    codes = np.stack([rng.integers(0, s, n) for s in sizes], axis=1).astype(np.int32)
    # codes past the vocabulary: line alleles the table lacks
    lc = np.stack(
        [np.stack([rng.integers(0, s + 2, n_lines) for s in sizes], axis=1) for _ in range(2)], axis=1
    ).astype(np.int32)
    ln = rng.random(lc.shape) < 0.05
    if homozygous:
        lc[:, 1], ln[:, 1] = lc[:, 0], ln[:, 0]
    return codes, rng.random(n), lc, ln, sizes


@pytest.mark.parametrize("homozygous", [True, False])
def test_bitsets_and_merged_rows_match_the_naive_encoder(homozygous, grouping):
    rng = np.random.default_rng(7 if homozygous else 8)
    for _ in range(60):
        codes, f, lc, ln, sizes = random_case(rng, int(rng.integers(1, 7)), int(rng.integers(1, 140)), homozygous)
        want = naive_bitsets(codes, lc, ln)
        b1, b2, hom = line_bitsets(codes, lc, sizes, ln)
        assert np.array_equal(b1, want[0]) and np.array_equal(b2, want[1])
        same = lc[:, 0] == lc[:, 1]
        for l in range(codes.shape[1]):
            for t in range(lc.shape[0]):
                assert bool(hom[l, t // 64] >> np.uint64(t % 64) & np.uint64(1)) == bool(same[t, l])
        # merged: the rows of equal bitsets summed, as many groups as distinct bitset rows
        m1, m2, mf, mhom, het, _ = merged_bitsets(codes, f, lc, sizes, ln, by_frequency=True)
        sig = np.concatenate([want[0].reshape(len(f), -1), want[1].reshape(len(f), -1)], axis=1)
        groups = {}
        for i in range(len(f)):
            groups[sig[i].tobytes()] = groups.get(sig[i].tobytes(), 0.0) + f[i]
        assert mf.shape[0] == len(groups)
        assert mf.sum() == pytest.approx(f.sum(), abs=1e-12)
        assert np.all(np.diff(mf) <= 0)  # most frequent first
        assert merged_rows(m1, m2, mf) == merged_rows(*_flat(want[0], want[1], sig, f))
        assert np.array_equal(mhom, hom)
        if homozygous:
            assert not het and m2 is m1


def _flat(b1, b2, sig, f):
    """Rows merged by a dictionary of signatures, in the flat layout."""
    keys, first, inverse = np.unique(sig, axis=0, return_index=True, return_inverse=True)
    ff = np.bincount(inverse.reshape(-1), weights=f)
    return (
        np.ascontiguousarray(b1[first].transpose(2, 1, 0)).reshape(-1),
        np.ascontiguousarray(b2[first].transpose(2, 1, 0)).reshape(-1),
        ff,
    )


def test_merging_with_more_classes_than_an_integer_key_holds(grouping):
    # 12 loci with 60 line alleles each: 61**12 classes overflow an int64 key (the axis-0 grouping)
    rng = np.random.default_rng(3)
    n_loci, n_lines, n = 12, 60, 200
    sizes = [70] * n_loci
    lc = np.repeat(np.stack([rng.permutation(70)[:n_lines] for _ in range(n_loci)], axis=1)[:, None, :], 2, axis=1)
    lc = lc.astype(np.int32)
    codes = lc[rng.integers(0, n_lines, n), 0].copy()
    codes[::3, 0] = 69  # some rows carry an allele no line has
    f = rng.random(n)
    ln = np.zeros(lc.shape, dtype=np.bool_)
    b, _, mf, _, _, _ = merged_bitsets(codes, f, lc, sizes, ln)
    want = naive_bitsets(codes, lc, ln)
    sig = want[0].reshape(n, -1)
    assert merged_rows(b, b, mf) == merged_rows(*_flat(want[0], want[0], sig, f))


def test_patterns_and_their_runs_pair_exactly_the_rows_some_line_could_cover(grouping):
    rng = np.random.default_rng(11)
    for trial in range(60):
        n_loci = int(rng.integers(1, 6))
        codes, f, lc, ln, sizes = random_case(rng, n_loci, int(rng.integers(1, 70)), trial % 2 == 0)
        b1, b2, mf, _, _, patterns = merged_bitsets(codes, f, lc, sizes, ln, by_pattern=True)
        m = mf.shape[0]
        w1, w2 = b1.reshape(-1, n_loci, m), b2.reshape(-1, n_loci, m)
        want = [sum(1 << l for l in range(n_loci) if (w1[:, l, j] | w2[:, l, j]).any()) for j in range(m)]
        assert patterns.tolist() == want
        assert np.all(np.diff(patterns) <= 0)
        row_class, run_first, runs = pattern_runs(patterns, n_loci)
        full = (1 << n_loci) - 1
        for i in range(m):
            a = row_class[i]
            columns = set()
            for r in range(run_first[a], run_first[a + 1]):
                columns |= set(range(runs[r, 0], runs[r, 1]))
            assert columns == {j for j in range(m) if want[i] | want[j] == full}


def test_grouping_fixture_reaches_the_hash_pass(grouping, monkeypatch):
    """The hash pass is really taken under the fixture (and the sort otherwise)."""
    from hlamatch.kernels import grouping as kernels

    calls = []
    real = kernels.class_groups
    monkeypatch.setattr(kernels, "class_groups", lambda *a: calls.append(1) or real(*a))
    codes, f, lc, ln, sizes = random_case(np.random.default_rng(1), 3, 5, True)
    merged_bitsets(codes, f, lc, sizes, ln)
    assert bool(calls) == (grouping == "hash")
