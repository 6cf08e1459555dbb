"""Per-line kernels of planning: line masses, a pick's update, partner gains, covered rows (zero mismatch and rules)."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit, prange
from hlamatch.kernels.common import _scatter_bits
from hlamatch.kernels.grouping import _mask_groups, _mask_ids
from hlamatch.kernels.pairs import _partner_word
from hlamatch.kernels.rules import line_count
from hlamatch.kernels.sweep import _line_masks, _pair_cover


@jit(parallel=True)
def line_masses(b1, b2, het, n_words, n_loci, freqs, lines):
    """Listed patient mass each line covers on its own (zero-mismatch rule), by mask compression.

    JIT core of the gains in :func:`hlamatch.api.planning.rank_candidates`: with g[m] the frequency mass
    of haplotypes whose line-allele mask is m, a line covers ``sum over m1 | m2 = full of
    g[m1] g[m2]`` (ordered pairs) — O(n · n_loci) per line instead of a pass over all pairs.

    Parameters
    ----------
    b1, b2, het, n_words, n_loci, freqs
        As for :func:`pair_mass_folds`.
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
def _hits(cover, chosen, n_words):
    """Whether a chosen line is among the covering lines (uint64 words)."""
    for w in range(n_words):
        if cover[w] & chosen[w]:
            return True
    return False


@jit()
def partner_gains(b1, b2, hom, n_words, n_loci, freqs, chosen, wildcard):
    """Pairings of listed haplotypes with an unlisted chromosome: chosen-covered mass and gains.

    JIT core of the unlisted-mass bounds of rank and plan.  The partner is novel (lower bound)
    or a wildcard (upper bound), as in :func:`unlisted_partner_mass`.

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
def pick_update(b1, b2, het, n_words, n_loci, freqs, chosen, t, gains):
    """Add line t to the bank: subtract the pairs it newly covers from every line's gain.

    JIT core of the greedy step of :func:`hlamatch.api.planning.plan_bank` (zero-mismatch rule).  Only
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
def cover_rows(b1, b2, het, n_words, n_loci, freqs, chosen, count_only, out_cover, out_weight):
    """Pairs no chosen line covers but some line does: their covering lines and mass.

    JIT core of the exact planner (:mod:`hlamatch.compute.optimize` via :func:`hlamatch.api.planning.plan_bank`).
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


@jit()
def sampled_cover_count(b1, b2, het, n_words, n_loci, n, chosen, rows_i, rows_j):
    """How many of the pairs (rows_i[s], rows_j[s]) :func:`cover_rows` would count (some line
    covers the pair, no chosen line does): a sample that estimates its count before the full pass."""
    cover = np.empty(n_words, dtype=np.uint64)
    q = 0
    for s in range(rows_i.shape[0]):
        if _pair_cover(b1, b2, het, n_words, n_loci, n, rows_i[s], rows_j[s], cover) and not _hits(
            cover, chosen, n_words
        ):
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
            if line_count(codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, k + 1) >= 0:
                return 1
    for t in range(lc.shape[0]):
        cover[t] = (not chosen[t]) and line_count(
            codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, k + 1
        ) >= 0
    return 0


@jit(parallel=True)
def rule_gain_folds(
    codes, pnull, freqs, lc, ln, chosen, hom2, direction, haplo, limits, k, n_head, fold_start, fold_stop
):
    """Rule-aware twin of :func:`_gain_folds`: chosen-covered mass and every line's gain, per chunk.

    A line covers a patient pair when its mismatch count is at most ``k`` within the per-locus
    ``limits`` (counts as in :func:`line_count`).  JIT core of
    :func:`hlamatch.api.planning.rank_candidates` for rules other than zero HvG mismatches.  Only the
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
def rule_partner_gains(codes, pnull, freqs, lc, ln, chosen, hom2, direction, haplo, limits, k, partner):
    """Rule-aware twin of :func:`partner_gains` (partner NOVEL_A or WILDCARD).

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
def rule_pick_update(codes, pnull, freqs, lc, ln, chosen, t, hom2, direction, haplo, limits, k, n_head, gains):
    """Rule-aware twin of :func:`pick_update`: visits every pair (i, j ≥ i), i < ``n_head``,
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
            if line_count(codes, pnull, i, j, lc, ln, t, hom2, direction, haplo, limits, k + 1) < 0:
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
def rule_cover_rows(
    codes, pnull, freqs, lc, ln, chosen, hom2, direction, haplo, limits, k, n_head, count_only, out_cover, out_weight
):
    """Rule-aware twin of :func:`cover_rows` (pairs with i < ``n_head``); ``out_cover`` is bool (n_pairs, n_lines)."""
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
