"""Numba kernels: NumPy arrays in, arrays or scalars out.  No polars, no I/O, no messages.

These are the JIT cores behind :func:`hlamatch.api.coverage.coverage`.  They are internal: call
the public wrappers, which validate inputs and normalise dtypes so that each kernel compiles
once (``uint64`` bitsets, ``int32`` codes, ``float64`` frequencies, C-contiguous).

Bitset encoding (zero-mismatch rule, built by :mod:`hlamatch.compute.encode`)
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

from hlamatch._jit import jit, prange
from hlamatch.kernels.common import _popcount
from hlamatch.kernels.geno_rule import _geno_pair_best
from hlamatch.kernels.rules import pair_best


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
def _other_row(
    i,
    codes,
    pnull,
    freqs,
    oth,
    allow,
    row_ptr,
    row_grp,
    row_mass,
    grp_ptr,
    grp_cls,
    grp_mass,
    a1,
    a2,
    carried,
    masks,
    lc,
    ln,
    direction,
    haplo,
    limits,
    buf,
    coef,
    hist,
):
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
            best = pair_best(codes, pnull, i, j, lc, ln, False, direction, True, limits)
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
def other_merge_folds(
    codes,
    pnull,
    freqs,
    oth,
    allow,
    row_ptr,
    row_grp,
    row_mass,
    grp_ptr,
    grp_cls,
    grp_mass,
    a1,
    a2,
    carried,
    masks,
    lc,
    ln,
    direction,
    haplo,
    limits,
    n_bins,
    fold_start,
    fold_stop,
):
    """Best-line mismatch histogram of listed patients on merged classes (GvH or bidirectional,
    a missing homozygous allele counting once), per fold.

    JIT core of :func:`hlamatch.compute.rule_bounds.mismatch_histograms` for those rules; the exact twin of
    :func:`mismatch_hist_folds` / :func:`geno_rule_folds` on the full table (module comment
    above).  Folds as in :func:`pair_mass_folds`; a fixed number of chunks, each with its own
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
        :func:`hlamatch.compute.encode.other_classes`): by class (``row_ptr`` int64 (2^n_loci, n + 1))
        and by group (``grp_ptr`` int64 (n_groups + 1,), classes ascending).
    a1, a2, carried, masks : numpy.ndarray
        :func:`hlamatch.compute.encode.rule_bitsets` of the classes (genotype level).
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
                _other_row(
                    i,
                    codes,
                    pnull,
                    freqs,
                    oth,
                    allow,
                    row_ptr,
                    row_grp,
                    row_mass,
                    grp_ptr,
                    grp_cls,
                    grp_mass,
                    a1,
                    a2,
                    carried,
                    masks,
                    lc,
                    ln,
                    direction,
                    haplo,
                    limits,
                    buf,
                    coef,
                    out[k],
                )
    return out
