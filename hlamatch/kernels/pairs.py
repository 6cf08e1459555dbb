"""The zero-mismatch bitset pair loop: covered pair mass, by folds or by row ranges, and unlisted partners."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit, prange
from hlamatch.kernels.common import _ALL, FIXED_UNIT, J_BLOCK, _fixed_point


@jit()
def _row_mass(b1, b2, het, n_words, n_loci, freqs, q, i, j0, j1, word, any_):
    """Ordered-pair mass covered with first chromosome i and second j in ``max(i, j0) .. j1``
    (pairs j < i are counted through symmetry: each j > i counts twice, j = i once).

    Bitsets are flat struct-of-arrays (``b[(w * n_loci + l) * n + j]``).  Every inner loop runs
    over slice views with a plain ``range`` index: numba then emits no negative-index
    wraparound check and LLVM vectorises the loops (AVX2/AVX-512 where the CPU has them).
    ``q`` is ``freqs`` in fixed point (:func:`_fixed_point`): integer addition is associative,
    so LLVM vectorises the partner sum too (a float sum would stay one serial add chain without
    fastmath), and the result does not depend on the order of the columns.  ``word`` and
    ``any_`` are scratch arrays of length at least ``j1 - j0``.
    """
    n = freqs.shape[0]
    lo = max(i, j0)
    if j1 - lo <= 0:
        return 0.0
    qv = q[lo:j1]
    s, covered_ii = _covered_sum(b1, b2, het, n_words, n_loci, n, i, lo, j1, qv, word, any_)
    if lo != i:
        return freqs[i] * (2.0 * (s * FIXED_UNIT))
    # the diagonal pair (i, i) counts once: it was summed above as if twice
    if covered_ii:
        s -= qv[0]
    return freqs[i] * (2.0 * (s * FIXED_UNIT) + freqs[i] * covered_ii)


@jit()
def _covered_sum(b1, b2, het, n_words, n_loci, n, i, lo, j1, qv, word, any_):
    """Fixed-point sum of ``qv[j - lo]`` over the columns j in ``lo .. j1`` covered with row i, and
    whether (i, lo) is covered: the fused pass for the usual bank, else :func:`_covered_words`."""
    if not het and n_words <= 2 and n_loci <= 6:  # the usual bank: one fused pass
        return _hom_fused(b1, n, n_words, n_loci, i, lo, j1, qv)
    acc = _covered_words(b1, b2, het, n_words, n_loci, n, i, lo, j1, word, any_)
    s = np.int64(0)
    for j in range(j1 - lo):
        s += qv[j] if acc[j] != 0 else np.int64(0)
    return s, acc[0] != 0


@jit()
def _covered_words(b1, b2, het, n_words, n_loci, n, i, lo, j1, word, any_):
    """Scratch view whose entry j − lo is non-zero iff the pair (i, j) is covered, for any number of
    words and loci, heterozygous lines included: one pass per locus (three loci per pass for
    homozygous lines), the running word kept in ``word`` and the OR over words in ``any_``."""
    m = j1 - lo
    wv = word[:m]
    acc = wv
    if n_words > 1:
        acc = any_[:m]
        for j in range(m):
            acc[j] = 0
    for w in range(n_words):
        if het:
            for l in range(n_loci):
                base = (w * n_loci + l) * n
                c1 = b1[base + lo : base + j1]
                x1 = b1[base + i]
                c2 = b2[base + lo : base + j1]
                x2 = b2[base + i]
                if l == 0:
                    for j in range(m):
                        wv[j] = (x1 | c1[j]) & (x2 | c2[j])
                else:
                    for j in range(m):
                        wv[j] &= (x1 | c1[j]) & (x2 | c2[j])
        else:
            for l in range(0, n_loci, 3):
                _hom_pass(b1, n, (w * n_loci + l) * n, i, lo, j1, min(3, n_loci - l), l == 0, wv)
        if n_words > 1:
            for j in range(m):
                acc[j] |= wv[j]
    return acc


@jit()
def _hom_fused(b1, n, n_words, n_loci, i, lo, j1, qv):
    """Fixed-point covered mass of row i against columns ``lo .. j1`` and whether (i, lo) is
    covered, for homozygous lines in at most two words at at most six loci: every locus and word
    in one pass, so nothing is stored between loci.  Missing loci repeat the last one (an AND
    with itself changes nothing)."""
    m = j1 - lo
    last = n_loci - 1
    oa, ob, oc = 0, min(1, last) * n, min(2, last) * n
    od, oe, of = min(3, last) * n, min(4, last) * n, min(5, last) * n
    s = np.int64(0)
    a0 = b1[oa + lo : oa + j1]
    b0 = b1[ob + lo : ob + j1]
    c0 = b1[oc + lo : oc + j1]
    xa, xb, xc = b1[oa + i], b1[ob + i], b1[oc + i]
    if n_words == 1 and n_loci <= 3:
        for j in range(m):
            v = (xa | a0[j]) & (xb | b0[j]) & (xc | c0[j])
            s += qv[j] if v != 0 else np.int64(0)
        return s, ((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0])) != 0
    d0 = b1[od + lo : od + j1]
    e0 = b1[oe + lo : oe + j1]
    f0 = b1[of + lo : of + j1]
    xd, xe, xf = b1[od + i], b1[oe + i], b1[of + i]
    if n_words == 1 and n_loci <= 5:  # five loci (A, C, B, DRB1, DQB1) is the usual typing
        for j in range(m):
            v = (xa | a0[j]) & (xb | b0[j]) & (xc | c0[j]) & (xd | d0[j]) & (xe | e0[j])
            s += qv[j] if v != 0 else np.int64(0)
        return s, ((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0]) & (xd | d0[0]) & (xe | e0[0])) != 0
    if n_words == 1:
        for j in range(m):
            v = (xa | a0[j]) & (xb | b0[j]) & (xc | c0[j]) & (xd | d0[j]) & (xe | e0[j]) & (xf | f0[j])
            s += qv[j] if v != 0 else np.int64(0)
        return s, ((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0]) & (xd | d0[0]) & (xe | e0[0]) & (xf | f0[0])) != 0
    w1 = n_loci * n
    a1 = b1[w1 + oa + lo : w1 + oa + j1]
    b1_ = b1[w1 + ob + lo : w1 + ob + j1]
    c1 = b1[w1 + oc + lo : w1 + oc + j1]
    ya, yb, yc = b1[w1 + oa + i], b1[w1 + ob + i], b1[w1 + oc + i]
    if n_loci <= 3:
        for j in range(m):
            v = ((xa | a0[j]) & (xb | b0[j]) & (xc | c0[j])) | ((ya | a1[j]) & (yb | b1_[j]) & (yc | c1[j]))
            s += qv[j] if v != 0 else np.int64(0)
        return s, (((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0])) | ((ya | a1[0]) & (yb | b1_[0]) & (yc | c1[0]))) != 0
    d1 = b1[w1 + od + lo : w1 + od + j1]
    e1 = b1[w1 + oe + lo : w1 + oe + j1]
    f1 = b1[w1 + of + lo : w1 + of + j1]
    yd, ye, yf = b1[w1 + od + i], b1[w1 + oe + i], b1[w1 + of + i]
    for j in range(m):
        v = ((xa | a0[j]) & (xb | b0[j]) & (xc | c0[j]) & (xd | d0[j]) & (xe | e0[j]) & (xf | f0[j])) | (
            (ya | a1[j]) & (yb | b1_[j]) & (yc | c1[j]) & (yd | d1[j]) & (ye | e1[j]) & (yf | f1[j])
        )
        s += qv[j] if v != 0 else np.int64(0)
    return s, (
        (
            ((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0]) & (xd | d0[0]) & (xe | e0[0]) & (xf | f0[0]))
            | ((ya | a1[0]) & (yb | b1_[0]) & (yc | c1[0]) & (yd | d1[0]) & (ye | e1[0]) & (yf | f1[0]))
        )
        != 0
    )


@jit()
def _hom_pass(b1, n, ba, i, lo, j1, k, init, wv):
    """AND into ``wv`` (or, when ``init``, set it to) the covered-line words of loci ``l .. l + k``
    (k ≤ 3; ``ba`` is the flat offset of locus l) for row i against columns ``lo .. j1``."""
    m = j1 - lo
    ca = b1[ba + lo : ba + j1]
    xa = b1[ba + i]
    if k == 1:
        if init:
            for j in range(m):
                wv[j] = xa | ca[j]
        else:
            for j in range(m):
                wv[j] &= xa | ca[j]
        return
    cb = b1[ba + n + lo : ba + n + j1]
    xb = b1[ba + n + i]
    if k == 2:
        if init:
            for j in range(m):
                wv[j] = (xa | ca[j]) & (xb | cb[j])
        else:
            for j in range(m):
                wv[j] &= (xa | ca[j]) & (xb | cb[j])
        return
    cc = b1[ba + 2 * n + lo : ba + 2 * n + j1]
    xc = b1[ba + 2 * n + i]
    if init:
        for j in range(m):
            wv[j] = (xa | ca[j]) & (xb | cb[j]) & (xc | cc[j])
    else:
        for j in range(m):
            wv[j] &= (xa | ca[j]) & (xb | cb[j]) & (xc | cc[j])


@jit()
def _class_mass(b1, b2, het, n_words, n_loci, freqs, q, i, j0, j1, word, any_, row_class, run_first, runs):
    """:func:`_row_mass` over the columns ``j0 .. j1`` whose pattern class can pair with row i's.

    Rows are sorted by class (the loci at which a row carries some line allele): a pair whose
    rows both carry none at the same locus is covered by no line.  The columns of the classes
    that can pair with class ``a`` form the runs ``runs[run_first[a]:run_first[a + 1]]`` (start,
    stop), in column order; the columns between runs are skipped.
    """
    lo = max(i, j0)
    total = 0.0
    a = row_class[i]
    for r in range(run_first[a], run_first[a + 1]):
        start, stop = max(lo, runs[r, 0]), min(j1, runs[r, 1])
        if start < stop:
            total += _row_mass(b1, b2, het, n_words, n_loci, freqs, q, i, start, stop, word, any_)
    return total


@jit()
def _chunk_mass(
    b1, b2, het, n_words, n_loci, freqs, q, first, k0, k1, step, folded, stops, out, row_class, run_first, runs
):
    """Add to ``out[k]`` (k in ``range(k0, k1, step)``) the covered mass of row ``first + k`` — and, when
    ``folded``, of row ``n - 1 - (first + k)`` too (a fold) — over all its pairs (i, j ≥ i), or,
    when ``stops`` (int64, one per row) is not empty, over its pairs (i, i ≤ j < stops[i]).

    Cache blocking: one block of ``J_BLOCK`` columns j at a time is compared with every row of the
    chunk, so the block's bitsets are read from cache, not memory, for all but the first row.
    The block boundaries are fixed, so sums do not depend on the thread count.
    """
    n = freqs.shape[0]
    word = np.empty(J_BLOCK, dtype=np.uint64)
    any_ = np.empty(J_BLOCK, dtype=np.uint64)
    j_end = n
    if stops.shape[0] > 0:  # no column block past the rows' last stop
        j_end = 0
        for k in range(k0, k1, step):
            j_end = max(j_end, stops[np.int64(first) + np.int64(k)])
    for jb in range(0, j_end, J_BLOCK):
        je = min(jb + J_BLOCK, n)
        for k in range(k0, k1, step):
            i = np.int64(first) + np.int64(k)
            ie = je if stops.shape[0] == 0 else min(je, stops[i])
            out[k] += _class_mass(
                b1, b2, het, n_words, n_loci, freqs, q, i, jb, ie, word, any_, row_class, run_first, runs
            )
            i2 = np.int64(n - 1) - i
            if folded and i2 != i:
                out[k] += _class_mass(
                    b1, b2, het, n_words, n_loci, freqs, q, i2, jb, je, word, any_, row_class, run_first, runs
                )


@jit(parallel=True)
def pair_mass_folds(b1, b2, het, n_words, n_loci, freqs, row_class, run_first, runs, fold_start, fold_stop):
    """Covered mass of listed patient genotypes, per fold of rows.

    JIT core of :func:`hlamatch.api.coverage.coverage` (genotype and haplotype level).  Fold ``k``
    holds rows ``k`` and ``n - 1 - k`` so that every fold has about ``n`` pairs of work: the
    triangular loop is balanced across threads, and the split does not depend on the number
    of threads, so results are bit-identical for any ``NUMBA_NUM_THREADS``.  Folds are
    independent: ranges of folds can run on different workers and be summed.

    Parameters
    ----------
    b1, b2 : numpy.ndarray
        uint64 arrays of shape (n_words * n_loci * n,): line-allele bitsets, flat
        struct-of-arrays, index ``(w * n_loci + l) * n + j``.
    het : bool
        Some line is heterozygous (else ``b2`` equals ``b1`` and is not read).
    n_words, n_loci : int
    freqs : numpy.ndarray
        float64 array of shape (n,): haplotype frequencies.
    row_class, run_first, runs : numpy.ndarray
        Rows sorted by pattern class (:func:`hlamatch.compute.encode.pattern_runs`): int32 (n,) each
        row's class; int64 (n_classes + 1,) and int64 (n_runs, 2): the runs of columns (start,
        stop) a row of class ``a`` is paired with are ``runs[run_first[a]:run_first[a + 1]]``;
        ``zeros(n)``, ``[0, 1]``, ``[[0, n]]`` visit every pair.
    fold_start, fold_stop : int
        Range of folds to compute, within ``[0, (n + 1) // 2]``.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (fold_stop - fold_start,): covered ordered-pair mass per fold
        (sum over ``j`` of ``f_i f_j [pair covered]`` for the fold's rows ``i``).
    """
    n_out = fold_stop - fold_start
    out = np.zeros(n_out)
    # A fixed number of contiguous chunks (not one task per fold): scratch arrays are allocated
    # once per chunk, and the chunking does not depend on the thread count.
    n_chunks = min(n_out, 64)
    q = _fixed_point(freqs)
    for c in prange(n_chunks):
        _chunk_mass(
            b1,
            b2,
            het,
            n_words,
            n_loci,
            freqs,
            q,
            fold_start,
            c * n_out // n_chunks,
            (c + 1) * n_out // n_chunks,
            1,
            True,
            np.zeros(0, dtype=np.int64),
            out,
            row_class,
            run_first,
            runs,
        )
    return out


@jit(parallel=True)
def pair_mass_rows(b1, b2, het, n_words, n_loci, freqs, stops, row_start, row_stop):
    """Covered mass of the pairs (i, i ≤ j < stops[i]) of rows ``row_start .. row_stop``, one value per row.

    The row-ordered twin of :func:`pair_mass_folds` for tolerance-bounded runs: with rows most
    frequent first and ``stops`` from :func:`hlamatch.engine.ranges.stair_stops`, exactly the patient
    genotypes of probability at least a threshold are visited.

    Returns
    -------
    numpy.ndarray
        float64 (row_stop - row_start,): covered ordered-pair mass per row.
    """
    n = freqs.shape[0]
    n_out = row_stop - row_start
    out = np.zeros(n_out)
    n_chunks = min(n_out, 64)
    q = _fixed_point(freqs)
    for c in prange(n_chunks):
        # rows c, c + n_chunks, …: each chunk gets heavy (early) and light (late) rows alike
        _chunk_mass(
            b1,
            b2,
            het,
            n_words,
            n_loci,
            freqs,
            q,
            row_start,
            c,
            n_out,
            n_chunks,
            False,
            stops,
            out,
            np.zeros(n, dtype=np.int32),
            np.array([0, 1], dtype=np.int64),
            np.array([[0, n]], dtype=np.int64),
        )
    return out


@jit()
def _partner_word(b1, b2, hom, n_loci, n, i, w, wildcard):
    """Lines of word w covering haplotype i paired with an unlisted chromosome.

    Novel partner (``wildcard=False``): i must carry both alleles of the line at every locus.
    Wildcard partner: at each locus the line is homozygous there or i carries one of its alleles.
    """
    acc = _ALL
    for l in range(n_loci):
        off = (w * n_loci + l) * n + i
        if wildcard:
            acc &= b1[off] | b2[off] | hom[l, w]
        else:
            acc &= b1[off] & b2[off]
    return acc


@jit()
def unlisted_partner_mass(b1, b2, hom, n_words, n_loci, freqs, wildcard):
    """Mass of listed haplotypes i whose pairing with an unlisted chromosome is covered.

    JIT core of the unlisted-mass bounds in :func:`hlamatch.api.coverage.coverage`.  The unlisted
    chromosome is either *novel* (``wildcard=False``: it carries no line allele; lower bound)
    or a *wildcard* (``wildcard=True``: at each locus it carries whichever line allele helps;
    upper bound).  With a wildcard partner, line ``t`` is satisfied at locus ``l`` when it is
    homozygous there or ``i`` carries one of its two alleles.

    Parameters
    ----------
    b1, b2 : numpy.ndarray
        uint64 flat arrays, as for :func:`pair_mass_folds`.
    hom : numpy.ndarray
        uint64 array of shape (n_loci, n_words): lines homozygous at each locus.
    n_words, n_loci : int
    freqs : numpy.ndarray
        float64 array of shape (n,).
    wildcard : bool

    Returns
    -------
    float
        ``sum_i f_i [covered(i, unlisted)]``.
    """
    n = freqs.shape[0]
    s = 0.0
    for i in range(n):
        for w in range(n_words):
            if _partner_word(b1, b2, hom, n_loci, n, i, w, wildcard) != 0:
                s += freqs[i]
                break
    return s
