"""The genotype-level rule kernel on line-allele bitsets (HvG, GvH and bidirectional)."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit, prange


@jit(inline=True)
def _geno_pair_best(a1, a2, carried, masks, codes, pnull, hom2, direction, limits, i, j):
    """Best line's mismatch count of rows (i, j) at genotype level; -1: no line within the limits.

    Bit-sliced over lines (bitsets of :func:`hlamatch.compute.encode.rule_bitsets`): at each locus a
    line's count (0, 1 or 2) is two bit planes, totals are five bit planes added with ripple
    carries, and the best total is the bit-sliced minimum over the lines within the per-locus
    limits.  The pair body of :func:`_geno_rule_row` and of
    :func:`hlamatch.kernels.other_merge._other_row`, inlined into them (``jit(inline=True)``: a call
    per pair would cost more than its work).
    """
    n_loci = codes.shape[1]
    n_words = masks.shape[2]
    best = -1
    w = 0
    # A while loop, not a break at best 0: an early exit from the loop would release the arrays
    # there, and numba would keep their reference counts (atomic) in the callers' pair loops.
    while best != 0 and w < n_words:
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
        w += 1
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
    return best


@jit()
def _geno_rule_row(a1, a2, carried, masks, codes, pnull, freqs, hom2, direction, limits, i, j_stop, hist):
    """Add to ``hist`` the mass of pairs (i, j ≥ i), j < ``j_stop``, by the best line's mismatch count
    (genotype level, :func:`_geno_pair_best`).
    """
    n_bins = hist.shape[0]
    fi = freqs[i]
    for j in range(i, j_stop):
        best = _geno_pair_best(a1, a2, carried, masks, codes, pnull, hom2, direction, limits, i, j)
        hist[n_bins - 1 if best < 0 else best] += fi * freqs[j] * (1.0 if i == j else 2.0)


@jit(parallel=True)
def geno_rule_folds(
    a1, a2, carried, masks, codes, pnull, n_open, tails, freqs, hom2, direction, limits, n_bins, fold_start, fold_stop
):
    """Best-line mismatch histogram of listed patient genotypes at genotype level, per fold.

    The bit-sliced equivalent of :func:`mismatch_hist_folds` with ``haplo=False`` (same
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
            _geno_rule_row(a1, a2, carried, masks, codes, pnull, freqs, hom2, direction, limits, i, n_open, out[k])
    return out


@jit(parallel=True)
def geno_rule_rows(
    a1,
    a2,
    carried,
    masks,
    codes,
    pnull,
    n_open,
    tails,
    freqs,
    hom2,
    direction,
    limits,
    n_bins,
    stops,
    row_start,
    row_stop,
):
    """Histogram of the pairs (i, i ≤ j < stops[i]) of open rows ``row_start .. row_stop`` (< ``n_open``),
    and of their pairs with the settled rows; the row-ordered twin of :func:`geno_rule_folds`.

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
        _geno_rule_row(a1, a2, carried, masks, codes, pnull, freqs, hom2, direction, limits, i, stops[i], out[k])
    return out
