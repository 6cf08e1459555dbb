"""Numba kernels: NumPy arrays in, arrays or scalars out.  No polars, no I/O, no messages.

These are the JIT cores behind :func:`hlamatch.cover.coverage`.  They are internal: call
the public wrappers, which validate inputs and normalise dtypes so that each kernel compiles
once (``uint64`` bitsets, ``int32`` codes, ``float64`` frequencies, C-contiguous).

Bitset encoding (zero-mismatch rule, built by :mod:`hlamatch.encode`)
--------------------------------------------------------------------
For patient haplotype ``i``, locus ``l`` and 64-line word ``w``, bit ``t`` of ``b1[w, l, i]``
is set when ``i[l]`` equals allele 1 of line ``t`` at ``l``; ``b2`` likewise for allele 2.  A
pair of chromosomes ``(i, j)`` carries every HvG antigen of line ``t`` iff, at every locus,
both line alleles are among the pair's alleles::

    AND_l (b1[w,l,i] | b1[w,l,j]) & (b2[w,l,i] | b2[w,l,j])   has bit t set.

Haplotype-level matching is the same test on one pseudo-locus whose "allele" is the whole
haplotype.  Inputs are read-only views: kernels never write to them.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit, prange

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


#: Columns of the pair loop processed per block: the block's bitsets (words × loci × 8 bytes
#: each) stay in cache while every row of a chunk is compared with them.
J_BLOCK = 1024

#: Columns per block of the homozygous-line rule kernel: its five scratch planes stay in L1.
HOM_BLOCK = 512

#: Fixed-point unit of the pair kernels' partner sums: a frequency f is held as the integer
#: round(f / FIXED_UNIT).  Each is off by at most FIXED_UNIT / 2 (about 2e-19), so a row's sum over
#: n partners is within n · 2e-19 of the float sum, and a covered mass within n · 2e-19 in all
#: (under 1e-13 for a million haplotypes).  Sums stay below 2**63 for any total mass up to 4.
FIXED_UNIT = 2.0 ** -61


@jit()
def _fixed_point(freqs):
    """``freqs`` as int64 multiples of :data:`FIXED_UNIT` (rounded to nearest)."""
    q = np.empty(freqs.shape[0], dtype=np.int64)
    for j in range(freqs.shape[0]):
        q[j] = np.int64(freqs[j] / FIXED_UNIT + 0.5)
    return q


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
                c1 = b1[base + lo: base + j1]
                x1 = b1[base + i]
                c2 = b2[base + lo: base + j1]
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
    a0 = b1[oa + lo: oa + j1]
    b0 = b1[ob + lo: ob + j1]
    c0 = b1[oc + lo: oc + j1]
    xa, xb, xc = b1[oa + i], b1[ob + i], b1[oc + i]
    if n_words == 1 and n_loci <= 3:
        for j in range(m):
            v = (xa | a0[j]) & (xb | b0[j]) & (xc | c0[j])
            s += qv[j] if v != 0 else np.int64(0)
        return s, ((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0])) != 0
    d0 = b1[od + lo: od + j1]
    e0 = b1[oe + lo: oe + j1]
    f0 = b1[of + lo: of + j1]
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
    a1 = b1[w1 + oa + lo: w1 + oa + j1]
    b1_ = b1[w1 + ob + lo: w1 + ob + j1]
    c1 = b1[w1 + oc + lo: w1 + oc + j1]
    ya, yb, yc = b1[w1 + oa + i], b1[w1 + ob + i], b1[w1 + oc + i]
    if n_loci <= 3:
        for j in range(m):
            v = ((xa | a0[j]) & (xb | b0[j]) & (xc | c0[j])) | ((ya | a1[j]) & (yb | b1_[j]) & (yc | c1[j]))
            s += qv[j] if v != 0 else np.int64(0)
        return s, (((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0]))
                   | ((ya | a1[0]) & (yb | b1_[0]) & (yc | c1[0]))) != 0
    d1 = b1[w1 + od + lo: w1 + od + j1]
    e1 = b1[w1 + oe + lo: w1 + oe + j1]
    f1 = b1[w1 + of + lo: w1 + of + j1]
    yd, ye, yf = b1[w1 + od + i], b1[w1 + oe + i], b1[w1 + of + i]
    for j in range(m):
        v = (((xa | a0[j]) & (xb | b0[j]) & (xc | c0[j]) & (xd | d0[j]) & (xe | e0[j]) & (xf | f0[j]))
             | ((ya | a1[j]) & (yb | b1_[j]) & (yc | c1[j]) & (yd | d1[j]) & (ye | e1[j]) & (yf | f1[j])))
        s += qv[j] if v != 0 else np.int64(0)
    return s, ((((xa | a0[0]) & (xb | b0[0]) & (xc | c0[0]) & (xd | d0[0]) & (xe | e0[0]) & (xf | f0[0]))
                | ((ya | a1[0]) & (yb | b1_[0]) & (yc | c1[0]) & (yd | d1[0]) & (ye | e1[0]) & (yf | f1[0])))
               != 0)


@jit()
def _hom_pass(b1, n, ba, i, lo, j1, k, init, wv):
    """AND into ``wv`` (or, when ``init``, set it to) the covered-line words of loci ``l .. l + k``
    (k ≤ 3; ``ba`` is the flat offset of locus l) for row i against columns ``lo .. j1``."""
    m = j1 - lo
    ca = b1[ba + lo: ba + j1]
    xa = b1[ba + i]
    if k == 1:
        if init:
            for j in range(m):
                wv[j] = xa | ca[j]
        else:
            for j in range(m):
                wv[j] &= xa | ca[j]
        return
    cb = b1[ba + n + lo: ba + n + j1]
    xb = b1[ba + n + i]
    if k == 2:
        if init:
            for j in range(m):
                wv[j] = (xa | ca[j]) & (xb | cb[j])
        else:
            for j in range(m):
                wv[j] &= (xa | ca[j]) & (xb | cb[j])
        return
    cc = b1[ba + 2 * n + lo: ba + 2 * n + j1]
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
def _chunk_mass(b1, b2, het, n_words, n_loci, freqs, q, first, k0, k1, step, folded, stops, out,
                row_class, run_first, runs):
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
            out[k] += _class_mass(b1, b2, het, n_words, n_loci, freqs, q, i, jb, ie, word, any_, row_class,
                                  run_first, runs)
            i2 = np.int64(n - 1) - i
            if folded and i2 != i:
                out[k] += _class_mass(b1, b2, het, n_words, n_loci, freqs, q, i2, jb, je, word, any_, row_class,
                                      run_first, runs)


@jit(parallel=True)
def _pair_mass_folds(b1, b2, het, n_words, n_loci, freqs, row_class, run_first, runs, fold_start, fold_stop):
    """Covered mass of listed patient genotypes, per fold of rows.

    JIT core of :func:`hlamatch.cover.coverage` (genotype and haplotype level).  Fold ``k``
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
        Rows sorted by pattern class (:func:`hlamatch.encode.pattern_runs`): int32 (n,) each
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
    n = freqs.shape[0]
    n_out = fold_stop - fold_start
    out = np.zeros(n_out)
    # A fixed number of contiguous chunks (not one task per fold): scratch arrays are allocated
    # once per chunk, and the chunking does not depend on the thread count.
    n_chunks = min(n_out, 64)
    q = _fixed_point(freqs)
    for c in prange(n_chunks):
        _chunk_mass(b1, b2, het, n_words, n_loci, freqs, q, fold_start, c * n_out // n_chunks,
                    (c + 1) * n_out // n_chunks, 1, True, np.zeros(0, dtype=np.int64), out, row_class,
                    run_first, runs)
    return out


@jit(parallel=True)
def _pair_mass_rows(b1, b2, het, n_words, n_loci, freqs, stops, row_start, row_stop):
    """Covered mass of the pairs (i, i ≤ j < stops[i]) of rows ``row_start .. row_stop``, one value per row.

    The row-ordered twin of :func:`_pair_mass_folds` for tolerance-bounded runs: with rows most
    frequent first and ``stops`` from :func:`hlamatch.engine.stair_stops`, exactly the patient
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
        _chunk_mass(b1, b2, het, n_words, n_loci, freqs, q, row_start, c, n_out, n_chunks, False, stops, out,
                    np.zeros(n, dtype=np.int32), np.array([0, 1], dtype=np.int64), np.array([[0, n]], dtype=np.int64))
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
def _unlisted_partner_mass(b1, b2, hom, n_words, n_loci, freqs, wildcard):
    """Mass of listed haplotypes i whose pairing with an unlisted chromosome is covered.

    JIT core of the unlisted-mass bounds in :func:`hlamatch.cover.coverage`.  The unlisted
    chromosome is either *novel* (``wildcard=False``: it carries no line allele; lower bound)
    or a *wildcard* (``wildcard=True``: at each locus it carries whichever line allele helps;
    upper bound).  With a wildcard partner, line ``t`` is satisfied at locus ``l`` when it is
    homozygous there or ``i`` carries one of its two alleles.

    Parameters
    ----------
    b1, b2 : numpy.ndarray
        uint64 flat arrays, as for :func:`_pair_mass_folds`.
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



# ---------------------------------------------------------------------------------------------
# HvG rules with homozygous lines at genotype level (any k, per-locus limits, homozygous count).
#
# Each locus costs a line 0 (the patient carries its allele, or the allele is null) or one
# missing allele (1, or 2 with homozygous_count=2), so a line's count is (loci not covered) × 1
# or 2.  On the zero-mismatch bitsets, per pair and 64 lines: OR the two rows' words at each
# locus (covered), add the covered bits into four bit planes (a count per line), keep lines
# covered at every locus whose limit forbids a mismatch, and take the bit-sliced maximum.
# Every step is a pass over a block of columns j, which LLVM vectorises.
# ---------------------------------------------------------------------------------------------


@jit()
def _hom_planes(b, n_loci, req, wmask, w, i, lo, je, p0, p1, p2, p3, v):
    """For row i and columns ``lo .. je``, word w: the covered-locus count of every line as four bit
    planes ``p0 .. p3`` and in ``v`` the lines covered at every locus that allows no mismatch.

    ``b`` is the flat bitset array (``b[(w * n_loci + l) * n + j]``), ``req[l]`` says that locus l
    allows no mismatch, ``wmask[w]`` holds the lines that exist in word w.  The scratch arrays
    are written in their first ``je - lo`` places.
    """
    n = b.shape[0] // (wmask.shape[0] * n_loci)
    m = je - lo
    for j in range(m):
        p0[j] = 0
        p1[j] = 0
        p2[j] = 0
        p3[j] = 0
        v[j] = wmask[w]
    for l in range(n_loci):
        base = (w * n_loci + l) * n
        xi = b[base + i]
        col = b[base + lo: base + je]
        for j in range(m):
            x = xi | col[j]
            c = p0[j] & x
            p0[j] ^= x
            c2 = p1[j] & c
            p1[j] ^= c
            c3 = p2[j] & c2
            p2[j] ^= c2
            p3[j] |= c3
        if req[l]:
            for j in range(m):
                v[j] &= xi | col[j]


@jit()
def _hom_block(b, n_words, n_loci, req, wmask, freqs, i, jb, je, step, n_bins, s0, s1, s2, s3, valid, best,
               hist):
    """Add to ``hist`` the ordered-pair mass of rows (i, j), j in ``max(i, jb) .. je``, by the
    best line's HvG count (homozygous lines; ``step`` = 1 or 2 per missing allele).

    Arguments as for :func:`_hom_planes`; ``s0 .. best`` are scratch arrays of length at least
    ``je - jb``.
    """
    lo = max(i, jb)
    m = je - lo
    if m <= 0:
        return
    bs = best[:m]
    for j in range(m):
        bs[j] = -1
    p0 = s0[:m]
    p1 = s1[:m]
    p2 = s2[:m]
    p3 = s3[:m]
    v = valid[:m]
    for w in range(n_words):
        _hom_planes(b, n_loci, req, wmask, w, i, lo, je, p0, p1, p2, p3, v)
        # bit-sliced maximum over the valid lines
        for j in range(m):
            cand = v[j]
            if cand == 0:
                continue
            top = 0
            z = cand & p3[j]
            if z != 0:
                cand = z
                top += 8
            z = cand & p2[j]
            if z != 0:
                cand = z
                top += 4
            z = cand & p1[j]
            if z != 0:
                cand = z
                top += 2
            if cand & p0[j] != 0:
                top += 1
            if top > bs[j]:
                bs[j] = top
    fi = freqs[i]
    for j in range(m):
        jj = lo + j
        wt = fi * freqs[jj] * (1.0 if jj == i else 2.0)
        if bs[j] < 0:
            hist[n_bins - 1] += wt
        else:
            hist[(n_loci - bs[j]) * step] += wt


@jit()
def _hom_scratch():
    """Four bit planes and the valid-lines words of one column block (see :func:`_hom_planes`)."""
    sc = np.empty((5, HOM_BLOCK), dtype=np.uint64)
    return sc[0], sc[1], sc[2], sc[3], sc[4]


@jit()
def _hom_chunk(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, first, k0, k1, folded, stops,
               out):
    """Histograms ``out[k]`` (k in ``k0 .. k1``) of row ``first + k`` — and, when ``folded``,
    of row ``n - 1 - (first + k)`` — over all its pairs (i, j ≥ i), or (i, i ≤ j < stops[i]) when
    ``stops`` is not empty, blocked over columns as in :func:`_chunk_mass`.  Rows from ``n_open``
    on are settled (best count 0 with anyone)."""
    n = freqs.shape[0]
    s0, s1, s2, s3, valid = _hom_scratch()
    best = np.empty(HOM_BLOCK, dtype=np.int64)
    for k in range(k0, k1):
        for r in range(2):
            i = np.int64(first) + np.int64(k) if r == 0 else np.int64(n - 1) - (np.int64(first) + np.int64(k))
            if r == 1 and (not folded or i == np.int64(first) + np.int64(k)):
                break
            if i >= n_open:
                out[k, 0] += freqs[i] * (2.0 * tails[i] - freqs[i])
            elif n_open < n:
                out[k, 0] += 2.0 * freqs[i] * tails[n_open]
    for jb in range(0, n_open, HOM_BLOCK):
        je = min(jb + HOM_BLOCK, n_open)
        for k in range(k0, k1):
            i = np.int64(first) + np.int64(k)
            if i < n_open:
                ie = je if stops.shape[0] == 0 else min(je, stops[i])
                _hom_block(b, n_words, n_loci, req, wmask, freqs, i, jb, ie, step, n_bins, s0, s1, s2, s3,
                           valid, best, out[k])
            i2 = np.int64(n - 1) - i
            if folded and i2 != i and i2 < n_open:
                _hom_block(b, n_words, n_loci, req, wmask, freqs, i2, jb, je, step, n_bins, s0, s1, s2, s3,
                           valid, best, out[k])


@jit(parallel=True)
def _hom_rule_folds(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, fold_start, fold_stop):
    """Best-line HvG mismatch histogram of listed patient genotypes (homozygous lines, genotype
    level), per fold: the same histogram as :func:`_geno_rule_folds` for such banks.

    Returns
    -------
    numpy.ndarray
        float64 (fold_stop - fold_start, n_bins): ordered-pair mass per bin.
    """
    n_out = fold_stop - fold_start
    out = np.zeros((n_out, n_bins))
    n_chunks = min(n_out, 64)
    for c in prange(n_chunks):
        _hom_chunk(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, fold_start,
                   c * n_out // n_chunks, (c + 1) * n_out // n_chunks, True, np.zeros(0, dtype=np.int64), out)
    return out


@jit(parallel=True)
def _hom_rule_rows(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, stops, row_start, row_stop):
    """Row-ordered twin of :func:`_hom_rule_folds` for tolerance-bounded runs (open rows only, the
    columns of each below ``stops``, from :func:`hlamatch.engine.stair_stops`).

    Returns
    -------
    numpy.ndarray
        float64 (row_stop - row_start, n_bins).
    """
    n_out = row_stop - row_start
    out = np.zeros((n_out, n_bins))
    n_chunks = min(n_out, 64)
    for c in prange(n_chunks):
        _hom_chunk(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, row_start,
                   c * n_out // n_chunks, (c + 1) * n_out // n_chunks, False, stops, out)
    return out


@jit()
def _hom_ok_words(b, n_words, n_loci, req, wmask, cstar, i, lo, je, w0, w1, p0, p1, p2, p3, v, okw):
    """``okw[w * HOM_BLOCK + j]`` (w in ``w0 .. w1``): the lines of word w within the rule for the pair
    (i, lo + j) — covered at ``cstar`` loci or more, and at every locus that allows no mismatch."""
    m = je - lo
    # the constant's bits as full words, for a branch-free bit-sliced comparison count >= cstar
    k3 = _ALL if (cstar >> 3) & 1 else np.uint64(0)
    k2 = _ALL if (cstar >> 2) & 1 else np.uint64(0)
    k1 = _ALL if (cstar >> 1) & 1 else np.uint64(0)
    k0 = _ALL if cstar & 1 else np.uint64(0)
    for w in range(w0, w1):
        _hom_planes(b, n_loci, req, wmask, w, i, lo, je, p0, p1, p2, p3, v)
        for j in range(m):
            eq = ~(p3[j] ^ k3)
            gt = p3[j] & ~k3
            gt |= eq & p2[j] & ~k2
            eq &= ~(p2[j] ^ k2)
            gt |= eq & p1[j] & ~k1
            eq &= ~(p1[j] ^ k1)
            gt |= eq & p0[j] & ~k0
            eq &= ~(p0[j] ^ k0)
            okw[w * HOM_BLOCK + j] = (gt | eq) & v[j]


@jit()
def _hom_gain_chunk(b, n_words, n_loci, req, wmask, cstar, chosen, t, n_head, freqs, first, k0, k1, out):
    """Folds ``first + k0 .. first + k1`` (rows k and n - 1 - k, those below ``n_head``) into ``out``
    (float64, n_lines + 1).

    ``t < 0``: every pair no chosen line covers adds its mass to the gain of every line within
    the rule; ``out[-1]`` collects the mass chosen lines cover.  ``t >= 0``: the pick update —
    every pair line t newly covers subtracts its mass from those gains; ``out[-1]`` collects it.
    """
    n = freqs.shape[0]
    s0, s1, s2, s3, valid = _hom_scratch()
    okw = np.empty(n_words * HOM_BLOCK, dtype=np.uint64)
    last = out.shape[0] - 1
    tw = t // 64 if t >= 0 else 0
    tbit = np.uint64(1) << np.uint64(t % 64 if t >= 0 else 0)
    for jb in range(0, n, HOM_BLOCK):
        je = min(jb + HOM_BLOCK, n)
        for k in range(k0, k1):
            for r in range(2):
                i0 = np.int64(first) + np.int64(k)
                i = i0 if r == 0 else np.int64(n - 1) - i0
                if r == 1 and i == i0:
                    break
                if i >= n_head:
                    continue
                lo = max(i, jb)
                m = je - lo
                if m <= 0:
                    continue
                if t >= 0:
                    # only blocks where line t is within the rule for some pair need the other words
                    _hom_ok_words(b, n_words, n_loci, req, wmask, cstar, i, lo, je, tw, tw + 1, s0, s1, s2, s3,
                                  valid, okw)
                    any_t = False
                    for j in range(m):
                        if okw[tw * HOM_BLOCK + j] & tbit:
                            any_t = True
                            break
                    if not any_t:
                        continue
                    _hom_ok_words(b, n_words, n_loci, req, wmask, cstar, i, lo, je, 0, tw, s0, s1, s2, s3, valid, okw)
                    _hom_ok_words(b, n_words, n_loci, req, wmask, cstar, i, lo, je, tw + 1, n_words, s0, s1, s2, s3,
                                  valid, okw)
                else:
                    _hom_ok_words(b, n_words, n_loci, req, wmask, cstar, i, lo, je, 0, n_words, s0, s1, s2, s3,
                                  valid, okw)
                fi = freqs[i]
                for j in range(m):
                    if t >= 0 and not (okw[tw * HOM_BLOCK + j] & tbit):
                        continue
                    hit = False
                    for w in range(n_words):
                        if okw[w * HOM_BLOCK + j] & chosen[w]:
                            hit = True
                            break
                    wt = fi * freqs[lo + j] * (1.0 if lo + j == i else 2.0)
                    if t >= 0:
                        if hit:
                            continue
                        out[last] += wt
                        for w in range(n_words):
                            _scatter_bits(okw[w * HOM_BLOCK + j], 64 * w, out, -wt)
                    elif hit:
                        out[last] += wt
                    else:
                        for w in range(n_words):
                            _scatter_bits(okw[w * HOM_BLOCK + j], 64 * w, out, wt)


@jit(parallel=True)
def _hom_gain_folds(b, n_words, n_loci, req, wmask, cstar, chosen, t, n_head, freqs, n_lines, fold_start, fold_stop):
    """Gains of every line (``t < 0``) or the pick update of line t (``t >= 0``) under an HvG rule
    with homozygous lines at genotype level, per chunk of folds: the bit-plane twin of
    :func:`_rule_gain_folds` / :func:`_rule_pick_update` (see :func:`_hom_gain_chunk`).

    Returns
    -------
    numpy.ndarray
        float64 (n_chunks, n_lines + 1).
    """
    n_out = fold_stop - fold_start
    n_chunks = max(1, min(n_out, 64))
    out = np.zeros((n_chunks, n_lines + 1))
    for c in prange(n_chunks):
        _hom_gain_chunk(b, n_words, n_loci, req, wmask, cstar, chosen, t, n_head, freqs, fold_start,
                        c * n_out // n_chunks, (c + 1) * n_out // n_chunks, out[c])
    return out

# ---------------------------------------------------------------------------------------------
# General match rules: mismatch counts, per-locus limits, directions, both levels.
#
# A patient "slot" is a row of ``codes`` (>= 0) or a pseudo-chromosome for unlisted mass:
# NOVEL_A / NOVEL_B (alleles equal to nothing, and distinct from each other: the worst case,
# used for lower bounds) or WILDCARD (at each locus, whichever allele of the line helps: the
# best case, used for upper bounds).  Allele codes of lines are >= 0; line alleles absent
# from the table get codes past the table's vocabulary, so they equal no listed allele.
# Directions: 0 = HvG, 1 = GvH, 2 = bidirectional (per-locus maximum of the two).
# ---------------------------------------------------------------------------------------------

NOVEL_A = -1
NOVEL_B = -2
WILDCARD = -3


@jit()
def _absent_count(da, dna, db, dnb, pa, pna, pb, pnb, hom2):
    """Alleles of typing (da, db) absent from typing (pa, pb) at one locus (unphased).

    With (da, db) the donor this is the HvG count; with roles swapped, the GvH count.  Null
    alleles (``*na``/``*nb`` true) are not expressed and never count.  ``hom2`` counts a
    missing homozygous allele twice; a hemizygous one (X with a null) then counts twice
    unless the other typing carries a null too (the published consensus tables).
    """
    ea = not dna
    eb = not dnb
    if not ea and not eb:
        return 0
    if ea and eb and da != db:
        ma = 0 if (da == pa or da == pb) else 1
        mb = 0 if (db == pa or db == pb) else 1
        return ma + mb
    x = da if ea else db
    if x == pa or x == pb:
        return 0
    if not hom2:
        return 1
    if ea and eb:
        return 2
    return 1 if (pna or pnb) else 2


@jit()
def _phased_count(da, dna, db, dnb, qa, qna, qb, qnb, hom2):
    """Alleles of haplotypes a, b absent from the haplotype each is compared with (qa, qb).

    Phase-aware count at one locus: copy a must equal ``qa`` (the allele, at this locus, of the
    haplotype assigned to it), copy b must equal ``qb``; ``*na``/``*nb`` flag null alleles.
    Null copies never count themselves.  A homozygous allele missing from both counts once, or
    twice with ``hom2``.  A hemizygous allele (X with a null copy) missing counts once, or with
    ``hom2`` twice unless the allele compared with the null copy is null too: the unphased rule
    of :func:`_absent_count`, so a phase-aware count is never below the unphased one.
    """
    ea = not dna
    eb = not dnb
    ma = ea and da != qa
    mb = eb and db != qb
    if ea and eb:
        if da == db:
            if ma and mb:
                return 2 if hom2 else 1
            return 1 if (ma or mb) else 0
        return int(ma) + int(mb)
    if ea:  # hemizygous: copy b is null
        if not ma:
            return 0
        return 2 if (hom2 and not qnb) else 1
    if eb:  # hemizygous: copy a is null
        if not mb:
            return 0
        return 2 if (hom2 and not qna) else 1
    return 0


@jit()
def _slot_allele(codes, pnull, slot, l, cand, d1, n1, d2, n2):
    """(code, is_null) of patient slot at locus l; a wildcard takes candidate ``cand`` (0: d1, 1: d2)."""
    if slot >= 0:
        return codes[slot, l], pnull[slot, l]
    if slot == WILDCARD:
        if cand == 0:
            return d1, n1
        return d2, n2
    return slot, False


@jit()
def _line_count(codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, cap):
    """Fewest mismatches of line t against patient slots (s1, s2) within per-locus limits; -1 if none.

    ``cap`` >= 0: only counts below ``cap`` matter (a better line is known), so an assignment is
    abandoned as soon as its running total reaches it.
    """
    n_loci = lc.shape[2]
    # A homozygous line's two copies are interchangeable: sigma 1 and 2 give the same counts
    # and every tau is the same; likewise for a homozygous patient (same slot twice).
    hom_line = True
    for l in range(n_loci):
        if lc[t, 0, l] != lc[t, 1, l]:
            hom_line = False
            break
    hom_pat = s1 == s2 and s1 >= 0
    n_sigma = 4 if (haplo and direction != 1 and not hom_pat) else 1
    n_tau = 4 if (haplo and direction != 0 and not hom_line) else 1
    nc1 = 2 if s1 == WILDCARD else 1
    nc2 = 2 if s2 == WILDCARD else 1
    best = -1
    for sg in range(n_sigma):
        if sg == 2 and hom_line:
            continue
        for ta in range(n_tau):
            if ta == 2 and hom_pat:
                continue
            total = 0
            ok = True
            for l in range(n_loci):
                d1 = lc[t, 0, l]
                d2 = lc[t, 1, l]
                e1 = ln[t, 0, l]
                e2 = ln[t, 1, l]
                lbest = 1 << 30
                for c1 in range(nc1):
                    p1, q1 = _slot_allele(codes, pnull, s1, l, c1, d1, e1, d2, e2)
                    for c2 in range(nc2):
                        p2, q2 = _slot_allele(codes, pnull, s2, l, c2, d1, e1, d2, e2)
                        hv = 0
                        gv = 0
                        if haplo:
                            if direction != 1:
                                # sigma: which patient haplotype each donor copy is compared with
                                qa, qna = (p1, q1) if (sg & 1) == 0 else (p2, q2)
                                qb, qnb = (p1, q1) if (sg & 2) == 0 else (p2, q2)
                                hv = _phased_count(d1, e1, d2, e2, qa, qna, qb, qnb, hom2)
                            if direction != 0:
                                ra, rna = (d1, e1) if (ta & 1) == 0 else (d2, e2)
                                rb, rnb = (d1, e1) if (ta & 2) == 0 else (d2, e2)
                                gv = _phased_count(p1, q1, p2, q2, ra, rna, rb, rnb, hom2)
                        else:
                            if direction != 1:
                                hv = _absent_count(d1, e1, d2, e2, p1, q1, p2, q2, hom2)
                            if direction != 0:
                                gv = _absent_count(p1, q1, p2, q2, d1, e1, d2, e2, hom2)
                        c = hv if direction == 0 else gv if direction == 1 else max(hv, gv)
                        if c < lbest:
                            lbest = c
                if lbest > limits[l]:
                    ok = False
                    break
                total += lbest
                if cap >= 0 and total >= cap:
                    ok = False
                    break
            if ok and (best < 0 or total < best):
                best = total
    return best


@jit()
def _pair_best(codes, pnull, s1, s2, lc, ln, hom2, direction, haplo, limits):
    """Fewest mismatches over all lines for patient slots (s1, s2); -1 when no line meets the limits.

    JIT core of the rule-aware coverage in :func:`hlamatch.cover.coverage`; also callable for
    the pseudo-slot pairs of unlisted mass.
    """
    best = -1
    for t in range(lc.shape[0]):
        c = _line_count(codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, best)
        if c >= 0 and (best < 0 or c < best):
            best = c
            if best == 0:
                break
    return best


@jit(parallel=True)
def _mismatch_hist_folds(codes, pnull, freqs, lc, ln, hom2, direction, haplo, limits, n_bins, fold_start, fold_stop):
    """Distribution of the best line's mismatch count over listed patient genotypes, per fold.

    JIT core of :func:`hlamatch.cover.coverage` for general rules.  Folds as in
    :func:`_pair_mass_folds` (rows k and n-1-k): deterministic for any thread count.

    Parameters
    ----------
    codes : numpy.ndarray
        int32 array of shape (n, n_loci).
    pnull : numpy.ndarray
        bool array of shape (n, n_loci): allele is null (not expressed).
    freqs : numpy.ndarray
        float64 array of shape (n,).
    lc : numpy.ndarray
        int32 array of shape (n_lines, 2, n_loci): line allele codes.
    ln : numpy.ndarray
        bool array of shape (n_lines, 2, n_loci): line allele is null.
    hom2 : bool
        Count a missing homozygous allele twice.
    direction : int
        0 HvG, 1 GvH, 2 bidirectional.
    haplo : bool
        Haplotype level (phase-aware) instead of genotype level.
    limits : numpy.ndarray
        int64 array of shape (n_loci,): most mismatches allowed per locus.
    n_bins : int
        Histogram size: counts 0 .. n_bins - 2, last bin = no line within the limits.
    fold_start, fold_stop : int

    Returns
    -------
    numpy.ndarray
        float64 array of shape (fold_stop - fold_start, n_bins): ordered-pair mass per bin.
    """
    n = freqs.shape[0]
    out = np.zeros((fold_stop - fold_start, n_bins))
    for k in prange(fold_stop - fold_start):
        i0 = fold_start + k
        for r in range(2):
            i = i0 if r == 0 else n - 1 - i0
            if r == 1 and i == i0:
                break
            for j in range(i, n):
                b = _pair_best(codes, pnull, i, j, lc, ln, hom2, direction, haplo, limits)
                w = freqs[i] * freqs[j] * (1.0 if i == j else 2.0)
                out[k, n_bins - 1 if b < 0 else b] += w
    return out


@jit()
def _geno_rule_row(a1, a2, carried, masks, codes, pnull, n_open, freqs, hom2, direction, limits, i, j_stop, hist):
    """Add to ``hist`` the mass of pairs (i, j ≥ i), j < ``j_stop`` ≤ ``n_open``, by the best line's mismatch count
    (genotype level).

    Bit-sliced over lines: at each locus a line's count (0, 1 or 2) is two bit planes, totals are five bit planes added with ripple carries, and the best
    total is the bit-sliced minimum over the lines within the per-locus limits.  The whole row is
    one call, so nothing but words crosses a call boundary in the pair loop.
    """
    n = freqs.shape[0]
    n_loci = codes.shape[1]
    n_words = masks.shape[2]
    n_bins = hist.shape[0]
    fi = freqs[i]
    for j in range(i, j_stop):
        wgt = fi * freqs[j] * (1.0 if i == j else 2.0)
        best = -1
        for w in range(n_words):
            valid = masks[4, 0, w]
            c0 = np.uint64(0)
            c1 = np.uint64(0)
            c2 = np.uint64(0)
            c3 = np.uint64(0)
            c4 = np.uint64(0)
            for l in range(n_loci):
                bi = (i * n_words + w) * n_loci + l
                bj = (j * n_words + w) * n_loci + l
                # This locus's count per line (0, 1 or 2) as two bit planes (lo, hi): the
                # bit-sliced twin of _absent_count, written inline (a call per locus would pass
                # array structs and reference counts, costing more than the work itself).
                lo = np.uint64(0)
                hi = np.uint64(0)
                if direction != 1:  # HvG: line alleles absent from the patient
                    m1 = ~(a1[bi] | a1[bj])
                    m2 = ~(a2[bi] | a2[bj])
                    het = masks[0, l, w]
                    hom = masks[1, l, w]
                    hemi = masks[2, l, w]
                    lo = het & (m1 ^ m2)
                    hi = het & m1 & m2
                    if hom2:
                        hi |= hom & m1
                        if pnull[i, l] or pnull[j, l]:
                            lo |= hemi & (m1 | m2)
                        else:
                            hi |= hemi & (m1 | m2)
                    else:
                        lo |= (hom & m1) | (hemi & (m1 | m2))
                if direction != 0:  # GvH: patient alleles absent from the line
                    ei = not pnull[i, l]
                    ej = not pnull[j, l]
                    glo = np.uint64(0)
                    ghi = np.uint64(0)
                    if ei and ej and codes[i, l] != codes[j, l]:
                        mi = ~carried[bi]
                        mj = ~carried[bj]
                        glo = mi ^ mj
                        ghi = mi & mj
                    elif ei or ej:
                        x = ~carried[bi] if ei else ~carried[bj]
                        if not hom2:
                            glo = x
                        elif ei and ej:
                            ghi = x
                        else:  # hemizygous patient: twice unless the line has a null here too
                            glo = x & masks[3, l, w]
                            ghi = x & ~masks[3, l, w]
                    if direction == 1:
                        lo = glo
                        hi = ghi
                    else:  # bidirectional: per-locus maximum of two counts in {0, 1, 2}
                        hi = hi | ghi
                        lo = (lo | glo) & ~hi
                lim = limits[l]
                if lim == 0:
                    valid &= ~(lo | hi)
                elif lim == 1:
                    valid &= ~hi
                # ripple-add: lo at plane 0, hi at plane 1 (a line's lo and hi are never both set)
                x = c0 & lo
                c0 ^= lo
                x |= hi
                y = c1 & x
                c1 ^= x
                x = c2 & y
                c2 ^= y
                y = c3 & x
                c3 ^= x
                c4 ^= y
            if valid == 0:
                continue
            # bit-sliced minimum of the totals over the valid lines (unrolled over the planes)
            cand = valid
            m = 0
            z = cand & ~c4
            if z != 0:
                cand = z
            else:
                m += 16
            z = cand & ~c3
            if z != 0:
                cand = z
            else:
                m += 8
            z = cand & ~c2
            if z != 0:
                cand = z
            else:
                m += 4
            z = cand & ~c1
            if z != 0:
                cand = z
            else:
                m += 2
            if cand & ~c0 == 0:
                m += 1
            if best < 0 or m < best:
                best = m
                if best == 0:
                    break
        hist[n_bins - 1 if best < 0 else best] += wgt


@jit()
def _geno_pair_best(a1, a2, carried, masks, codes, pnull, hom2, direction, limits, i, j):
    """Best line's mismatch count of rows (i, j) at genotype level, bit-sliced; -1: no line within the limits.

    The per-pair body of :func:`_geno_rule_row` (bitsets of :func:`hlamatch.encode.rule_bitsets`),
    for :func:`_other_row`.  :func:`_geno_rule_row` keeps its own inline copy: numba does not
    inline this call there, and the call costs 1.5× its pair loop.
    """
    n_loci = codes.shape[1]
    n_words = masks.shape[2]
    best = -1
    for w in range(n_words):
        valid = masks[4, 0, w]
        c0 = np.uint64(0)
        c1 = np.uint64(0)
        c2 = np.uint64(0)
        c3 = np.uint64(0)
        c4 = np.uint64(0)
        for l in range(n_loci):
            bi = (i * n_words + w) * n_loci + l
            bj = (j * n_words + w) * n_loci + l
            # This locus's count per line (0, 1 or 2) as two bit planes (lo, hi): the
            # bit-sliced twin of _absent_count, written inline (a call per locus would pass
            # array structs and reference counts, costing more than the work itself).
            lo = np.uint64(0)
            hi = np.uint64(0)
            if direction != 1:  # HvG: line alleles absent from the patient
                m1 = ~(a1[bi] | a1[bj])
                m2 = ~(a2[bi] | a2[bj])
                het = masks[0, l, w]
                hom = masks[1, l, w]
                hemi = masks[2, l, w]
                lo = het & (m1 ^ m2)
                hi = het & m1 & m2
                if hom2:
                    hi |= hom & m1
                    if pnull[i, l] or pnull[j, l]:
                        lo |= hemi & (m1 | m2)
                    else:
                        hi |= hemi & (m1 | m2)
                else:
                    lo |= (hom & m1) | (hemi & (m1 | m2))
            if direction != 0:  # GvH: patient alleles absent from the line
                ei = not pnull[i, l]
                ej = not pnull[j, l]
                glo = np.uint64(0)
                ghi = np.uint64(0)
                if ei and ej and codes[i, l] != codes[j, l]:
                    mi = ~carried[bi]
                    mj = ~carried[bj]
                    glo = mi ^ mj
                    ghi = mi & mj
                elif ei or ej:
                    x = ~carried[bi] if ei else ~carried[bj]
                    if not hom2:
                        glo = x
                    elif ei and ej:
                        ghi = x
                    else:  # hemizygous patient: twice unless the line has a null here too
                        glo = x & masks[3, l, w]
                        ghi = x & ~masks[3, l, w]
                if direction == 1:
                    lo = glo
                    hi = ghi
                else:  # bidirectional: per-locus maximum of two counts in {0, 1, 2}
                    hi = hi | ghi
                    lo = (lo | glo) & ~hi
            lim = limits[l]
            if lim == 0:
                valid &= ~(lo | hi)
            elif lim == 1:
                valid &= ~hi
            # ripple-add: lo at plane 0, hi at plane 1 (a line's lo and hi are never both set)
            x = c0 & lo
            c0 ^= lo
            x |= hi
            y = c1 & x
            c1 ^= x
            x = c2 & y
            c2 ^= y
            y = c3 & x
            c3 ^= x
            c4 ^= y
        if valid == 0:
            continue
        # bit-sliced minimum of the totals over the valid lines (unrolled over the planes)
        cand = valid
        m = 0
        z = cand & ~c4
        if z != 0:
            cand = z
        else:
            m += 16
        z = cand & ~c3
        if z != 0:
            cand = z
        else:
            m += 8
        z = cand & ~c2
        if z != 0:
            cand = z
        else:
            m += 4
        z = cand & ~c1
        if z != 0:
            cand = z
        else:
            m += 2
        if cand & ~c0 == 0:
            m += 1
        if best < 0 or m < best:
            best = m
            if best == 0:
                break
    return best


@jit(parallel=True)
def _geno_rule_folds(a1, a2, carried, masks, codes, pnull, n_open, tails, freqs, hom2, direction, limits,
                     n_bins, fold_start, fold_stop):
    """Best-line mismatch histogram of listed patient genotypes at genotype level, per fold.

    The bit-sliced equivalent of :func:`_mismatch_hist_folds` with ``haplo=False`` (same
    folds, same histogram): per pair, each locus costs a few word operations per 64 lines
    instead of a loop over lines (:func:`_geno_rule_row`).  Rows from ``n_open`` on are
    *settled*: each carries, alone, every HvG allele of some line (a homozygous line's
    haplotype), so every pair with one of them has best count 0; their pairs are summed from
    ``tails`` (``tails[i] = sum of freqs[i:]``) without a pair loop.

    Returns
    -------
    numpy.ndarray
        float64 (fold_stop - fold_start, n_bins): ordered-pair mass per bin.
    """
    n = freqs.shape[0]
    out = np.zeros((fold_stop - fold_start, n_bins))
    for k in prange(fold_stop - fold_start):
        i0 = fold_start + k
        for r in range(2):
            i = i0 if r == 0 else n - 1 - i0
            if r == 1 and i == i0:
                break
            if i >= n_open:
                out[k, 0] += freqs[i] * (2.0 * tails[i] - freqs[i])
                continue
            if n_open < n:
                out[k, 0] += 2.0 * freqs[i] * tails[n_open]
            _geno_rule_row(a1, a2, carried, masks, codes, pnull, n_open, freqs, hom2, direction, limits, i, n_open,
                           out[k])
    return out


@jit(parallel=True)
def _geno_rule_rows(a1, a2, carried, masks, codes, pnull, n_open, tails, freqs, hom2, direction, limits,
                    n_bins, stops, row_start, row_stop):
    """Histogram of the pairs (i, i ≤ j < stops[i]) of open rows ``row_start .. row_stop`` (< ``n_open``),
    and of their pairs with the settled rows; the row-ordered twin of :func:`_geno_rule_folds`.

    Returns
    -------
    numpy.ndarray
        float64 (row_stop - row_start, n_bins).
    """
    n = freqs.shape[0]
    out = np.zeros((row_stop - row_start, n_bins))
    for k in prange(row_stop - row_start):
        i = row_start + k
        if n_open < n:
            out[k, 0] += 2.0 * freqs[i] * tails[n_open]
        _geno_rule_row(a1, a2, carried, masks, codes, pnull, n_open, freqs, hom2, direction, limits, i, stops[i],
                       out[k])
    return out


@jit()
def _mismatch_hist_partner(codes, pnull, freqs, lc, ln, hom2, direction, haplo, limits, n_bins, partner):
    """Histogram of ``sum_i f_i`` by best mismatch count of (i, partner pseudo-slot).

    JIT core of the unlisted-mass bounds for general rules.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_bins,).
    """
    out = np.zeros(n_bins)
    for i in range(freqs.shape[0]):
        b = _pair_best(codes, pnull, i, partner, lc, ln, hom2, direction, haplo, limits)
        out[n_bins - 1 if b < 0 else b] += freqs[i]
    return out


@jit(parallel=True)
def _typing_counts(pcodes, pnull, lc, ln, hom2, direction):
    """Per-locus mismatch counts of every patient typing against every line (genotype level).

    JIT core of :func:`hlamatch.match.match_patients`.

    Parameters
    ----------
    pcodes : numpy.ndarray
        int32 array of shape (n_patients, 2, n_loci): the patients' two alleles per locus.
    pnull : numpy.ndarray
        bool array of shape (n_patients, 2, n_loci).
    lc, ln : numpy.ndarray
        Line codes and null flags, shape (n_lines, 2, n_loci).
    hom2 : bool
    direction : int

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_patients, n_lines, n_loci).
    """
    n_pat = pcodes.shape[0]
    n_lines = lc.shape[0]
    n_loci = lc.shape[2]
    out = np.zeros((n_pat, n_lines, n_loci), dtype=np.int64)
    for p in prange(n_pat):
        for t in range(n_lines):
            for l in range(n_loci):
                a, na, b, nb = pcodes[p, 0, l], pnull[p, 0, l], pcodes[p, 1, l], pnull[p, 1, l]
                d1, n1, d2, n2 = lc[t, 0, l], ln[t, 0, l], lc[t, 1, l], ln[t, 1, l]
                hv = _absent_count(d1, n1, d2, n2, a, na, b, nb, hom2)
                gv = _absent_count(a, na, b, nb, d1, n1, d2, n2, hom2)
                out[p, t, l] = hv if direction == 0 else gv if direction == 1 else max(hv, gv)
    return out


# ---------------------------------------------------------------------------------------------
# Per-line axis: which lines cover each patient pair (rank, greedy plan, exact plan).
#
# Lines are bank lines and candidates in one bitset space (bit t of word t // 64).  ``chosen``
# (uint64 words for the bitset kernels, bool per line for the rule kernels) marks the lines
# already in the bank: a pair any chosen line covers counts towards the bank's coverage; any
# other pair adds its mass to the gain of every line that covers it.
# ---------------------------------------------------------------------------------------------

@jit()
def _bit_index(low):
    """Index of the single set bit of the uint64 ``low`` (a binary search: no multiply, so no
    wraparound, and the same under ``NUMBA_DISABLE_JIT``)."""
    b = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if low >> np.uint64(shift):
            low >>= np.uint64(shift)
            b += shift
    return b


@jit()
def _scatter_bits(x, base, out, weight):
    """Add ``weight`` to ``out[base + b]`` for every set bit b of the uint64 ``x``."""
    while x != 0:
        low = x & (~x + np.uint64(1))
        out[base + _bit_index(low)] += weight
        x ^= low


@jit()
def _pair_cover(b1, b2, het, n_words, n_loci, n, i, j, cover):
    """Write into ``cover`` (uint64, n_words) the lines covering pair (i, j); return whether any does."""
    anyc = False
    for w in range(n_words):
        acc = _ALL
        for l in range(n_loci):
            off = (w * n_loci + l) * n
            acc &= b1[off + i] | b1[off + j]
            if het:
                acc &= b2[off + i] | b2[off + j]
        cover[w] = acc
        if acc != 0:
            anyc = True
    return anyc


@jit()
def _line_masks(b1, b2, het, n_words, n_loci, n, t):
    """Per haplotype, which of line t's alleles it carries.  A pair (i, j) is covered by line t
    iff ``masks[i] | masks[j] == full``.

    Homozygous lines (``het`` False): bit l, the line's allele at locus l.  Otherwise bit 2l
    (allele 1 at locus l) and bit 2l+1 (allele 2).

    Returns
    -------
    (numpy.ndarray, int)
        int64 masks of shape (n,), and ``full`` (every bit set).
    """
    w = t // 64
    shift = np.uint64(t % 64)
    one = np.uint64(1)
    masks = np.zeros(n, dtype=np.int64)
    per = 2 if het else 1
    for l in range(n_loci):
        off = (w * n_loci + l) * n
        c1 = b1[off: off + n]
        s1 = np.uint64(per * l)
        for i in range(n):  # branch-free: LLVM vectorises it
            masks[i] |= np.int64(((c1[i] >> shift) & one) << s1)
        if het:
            c2 = b2[off: off + n]
            s2 = np.uint64(2 * l + 1)
            for i in range(n):
                masks[i] |= np.int64(((c2[i] >> shift) & one) << s2)
    full = (np.int64(1) << np.int64(per * n_loci)) - 1
    return masks, full


#: Masks below this are grouped by counting (an array indexed by mask); wider ones by hashing.
_DIRECT_MASKS = 1 << 12

#: The widest line masks (bits: loci, or twice the loci for heterozygous banks) the line sweep
#: takes: it groups rows by counting only, which keeps its compile time down.
SWEEP_MASK_BITS = 12


@jit()
def _class_groups(codes, class_of, offsets, sizes, freqs):
    """Rows grouped by the classes of their alleles (one open-addressing hash pass, no sort).

    JIT core of :func:`hlamatch.encode.merged_bitsets` for large tables.  Row i's key is the
    mixed-radix integer of its classes ``class_of[offsets[l] + codes[i, l]]`` (radix ``sizes[l]``,
    whose product the caller keeps below 2**62).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        int64 (m, n_loci): each group's classes, groups in the order they are first seen;
        int64 (n,): each row's group; float64 (m,): each group's frequency, summed in row order.
    """
    n, n_loci = codes.shape
    size = 16
    while size < 2 * n:
        size *= 2
    keys = np.full(size, -1, dtype=np.int64)
    vals = np.empty(size, dtype=np.int64)
    inverse = np.empty(n, dtype=np.int64)
    rep = np.empty((n, n_loci), dtype=np.int64)
    row = np.empty(n_loci, dtype=np.int64)
    total = np.zeros(n)
    m = 0
    for i in range(n):
        k = np.int64(0)
        for l in range(n_loci):
            row[l] = class_of[offsets[l] + codes[i, l]]
            k = k * sizes[l] + row[l]
        h = ((k * np.int64(-7046029254386353131)) >> np.int64(20)) & (size - 1)  # Fibonacci hashing
        while keys[h] != -1 and keys[h] != k:
            h = (h + 1) & (size - 1)
        if keys[h] == -1:
            keys[h] = k
            vals[h] = m
            rep[m] = row
            m += 1
        g = vals[h]
        inverse[i] = g
        total[g] += freqs[i]
    return rep[:m].copy(), inverse, total[:m].copy()


@jit()
def _mask_ids(masks):
    """Number the distinct values of ``masks`` (first-seen order) with an open-addressing hash.

    Returns
    -------
    (numpy.ndarray, int)
        int64 group id per row, and the number of groups.  Few distinct masks occur (a line has
        2·n_loci alleles), so this is O(n) where a sort would be O(n log n).
    """
    n = masks.shape[0]
    bits = 10
    size = 1 << bits
    keys = np.full(size, -1, dtype=np.int64)
    vals = np.empty(size, dtype=np.int64)
    ids = np.empty(n, dtype=np.int64)
    n_groups = 0
    for i in range(n):
        m = masks[i]
        h = (m ^ (m >> 9) ^ (m >> 19) ^ (m >> 29)) & (size - 1)
        while keys[h] != -1 and keys[h] != m:
            h = (h + 1) & (size - 1)
        if keys[h] == -1:
            if 2 * (n_groups + 1) > size:  # over half full: many distinct masks, sort instead
                return _mask_ids_sorted(masks)
            keys[h] = m
            vals[h] = n_groups
            n_groups += 1
        ids[i] = vals[h]
    return ids, n_groups


@jit()
def _mask_ids_sorted(masks):
    """:func:`_mask_ids` for masks with very many distinct values (sort-based)."""
    n = masks.shape[0]
    order = np.argsort(masks)
    ids = np.empty(n, dtype=np.int64)
    g = -1
    for q in range(n):
        if q == 0 or masks[order[q]] != masks[order[q - 1]]:
            g += 1
        ids[order[q]] = g
    return ids, g + 1


@jit()
def _mask_groups_direct(masks, full):
    """:func:`_mask_groups` for masks below :data:`_DIRECT_MASKS`, by counting (no hashing, no sort)."""
    n = masks.shape[0]
    cnt = np.zeros(full + 2, dtype=np.int64)
    for i in range(n):
        cnt[masks[i] + 1] += 1
    n_groups = 0
    for v in range(full + 1):
        if cnt[v + 1] > 0:
            n_groups += 1
    gm = np.empty(n_groups, dtype=np.int64)
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    slot = np.empty(full + 1, dtype=np.int64)  # each mask's next position
    g = 0
    for v in range(full + 1):
        if cnt[v + 1] > 0:
            gm[g] = v
            slot[v] = starts[g]
            starts[g + 1] = starts[g] + cnt[v + 1]
            g += 1
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[slot[masks[i]]] = i
        slot[masks[i]] += 1
    return order, starts, gm


@jit()
def _mask_groups(masks, full):
    """Rows grouped by mask: (order, starts, group masks), ``order[starts[g]:starts[g+1]]`` the rows of group g.

    ``full`` is the widest mask (every bit set): below :data:`_DIRECT_MASKS` rows are counted
    into an array indexed by mask (groups in increasing mask order), else hashed (:func:`_mask_ids`)."""
    if full < _DIRECT_MASKS:  # few possible masks: count by mask, groups in increasing mask order
        return _mask_groups_direct(masks, full)
    n = masks.shape[0]
    ids, n_groups = _mask_ids(masks)
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        starts[ids[i] + 1] += 1
    for g in range(n_groups):
        starts[g + 1] += starts[g]
    fill = starts[:n_groups].copy()
    order = np.empty(n, dtype=np.int64)
    gm = np.empty(n_groups, dtype=np.int64)
    for i in range(n):
        g = ids[i]
        order[fill[g]] = i
        fill[g] += 1
        gm[g] = masks[i]
    return order, starts, gm


@jit(parallel=True)
def _line_masses(b1, b2, het, n_words, n_loci, freqs, lines):
    """Listed patient mass each line covers on its own (zero-mismatch rule), by mask compression.

    JIT core of the gains in :func:`hlamatch.bank.rank_candidates`: with g[m] the frequency mass
    of haplotypes whose line-allele mask is m, a line covers ``sum over m1 | m2 = full of
    g[m1] g[m2]`` (ordered pairs) — O(n · n_loci) per line instead of a pass over all pairs.

    Parameters
    ----------
    b1, b2, het, n_words, n_loci, freqs
        As for :func:`_pair_mass_folds`.
    lines : numpy.ndarray
        int64 array of line indices.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (len(lines),).
    """
    n = freqs.shape[0]
    out = np.zeros(lines.shape[0])
    for q in prange(lines.shape[0]):
        masks, full = _line_masks(b1, b2, het, n_words, n_loci, n, lines[q])
        ids, n_groups = _mask_ids(masks)
        gm = np.empty(n_groups, dtype=np.int64)
        gf = np.zeros(n_groups)
        for i in range(n):
            gm[ids[i]] = masks[i]
            gf[ids[i]] += freqs[i]
        s = 0.0
        for g in range(n_groups):
            for h in range(g, n_groups):
                if (gm[g] | gm[h]) == full:
                    s += gf[g] * gf[h] * (1.0 if g == h else 2.0)
        out[q] = s
    return out


@jit()
def _line_groups(b1, b2, het, n_words, n_loci, n, t):
    """Line t's rows grouped by mask (:func:`_line_masks`, :func:`_mask_groups_direct`): (order,
    starts, group masks, full mask, which groups take part in a covered pair — ``gm[g] | gm[h] ==
    full`` for some h —, the number of covered unordered pairs, diagonal included)."""
    masks, full = _line_masks(b1, b2, het, n_words, n_loci, n, t)
    order, starts, gm = _mask_groups_direct(masks, full)
    n_groups = gm.shape[0]
    part = np.zeros(n_groups, dtype=np.bool_)
    pairs = np.int64(0)
    for g in range(n_groups):
        cg = starts[g + 1] - starts[g]
        for h in range(g, n_groups):
            if (gm[g] | gm[h]) == full:
                part[g] = True
                part[h] = True
                ch = starts[h + 1] - starts[h]
                pairs += cg * (cg + 1) // 2 if g == h else cg * ch
    return order, starts, gm, full, part, pairs


@jit(parallel=True)
def _line_sweep_work(b1, b2, het, n_words, n_loci, n_lines):
    """Per line t, the work of :func:`_first_line_mass`: the covered pairs it visits, times the
    words it compares, plus the rows it gathers.  Used to choose between the line sweep and the
    pair loop, and to split the lines into ranges of equal work."""
    n = b1.shape[0] // (n_words * n_loci)
    out = np.zeros(n_lines, dtype=np.int64)
    for t in prange(n_lines):
        order, starts, gm, full, part, pairs = _line_groups(b1, b2, het, n_words, n_loci, n, t)
        rows = np.int64(0)
        for g in range(gm.shape[0]):
            if part[g]:
                rows += starts[g + 1] - starts[g]
        out[t] = (t // 64 + 1) * (pairs + rows * n_loci) + n * n_loci
    return out


@jit()
def _first_line_mass(b1, b2, het, n_words, n_loci, freqs, q, t):
    """Ordered-pair mass of the listed genotypes whose first covering line (lowest index) is t.

    The pairs line t covers are found through its masks (:func:`_line_groups`, at most
    :data:`SWEEP_MASK_BITS` bits): rows are grouped by mask, and only pairs of groups whose masks
    complete each other are visited, so the work is the pairs t covers, not all pairs.  A visited
    pair counts unless a line before t covers it too, tested on the bitsets of the visiting rows,
    gathered group by group and cut to the lines before t.
    """
    n = freqs.shape[0]
    order, starts, gm, full, part, pairs = _line_groups(b1, b2, het, n_words, n_loci, n, t)
    n_groups = gm.shape[0]
    if pairs == 0:
        return 0.0
    # the rows of the groups that take part, group by group (gstart: each group's first position)
    gstart = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        gstart[g + 1] = gstart[g] + (starts[g + 1] - starts[g] if part[g] else 0)
    k = gstart[n_groups]
    rows = np.empty(k, dtype=np.int64)
    for g in range(n_groups):
        if part[g]:
            rows[gstart[g]:gstart[g + 1]] = order[starts[g]:starts[g + 1]]
    nw = t // 64 + 1  # the words that hold lines 0 .. t
    low = (np.uint64(1) << np.uint64(t % 64)) - np.uint64(1)
    g1 = np.empty(nw * n_loci * k, dtype=np.uint64)
    g2 = np.empty(nw * n_loci * k if het else 0, dtype=np.uint64)
    for w in range(nw):
        cut = low if w == nw - 1 else _ALL  # lines before t only
        for l in range(n_loci):
            src = (w * n_loci + l) * n
            dst = (w * n_loci + l) * k
            for r in range(k):
                g1[dst + r] = b1[src + rows[r]] & cut
            if het:
                for r in range(k):
                    g2[dst + r] = b2[src + rows[r]] & cut
    gq = np.empty(k, dtype=np.int64)
    gf = np.empty(k)
    pre = np.zeros(k + 1, dtype=np.int64)
    for r in range(k):
        gq[r] = q[rows[r]]
        gf[r] = freqs[rows[r]]
        pre[r + 1] = pre[r] + gq[r]
    word = np.empty(k, dtype=np.uint64)
    any_ = np.empty(k, dtype=np.uint64)
    earlier = t > 0
    total = 0.0
    for g in range(n_groups):
        if not part[g]:
            continue
        for h in range(g, n_groups):
            if (gm[g] | gm[h]) != full:
                continue
            if g == h:  # pairs within the group (its mask is full), diagonal once
                for a in range(gstart[g], gstart[g + 1]):
                    lo, hi = a, gstart[g + 1]
                    s, covered_aa = np.int64(0), False
                    if earlier:
                        s, covered_aa = _covered_sum(g1, g2, het, nw, n_loci, k, a, lo, hi, gq[lo:hi], word, any_)
                    free = pre[hi] - pre[lo] - s
                    if not covered_aa:
                        free -= gq[a]
                    total += gf[a] * (2.0 * (free * FIXED_UNIT) + (0.0 if covered_aa else gf[a]))
                continue
            # every pair of the two groups, the smaller one outside
            oa, ob, ia, ib = gstart[g], gstart[g + 1], gstart[h], gstart[h + 1]
            if ob - oa > ib - ia:
                oa, ob, ia, ib = ia, ib, oa, ob
            for a in range(oa, ob):
                s = np.int64(0)
                if earlier:
                    s, _ = _covered_sum(g1, g2, het, nw, n_loci, k, a, ia, ib, gq[ia:ib], word, any_)
                total += gf[a] * (2.0 * ((pre[ib] - pre[ia] - s) * FIXED_UNIT))
    return total


@jit(parallel=True)
def _line_sweep(b1, b2, het, n_words, n_loci, freqs, line_start, line_stop):
    """Covered mass of listed patient genotypes, per line: the mass each line covers first.

    The twin of :func:`_pair_mass_folds` for banks whose lines each cover a small share of the
    pairs (the usual case: a line's covered pairs are found through its masks, see
    :func:`_first_line_mass`).  The per-line parts sum to the same covered mass; lines are
    independent, so ranges of lines can run on different workers.

    Returns
    -------
    numpy.ndarray
        float64 (line_stop - line_start,): per line, the mass of genotypes it is the first to cover.
    """
    out = np.zeros(line_stop - line_start)
    q = _fixed_point(freqs)
    for k in prange(line_stop - line_start):
        out[k] = _first_line_mass(b1, b2, het, n_words, n_loci, freqs, q, line_start + k)
    return out


@jit()
def _hits(cover, chosen, n_words):
    """Whether a chosen line is among the covering lines (uint64 words)."""
    for w in range(n_words):
        if cover[w] & chosen[w]:
            return True
    return False


@jit()
def _partner_gains(b1, b2, hom, n_words, n_loci, freqs, chosen, wildcard):
    """Pairings of listed haplotypes with an unlisted chromosome: chosen-covered mass and gains.

    JIT core of the unlisted-mass bounds of rank and plan.  The partner is novel (lower bound)
    or a wildcard (upper bound), as in :func:`_unlisted_partner_mass`.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (64 * n_words + 1,): ``sum_i f_i`` over haplotypes whose pairing
        line t covers and no chosen line does (column t), and over those a chosen line covers
        (last column).
    """
    n = freqs.shape[0]
    n_bits = 64 * n_words
    out = np.zeros(n_bits + 1)
    cover = np.empty(n_words, dtype=np.uint64)
    for i in range(n):
        covered = False
        for w in range(n_words):
            acc = _partner_word(b1, b2, hom, n_loci, n, i, w, wildcard)
            cover[w] = acc
            if acc & chosen[w]:
                covered = True
        if covered:
            out[n_bits] += freqs[i]
        else:
            for w in range(n_words):
                _scatter_bits(cover[w], 64 * w, out, freqs[i])
    return out


@jit()
def _pick_update(b1, b2, het, n_words, n_loci, freqs, chosen, t, gains):
    """Add line t to the bank: subtract the pairs it newly covers from every line's gain.

    JIT core of the greedy step of :func:`hlamatch.bank.plan_bank` (zero-mismatch rule).  Only
    the pairs line t covers are visited: each haplotype gets a mask of the line-t alleles it
    carries (two bits per locus), rows are grouped by mask, and exactly the pairs of groups
    whose masks together hold every bit are enumerated.  A pair that no chosen line covered
    is newly covered; its mass leaves the gain of every line that covers it.

    Parameters
    ----------
    b1, b2, het, n_words, n_loci, freqs
        As for :func:`_gain_folds`.
    chosen : numpy.ndarray
        uint64 (n_words,): lines already in the bank (without t).
    t : int
        The line picked.
    gains : numpy.ndarray
        float64 (64 * n_words + 1,), updated in place (the caller's own scratch array).

    Returns
    -------
    float
        The pair mass line t newly covers.
    """
    n = freqs.shape[0]
    masks, full = _line_masks(b1, b2, het, n_words, n_loci, n, t)
    order, starts, gms = _mask_groups(masks, full)
    n_groups = len(starts) - 1
    cover = np.empty(n_words, dtype=np.uint64)
    newly = 0.0
    for g in range(n_groups):
        for h in range(g, n_groups):
            if (gms[g] | gms[h]) != full:
                continue
            for a in range(starts[g], starts[g + 1]):
                i = order[a]
                b0 = a if h == g else starts[h]
                for b in range(b0, starts[h + 1]):
                    j = order[b]
                    _pair_cover(b1, b2, het, n_words, n_loci, n, i, j, cover)
                    if _hits(cover, chosen, n_words):
                        continue
                    wt = freqs[i] * freqs[j] * (1.0 if i == j else 2.0)
                    newly += wt
                    for w in range(n_words):
                        _scatter_bits(cover[w], 64 * w, gains, -wt)
    return newly


@jit()
def _cover_rows(b1, b2, het, n_words, n_loci, freqs, chosen, count_only, out_cover, out_weight):
    """Pairs no chosen line covers but some line does: their covering lines and mass.

    JIT core of the exact planner (:mod:`hlamatch.optimize` via :func:`hlamatch.bank.plan_bank`).
    With ``count_only`` it returns how many such pairs there are (so the caller can size the
    outputs); otherwise it fills ``out_cover`` (uint64, (n_pairs, n_words)) and ``out_weight``
    (float64, (n_pairs,)) and returns the count.
    """
    n = freqs.shape[0]
    cover = np.empty(n_words, dtype=np.uint64)
    q = 0
    for i in range(n):
        for j in range(i, n):
            if not _pair_cover(b1, b2, het, n_words, n_loci, n, i, j, cover) or _hits(cover, chosen, n_words):
                continue
            if not count_only:
                for w in range(n_words):
                    out_cover[q, w] = cover[w]
                out_weight[q] = freqs[i] * freqs[j] * (1.0 if i == j else 2.0)
            q += 1
    return q


# ---- the same for general match rules (mismatch counts) -------------------------------------


@jit()
def _slot_cover(codes, pnull, s1, s2, lc, ln, chosen, hom2, direction, haplo, limits, k, cover):
    """Set ``cover[t]`` for every line t within the rules for patient slots (s1, s2).

    Returns 1 when a chosen line covers the pair (then ``cover`` is not filled), 0 otherwise.
    """
    for t in range(lc.shape[0]):
        if chosen[t]:
            if _line_count(codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, k + 1) >= 0:
                return 1
    for t in range(lc.shape[0]):
        cover[t] = (not chosen[t]) and _line_count(
            codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, k + 1) >= 0
    return 0


@jit(parallel=True)
def _rule_gain_folds(codes, pnull, freqs, lc, ln, chosen, hom2, direction, haplo, limits, k, n_head, fold_start,
                     fold_stop):
    """Rule-aware twin of :func:`_gain_folds`: chosen-covered mass and every line's gain, per chunk.

    A line covers a patient pair when its mismatch count is at most ``k`` within the per-locus
    ``limits`` (counts as in :func:`_line_count`).  JIT core of
    :func:`hlamatch.bank.rank_candidates` for rules other than zero HvG mismatches.  Only the
    pairs (i, j ≥ i) with i < ``n_head`` are visited (rows most frequent first: a tolerance).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_chunks, n_lines + 1), columns as in :func:`_gain_folds`.
    """
    n = freqs.shape[0]
    n_lines = lc.shape[0]
    n_out = fold_stop - fold_start
    n_chunks = max(1, min(n_out, 64))
    out = np.zeros((n_chunks, n_lines + 1))
    for c in prange(n_chunks):
        cover = np.zeros(n_lines, dtype=np.bool_)
        for kk in range(c * n_out // n_chunks, (c + 1) * n_out // n_chunks):
            i0 = fold_start + kk
            for r in range(2):
                i = i0 if r == 0 else n - 1 - i0
                if r == 1 and i == i0:
                    break
                if i >= n_head:
                    continue
                for j in range(i, n):
                    wt = freqs[i] * freqs[j] * (1.0 if i == j else 2.0)
                    if _slot_cover(codes, pnull, i, j, lc, ln, chosen, hom2, direction, haplo, limits, k, cover):
                        out[c, n_lines] += wt
                    else:
                        for t in range(n_lines):
                            if cover[t]:
                                out[c, t] += wt
    return out


@jit()
def _rule_partner_gains(codes, pnull, freqs, lc, ln, chosen, hom2, direction, haplo, limits, k, partner):
    """Rule-aware twin of :func:`_partner_gains` (partner NOVEL_A or WILDCARD).

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_lines + 1,).
    """
    n_lines = lc.shape[0]
    out = np.zeros(n_lines + 1)
    cover = np.zeros(n_lines, dtype=np.bool_)
    for i in range(freqs.shape[0]):
        if _slot_cover(codes, pnull, i, partner, lc, ln, chosen, hom2, direction, haplo, limits, k, cover):
            out[n_lines] += freqs[i]
        else:
            for t in range(n_lines):
                if cover[t]:
                    out[t] += freqs[i]
    return out


@jit()
def _rule_pick_update(codes, pnull, freqs, lc, ln, chosen, t, hom2, direction, haplo, limits, k, n_head, gains):
    """Rule-aware twin of :func:`_pick_update`: visits every pair (i, j ≥ i), i < ``n_head``,
    and updates ``gains`` in place.

    Returns
    -------
    float
        The pair mass line t newly covers.
    """
    n = freqs.shape[0]
    n_lines = lc.shape[0]
    cover = np.zeros(n_lines, dtype=np.bool_)
    newly = 0.0
    for i in range(n_head):
        for j in range(i, n):
            if _line_count(codes, pnull, i, j, lc, ln, t, hom2, direction, haplo, limits, k + 1) < 0:
                continue
            if _slot_cover(codes, pnull, i, j, lc, ln, chosen, hom2, direction, haplo, limits, k, cover):
                continue
            wt = freqs[i] * freqs[j] * (1.0 if i == j else 2.0)
            newly += wt
            for u in range(n_lines):
                if cover[u]:
                    gains[u] -= wt
    return newly


@jit()
def _rule_cover_rows(codes, pnull, freqs, lc, ln, chosen, hom2, direction, haplo, limits, k, n_head, count_only,
                     out_cover, out_weight):
    """Rule-aware twin of :func:`_cover_rows` (pairs with i < ``n_head``); ``out_cover`` is bool (n_pairs, n_lines)."""
    n = freqs.shape[0]
    n_lines = lc.shape[0]
    cover = np.zeros(n_lines, dtype=np.bool_)
    q = 0
    for i in range(n_head):
        for j in range(i, n):
            if _slot_cover(codes, pnull, i, j, lc, ln, chosen, hom2, direction, haplo, limits, k, cover):
                continue
            hit = False
            for t in range(n_lines):
                if cover[t]:
                    hit = True
                    break
            if not hit:
                continue
            if not count_only:
                for t in range(n_lines):
                    out_cover[q, t] = cover[t]
                out_weight[q] = freqs[i] * freqs[j] * (1.0 if i == j else 2.0)
            q += 1
    return q


# ---------------------------------------------------------------------------------------------
# GvH and bidirectional rules with a missing homozygous allele counting once, on merged rows.
#
# Rows are the classes of :func:`hlamatch.encode.other_classes` (alleles no line carries merged
# into one "other expressed" code).  For a class pair (I, J), O = the loci where both carry the
# other-expressed code.  Every line counts 1 at such a locus when the two original alleles are
# equal and 2 when they differ, the rest is fixed by the class codes: the best count with het
# set H ⊆ O is best_hom(I, J) + |H| (unmatched if some locus of H allows fewer than 2).  The mass
# by |H| is the polynomial sum over S ⊆ O of C_S z^|O\S| (1-z)^|S∩A|, [O\S ⊆ A], where
# C_S[I, J] = mass of pairs equal at every locus of S and A = loci allowing 2 mismatches.
# ---------------------------------------------------------------------------------------------


@jit()
def _popcount(x):
    """Number of set bits of a small non-negative integer (a locus mask)."""
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


@jit()
def _het_poly(o, allow, fij, buf, j, n_loci, coef):
    """Coefficients (``coef[h]``, h = 0 .. n_loci) of the mass of class pair (I, J) by number h of
    loci of ``o`` where the two original alleles differ, h only over loci of ``allow``.

    ``buf[s, j]`` holds C_s[I, J] for the non-empty subsets s of ``o``; ``fij`` is F_I F_J (s = ∅).
    Inclusion–exclusion (module comment above); returns the mass left out (a locus of ``o``
    outside ``allow`` differs: no line is within the limits).
    """
    for h in range(n_loci + 1):
        coef[h] = 0.0
    s = o
    total = 0.0
    while True:
        rest = o & ~s
        if rest & ~allow == 0:
            c = fij if s == 0 else buf[s, j]
            if c != 0.0:
                d = _popcount(rest)
                m = _popcount(s & allow)
                b = 1.0  # binomial(m, q) (-1)^q, built up term by term
                for q in range(m + 1):
                    coef[d + q] += c * b
                    b = -b * (m - q) / (q + 1)
        if s == 0:
            break
        s = (s - 1) & o
    for h in range(n_loci + 1):
        total += coef[h]
    return fij - total


@jit()
def _other_row(i, codes, pnull, freqs, oth, allow, row_ptr, row_grp, row_mass, grp_ptr, grp_cls, grp_mass,
               a1, a2, carried, masks, lc, ln, direction, haplo, limits, buf, coef, hist):
    """Add to ``hist`` the mass of the class pairs (i, j ≥ i) by the best line's mismatch count."""
    n = freqs.shape[0]
    n_loci = codes.shape[1]
    n_bins = hist.shape[0]
    oi = oth[i]
    # C_s[i, j] for every non-empty s ⊆ oth[i]: sum over groups g of A_s[i, g] A_s[j, g]
    s = oi
    while s != 0:
        for j in range(i, n):
            buf[s, j] = 0.0
        for e in range(row_ptr[s, i], row_ptr[s, i + 1]):
            g = row_grp[e]
            a = row_mass[e]
            for f in range(grp_ptr[g], grp_ptr[g + 1]):
                j = grp_cls[f]
                if j >= i:
                    buf[s, j] += a * grp_mass[f]
        s = (s - 1) & oi
    for j in range(i, n):
        wgt = 1.0 if i == j else 2.0
        fij = freqs[i] * freqs[j]
        if haplo:
            best = _pair_best(codes, pnull, i, j, lc, ln, False, direction, True, limits)
        else:
            best = _geno_pair_best(a1, a2, carried, masks, codes, pnull, False, direction, limits, i, j)
        if best < 0:
            hist[n_bins - 1] += wgt * fij
            continue
        o = oi & oth[j]
        if o == 0:
            hist[best] += wgt * fij
            continue
        left = _het_poly(o, allow, fij, buf, j, n_loci, coef)
        for h in range(n_loci + 1):
            if coef[h] != 0.0:
                hist[best + h] += wgt * coef[h]
        hist[n_bins - 1] += wgt * left


@jit(parallel=True)
def _other_merge_folds(codes, pnull, freqs, oth, allow, row_ptr, row_grp, row_mass, grp_ptr, grp_cls, grp_mass,
                       a1, a2, carried, masks, lc, ln, direction, haplo, limits, n_bins, fold_start, fold_stop):
    """Best-line mismatch histogram of listed patients on merged classes (GvH or bidirectional,
    a missing homozygous allele counting once), per fold.

    JIT core of :func:`hlamatch.cover.mismatch_histograms` for those rules; the exact twin of
    :func:`_mismatch_hist_folds` / :func:`_geno_rule_folds` on the full table (module comment
    above).  Folds as in :func:`_pair_mass_folds`; a fixed number of chunks, each with its own
    scratch (``(2^n_loci, n)`` pair sums), so sums do not depend on the thread count.

    Parameters
    ----------
    codes, pnull, freqs : numpy.ndarray
        Classes: int32 (n, n_loci), bool (n, n_loci), float64 (n,).
    oth : numpy.ndarray
        int64 (n,): bit l set where the class has the other-expressed code at locus l.
    allow : int
        Bit l set where locus l allows 2 mismatches.
    row_ptr, row_grp, row_mass, grp_ptr, grp_cls, grp_mass : numpy.ndarray
        For each locus subset s, the class × group masses A_s (see
        :func:`hlamatch.encode.other_classes`): by class (``row_ptr`` int64 (2^n_loci, n + 1))
        and by group (``grp_ptr`` int64 (n_groups + 1,), classes ascending).
    a1, a2, carried, masks : numpy.ndarray
        :func:`hlamatch.encode.rule_bitsets` of the classes (genotype level).
    lc, ln : numpy.ndarray
        Line codes and null flags (haplotype level).
    direction : int
        1 GvH, 2 bidirectional.
    haplo : bool
    limits : numpy.ndarray
        int64 (n_loci,).
    n_bins : int
    fold_start, fold_stop : int

    Returns
    -------
    numpy.ndarray
        float64 (fold_stop - fold_start, n_bins): ordered-pair mass per bin.
    """
    n = freqs.shape[0]
    n_loci = codes.shape[1]
    n_out = fold_stop - fold_start
    out = np.zeros((n_out, n_bins))
    n_chunks = min(n_out, 64)
    for c in prange(n_chunks):
        buf = np.zeros((1 << n_loci, n))
        coef = np.zeros(n_loci + 1)
        for k in range(c * n_out // n_chunks, (c + 1) * n_out // n_chunks):
            i0 = fold_start + k
            for r in range(2):
                i = i0 if r == 0 else n - 1 - i0
                if r == 1 and i == i0:
                    break
                _other_row(i, codes, pnull, freqs, oth, allow, row_ptr, row_grp, row_mass, grp_ptr, grp_cls,
                           grp_mass, a1, a2, carried, masks, lc, ln, direction, haplo, limits, buf, coef, out[k])
    return out
