"""NumPy twins of the general-rule kernels on merged classes (:mod:`hlamatch.kernels.rules` and
:mod:`hlamatch.kernels.other_merge`), for small problems.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["pair_best", "other_merge_histograms"]

# ---- general rules on merged classes (GvH / bidirectional, a missing homozygous allele counting once)


def _absent(da, dna, db, dnb, pa, pna, pb, pnb, hom2: bool) -> np.ndarray:
    """Vectorised :func:`hlamatch.kernels.rules._absent_count` (int8, broadcast shape)."""
    ea, eb = ~dna, ~dnb
    ma = (da != pa) & (da != pb)
    mb = (db != pa) & (db != pb)
    single = np.where(ea & eb, 2, np.where(pna | pnb, 1, 2)) if hom2 else 1
    out = np.where(ea & eb & (da != db), ma.astype(np.int8) + mb, np.where(np.where(ea, ma, mb), single, 0))
    return np.where(ea | eb, out, 0).astype(np.int8)


def _phased(da, dna, db, dnb, qa, qna, qb, qnb, hom2: bool) -> np.ndarray:
    """Vectorised :func:`hlamatch.kernels.rules._phased_count` (int8, broadcast shape)."""
    ea, eb = ~dna, ~dnb
    ma = ea & (da != qa)
    mb = eb & (db != qb)
    both = np.where(da == db, np.where(ma & mb, 2 if hom2 else 1, ma | mb), ma.astype(np.int8) + mb)
    one_a = np.where(ma, np.where(~qnb, 2, 1), 0) if hom2 else ma
    one_b = np.where(mb, np.where(~qna, 2, 1), 0) if hom2 else mb
    return np.where(ea & eb, both, np.where(ea, one_a, np.where(eb, one_b, 0))).astype(np.int8)


#: A per-locus count above the locus's limit (no line with it is within the limits).
_OVER = 1000


def _combos(direction: int, haplo: bool, hom_line: bool) -> list[tuple[int, int]]:
    """Phase assignments (sigma: donor copies → patient haplotypes, tau: patient copies → donor
    copies) that :func:`hlamatch.kernels.line_count` tries; a homozygous line needs fewer."""
    sigmas = (0, 1, 3) if hom_line else (0, 1, 2, 3)
    return [
        (sg, ta)
        for sg in (sigmas if haplo and direction != 1 else (0,))
        for ta in ((0, 1, 2, 3) if haplo and direction != 0 and not hom_line else (0,))
    ]


def _locus_table(side1, side2, d1, e1, d2, e2, hom2: bool, direction: int, haplo: bool, combos) -> np.ndarray:
    """Counts at one locus: int16 (n_combos, n_lines, S1, S2) for every pair of patient allele states.

    ``side`` = (codes (S,), nulls (S,), wildcard): a wildcard side takes, per line, whichever line
    allele gives the fewest mismatches (the minimum is per locus, as in the kernel).
    """
    d1, e1, d2, e2 = (x[:, None, None] for x in (d1, e1, d2, e2))

    def cands(side, axis):
        codes, nulls, wild = side
        if wild:
            return [(d1, e1), (d2, e2)]
        shape = (1, -1, 1) if axis == 1 else (1, 1, -1)
        return [(codes.reshape(shape), nulls.reshape(shape))]

    out = []
    for sg, ta in combos:
        c: np.ndarray | None = None
        for a, an in cands(side1, 1):
            for b, bn in cands(side2, 2):
                hv: int | np.ndarray = 0
                gv: int | np.ndarray = 0
                if haplo:
                    if direction != 1:
                        qa, qna = (a, an) if sg & 1 == 0 else (b, bn)
                        qb, qnb = (a, an) if sg & 2 == 0 else (b, bn)
                        hv = _phased(d1, e1, d2, e2, qa, qna, qb, qnb, hom2)
                    if direction != 0:
                        ra, rna = (d1, e1) if ta & 1 == 0 else (d2, e2)
                        rb, rnb = (d1, e1) if ta & 2 == 0 else (d2, e2)
                        gv = _phased(a, an, b, bn, ra, rna, rb, rnb, hom2)
                else:
                    if direction != 1:
                        hv = _absent(d1, e1, d2, e2, a, an, b, bn, hom2)
                    if direction != 0:
                        gv = _absent(a, an, b, bn, d1, e1, d2, e2, hom2)
                cc = np.broadcast_to(
                    hv if direction == 0 else gv if direction == 1 else np.maximum(hv, gv),
                    (d1.shape[0], len(side1[0]), len(side2[0])),
                )
                c = cc if c is None else np.minimum(c, cc)
        assert c is not None  # cands() is never empty
        out.append(c.astype(np.int16))
    return np.stack(out)


def pair_best(
    side1: list,
    idx1: np.ndarray,
    side2: list,
    idx2: np.ndarray,
    lc: np.ndarray,
    ln: np.ndarray,
    hom2: bool,
    direction: int,
    haplo: bool,
    limits: np.ndarray,
) -> np.ndarray:
    """Best line's mismatch count for each patient; -1 where no line is within the limits.

    The NumPy twin of :func:`hlamatch.kernels.pair_best`, over P patients at once.  A patient's
    haplotypes are given per locus as states: ``side1[l] = (codes, nulls, wildcard)`` (int (S,),
    bool (S,), bool: the distinct (allele, null) of haplotype 1 at locus l; negative codes are
    novel alleles) and ``idx1`` int (P, n_loci) the state of each patient; ``side2``, ``idx2``
    likewise.  Per locus the counts of every state pair and line are tabulated once, then each
    patient's total is a sum of gathers.

    Returns
    -------
    numpy.ndarray
        int64 (P,).
    """
    n_pat, n_loci = idx1.shape
    hom_line = (lc[:, 0] == lc[:, 1]).all(axis=1) & (ln[:, 0] == ln[:, 1]).all(axis=1)
    best = np.full(n_pat, _OVER, dtype=np.int64)
    for hom in (True, False):
        group = hom_line == hom
        if not group.any():
            continue
        combos = _combos(direction, haplo, hom)
        lcg, lng = lc[group], ln[group]
        total = np.zeros((len(combos), int(group.sum()), n_pat), dtype=np.int16)
        for l in range(n_loci):
            tab = _locus_table(
                side1[l],
                side2[l],
                lcg[:, 0, l],
                lng[:, 0, l],
                lcg[:, 1, l],
                lng[:, 1, l],
                hom2,
                direction,
                haplo,
                combos,
            )
            tab = np.where(tab > limits[l], _OVER, tab)
            s2 = tab.shape[3]
            total += tab.reshape(tab.shape[0], tab.shape[1], -1)[:, :, idx1[:, l] * s2 + idx2[:, l]]
        np.minimum(best, total.min(axis=(0, 1)), out=best)
    return np.where(best >= _OVER, -1, best)


def _states(codes: np.ndarray, nulls: np.ndarray) -> tuple[list, np.ndarray]:
    """Per locus, the distinct (allele, null) states of ``codes`` and each row's state: (sides, idx)."""
    sides, idx = [], np.empty(codes.shape, dtype=np.int64)
    for l in range(codes.shape[1]):
        key, idx[:, l] = np.unique(codes[:, l].astype(np.int64) * 2 + nulls[:, l], return_inverse=True)
        sides.append((key // 2, (key % 2).astype(np.bool_), False))
    return sides, idx


def other_merge_histograms(
    codes: np.ndarray,
    nulls: np.ndarray,
    f: np.ndarray,
    oth: np.ndarray,
    row_ptr: np.ndarray,
    row_grp: np.ndarray,
    row_mass: np.ndarray,
    lc: np.ndarray,
    ln: np.ndarray,
    direction: int,
    haplo: bool,
    limits: np.ndarray,
    allow: int,
    n_bins: int,
    unlisted: float,
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`hlamatch.kernels.other_merge_folds` plus the unlisted-mass terms of
    :func:`hlamatch.compute.rule_bounds.mismatch_histograms`: (lower, upper) histograms.

    ``codes`` … ``row_mass`` are those of :func:`hlamatch.compute.encode.other_classes`; ``allow``
    has bit l set where locus l allows 2 mismatches.
    """
    m, n_loci = codes.shape
    bits = np.arange(1 << n_loci)
    pc = np.array([bin(x).count("1") for x in bits], dtype=np.int64)
    i, j = np.triu_indices(m)
    sides, idx = _states(codes, nulls)
    best = pair_best(sides, idx[i], sides, idx[j], lc, ln, False, direction, haplo, limits)
    wf = np.where(i == j, 1.0, 2.0)
    fij = f[i] * f[j]
    hist = np.zeros(n_bins)
    hist[n_bins - 1] += math.fsum(wf[best < 0] * fij[best < 0])
    keep = best >= 0
    i, j, best, wf, fij = i[keep], j[keep], best[keep], wf[keep], fij[keep]
    o = oth[i] & oth[j]
    coef = np.zeros((i.shape[0], n_loci + 1))
    for s in range(1 << n_loci):
        sel = np.flatnonzero((o & s == s) & (o & ~s & ~allow == 0))
        lo, hi = row_ptr[s, 0], row_ptr[s, m]
        if sel.size == 0 or (s and lo == hi):
            continue
        if s == 0:
            c = fij[sel]
        else:  # C_s = A_s A_s^T on the pairs that need it
            g = row_grp[lo:hi] - row_grp[lo:hi].min()
            a = np.zeros((m, int(g.max()) + 1))
            np.add.at(a, (np.repeat(np.arange(m), np.diff(row_ptr[s])), g), row_mass[lo:hi])
            c = np.einsum("pg,pg->p", a[i[sel]], a[j[sel]])
        d = pc[o[sel] & ~s]
        k = int(pc[s & allow])
        b = 1.0
        for q in range(k + 1):
            coef[sel, d + q] += c * b
            b = -b * (k - q) / (q + 1)
    h = np.arange(n_loci + 1)
    use = h[None, :] <= pc[o][:, None]
    hist += np.bincount((best[:, None] + h[None, :])[use], weights=(wf[:, None] * coef)[use], minlength=n_bins)
    hist[n_bins - 1] += math.fsum(wf * (fij - coef.sum(axis=1)))
    hist = np.maximum(hist, 0.0)  # inclusion–exclusion leaves ~1e-19 of rounding in empty bins
    lo_hist, hi_hist = hist.copy(), hist.copy()
    if unlisted > 0:
        zero = np.zeros((m, n_loci), dtype=np.int64)
        args = (lc, ln, False, direction, haplo, limits)
        for out, wild in ((lo_hist, False), (hi_hist, True)):
            partner = [(np.array([-1]), np.zeros(1, np.bool_), wild)] * n_loci
            pb = pair_best(sides, idx, partner, zero, *args)
            out += 2.0 * unlisted * np.bincount(np.where(pb < 0, n_bins - 1, pb), weights=f, minlength=n_bins)
            other = [(np.array([-2]), np.zeros(1, np.bool_), wild)] * n_loci
            b2 = pair_best(partner, zero[:1], other, zero[:1], *args)[0]
            out[n_bins - 1 if b2 < 0 else b2] += unlisted * unlisted
    return lo_hist, hi_hist
