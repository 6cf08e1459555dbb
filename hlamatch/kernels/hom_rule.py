"""The bit-sliced rule kernel for homozygous HvG banks: mismatch histograms and planning gains."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit, prange
from hlamatch.kernels.common import _ALL, HOM_BLOCK, _scatter_bits

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
        col = b[base + lo : base + je]
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
def _hom_block(b, n_words, n_loci, req, wmask, freqs, i, jb, je, step, n_bins, s0, s1, s2, s3, valid, best, hist):
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
def _hom_chunk(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, first, k0, k1, folded, stops, out):
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
                _hom_block(
                    b, n_words, n_loci, req, wmask, freqs, i, jb, ie, step, n_bins, s0, s1, s2, s3, valid, best, out[k]
                )
            i2 = np.int64(n - 1) - i
            if folded and i2 != i and i2 < n_open:
                _hom_block(
                    b, n_words, n_loci, req, wmask, freqs, i2, jb, je, step, n_bins, s0, s1, s2, s3, valid, best, out[k]
                )


@jit(parallel=True)
def hom_rule_folds(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, fold_start, fold_stop):
    """Best-line HvG mismatch histogram of listed patient genotypes (homozygous lines, genotype
    level), per fold: the same histogram as :func:`geno_rule_folds` for such banks.

    Returns
    -------
    numpy.ndarray
        float64 (fold_stop - fold_start, n_bins): ordered-pair mass per bin.
    """
    n_out = fold_stop - fold_start
    out = np.zeros((n_out, n_bins))
    n_chunks = min(n_out, 64)
    for c in prange(n_chunks):
        _hom_chunk(
            b,
            n_words,
            n_loci,
            req,
            wmask,
            n_open,
            tails,
            freqs,
            step,
            n_bins,
            fold_start,
            c * n_out // n_chunks,
            (c + 1) * n_out // n_chunks,
            True,
            np.zeros(0, dtype=np.int64),
            out,
        )
    return out


@jit(parallel=True)
def hom_rule_rows(b, n_words, n_loci, req, wmask, n_open, tails, freqs, step, n_bins, stops, row_start, row_stop):
    """Row-ordered twin of :func:`hom_rule_folds` for tolerance-bounded runs (open rows only, the
    columns of each below ``stops``, from :func:`hlamatch.engine.ranges.stair_stops`).

    Returns
    -------
    numpy.ndarray
        float64 (row_stop - row_start, n_bins).
    """
    n_out = row_stop - row_start
    out = np.zeros((n_out, n_bins))
    n_chunks = min(n_out, 64)
    for c in prange(n_chunks):
        _hom_chunk(
            b,
            n_words,
            n_loci,
            req,
            wmask,
            n_open,
            tails,
            freqs,
            step,
            n_bins,
            row_start,
            c * n_out // n_chunks,
            (c + 1) * n_out // n_chunks,
            False,
            stops,
            out,
        )
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
                    _hom_ok_words(
                        b, n_words, n_loci, req, wmask, cstar, i, lo, je, tw, tw + 1, s0, s1, s2, s3, valid, okw
                    )
                    any_t = False
                    for j in range(m):
                        if okw[tw * HOM_BLOCK + j] & tbit:
                            any_t = True
                            break
                    if not any_t:
                        continue
                    _hom_ok_words(b, n_words, n_loci, req, wmask, cstar, i, lo, je, 0, tw, s0, s1, s2, s3, valid, okw)
                    _hom_ok_words(
                        b, n_words, n_loci, req, wmask, cstar, i, lo, je, tw + 1, n_words, s0, s1, s2, s3, valid, okw
                    )
                else:
                    _hom_ok_words(
                        b, n_words, n_loci, req, wmask, cstar, i, lo, je, 0, n_words, s0, s1, s2, s3, valid, okw
                    )
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
def hom_gain_folds(b, n_words, n_loci, req, wmask, cstar, chosen, t, n_head, freqs, n_lines, fold_start, fold_stop):
    """Gains of every line (``t < 0``) or the pick update of line t (``t >= 0``) under an HvG rule
    with homozygous lines at genotype level, per chunk of folds: the bit-plane twin of
    :func:`rule_gain_folds` / :func:`rule_pick_update` (see :func:`_hom_gain_chunk`).

    Returns
    -------
    numpy.ndarray
        float64 (n_chunks, n_lines + 1).
    """
    n_out = fold_stop - fold_start
    n_chunks = max(1, min(n_out, 64))
    out = np.zeros((n_chunks, n_lines + 1))
    for c in prange(n_chunks):
        _hom_gain_chunk(
            b,
            n_words,
            n_loci,
            req,
            wmask,
            cstar,
            chosen,
            t,
            n_head,
            freqs,
            fold_start,
            c * n_out // n_chunks,
            (c + 1) * n_out // n_chunks,
            out[c],
        )
    return out
