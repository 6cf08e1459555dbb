"""The zero-mismatch line sweep: per line only the pairs it covers, each counted for its first covering line."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit, prange
from hlamatch.kernels.common import _ALL, FIXED_UNIT, _fixed_point
from hlamatch.kernels.grouping import _mask_groups_direct
from hlamatch.kernels.pairs import _covered_sum


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
        c1 = b1[off : off + n]
        s1 = np.uint64(per * l)
        for i in range(n):  # branch-free: LLVM vectorises it
            masks[i] |= np.int64(((c1[i] >> shift) & one) << s1)
        if het:
            c2 = b2[off : off + n]
            s2 = np.uint64(2 * l + 1)
            for i in range(n):
                masks[i] |= np.int64(((c2[i] >> shift) & one) << s2)
    full = (np.int64(1) << np.int64(per * n_loci)) - 1
    return masks, full


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
def line_sweep_work(b1, b2, het, n_words, n_loci, n_lines):
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
            rows[gstart[g] : gstart[g + 1]] = order[starts[g] : starts[g + 1]]
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
def line_sweep(b1, b2, het, n_words, n_loci, freqs, line_start, line_stop):
    """Covered mass of listed patient genotypes, per line: the mass each line covers first.

    The twin of :func:`pair_mass_folds` for banks whose lines each cover a small share of the
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
