"""The general rule kernel: best-line mismatch counts per patient pair, histograms, typings."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit, prange
from hlamatch.kernels.common import WILDCARD


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
def line_count(codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, cap):
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
def pair_best(codes, pnull, s1, s2, lc, ln, hom2, direction, haplo, limits):
    """Fewest mismatches over all lines for patient slots (s1, s2); -1 when no line meets the limits.

    JIT core of the rule-aware coverage in :func:`hlamatch.api.coverage.coverage`; also callable for
    the pseudo-slot pairs of unlisted mass.
    """
    best = -1
    for t in range(lc.shape[0]):
        c = line_count(codes, pnull, s1, s2, lc, ln, t, hom2, direction, haplo, limits, best)
        if c >= 0 and (best < 0 or c < best):
            best = c
            if best == 0:
                break
    return best


@jit(parallel=True)
def mismatch_hist_folds(codes, pnull, freqs, lc, ln, hom2, direction, haplo, limits, n_bins, fold_start, fold_stop):
    """Distribution of the best line's mismatch count over listed patient genotypes, per fold.

    JIT core of :func:`hlamatch.api.coverage.coverage` for general rules.  Folds as in
    :func:`pair_mass_folds` (rows k and n-1-k): deterministic for any thread count.

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
                b = pair_best(codes, pnull, i, j, lc, ln, hom2, direction, haplo, limits)
                w = freqs[i] * freqs[j] * (1.0 if i == j else 2.0)
                out[k, n_bins - 1 if b < 0 else b] += w
    return out


@jit()
def mismatch_hist_partner(codes, pnull, freqs, lc, ln, hom2, direction, haplo, limits, n_bins, partner):
    """Histogram of ``sum_i f_i`` by best mismatch count of (i, partner pseudo-slot).

    JIT core of the unlisted-mass bounds for general rules.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (n_bins,).
    """
    out = np.zeros(n_bins)
    for i in range(freqs.shape[0]):
        b = pair_best(codes, pnull, i, partner, lc, ln, hom2, direction, haplo, limits)
        out[n_bins - 1 if b < 0 else b] += freqs[i]
    return out


@jit(parallel=True)
def typing_counts(pcodes, pnull, lc, ln, hom2, direction):
    """Per-locus mismatch counts of every patient typing against every line (genotype level).

    JIT core of :func:`hlamatch.api.match.match_patients`.

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
