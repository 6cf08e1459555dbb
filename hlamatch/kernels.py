"""Numba kernels: NumPy arrays in, arrays or scalars out.  No polars, no I/O, no messages.

These are the JIT cores behind :func:`hlamatch.cover.coverage`.  They are internal: call
the public wrappers, which validate inputs and normalise dtypes so that each kernel compiles
once (``uint64`` bitsets, ``int32`` codes, ``float64`` frequencies, C-contiguous).

Bitset encoding (zero-mismatch rule, built by :mod:`hlamatch.encode`)
--------------------------------------------------------------------
For patient haplotype ``i``, locus ``l`` and 64-line word ``w``, bit ``t`` of ``b1[i, l, w]``
is set when ``i[l]`` equals allele 1 of line ``t`` at ``l``; ``b2`` likewise for allele 2.  A
pair of chromosomes ``(i, j)`` carries every HvG antigen of line ``t`` iff, at every locus,
both line alleles are among the pair's alleles::

    AND_l (b1[i,l] | b1[j,l]) & (b2[i,l] | b2[j,l])   has bit t set.

Haplotype-level matching is the same test on one pseudo-locus whose "allele" is the whole
haplotype.  Inputs are read-only views: kernels never write to them.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit, prange

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@jit()
def _pair_covered(b1, b2, i, j):
    """True if chromosome pair (i, j) is covered by some line (bitsets of shape (n, L, W))."""
    n_loci = b1.shape[1]
    for w in range(b1.shape[2]):
        acc = _ALL
        for l in range(n_loci):
            acc &= (b1[i, l, w] | b1[j, l, w]) & (b2[i, l, w] | b2[j, l, w])
            if acc == 0:
                break
        if acc != 0:
            return True
    return False


@jit()
def _row_mass(b1, b2, freqs, i):
    """Ordered-pair mass covered with first chromosome i, counting j < i through symmetry."""
    n = freqs.shape[0]
    s = 0.0
    for j in range(i + 1, n):
        if _pair_covered(b1, b2, i, j):
            s += freqs[j]
    s *= 2.0
    if _pair_covered(b1, b2, i, i):
        s += freqs[i]
    return freqs[i] * s


@jit(parallel=True)
def _pair_mass_folds(b1, b2, freqs, fold_start, fold_stop):
    """Covered mass of listed patient genotypes, per fold of rows.

    JIT core of :func:`hlamatch.cover.coverage` (genotype and haplotype level).  Fold ``k``
    holds rows ``k`` and ``n - 1 - k`` so that every fold has about ``n`` pairs of work: the
    triangular loop is balanced across threads, and the split does not depend on the number
    of threads, so results are bit-identical for any ``NUMBA_NUM_THREADS``.  Folds are
    independent: ranges of folds can run on different workers and be summed.

    Parameters
    ----------
    b1, b2 : numpy.ndarray
        uint64 arrays of shape (n, n_loci, n_words): line-allele bitsets per haplotype.
    freqs : numpy.ndarray
        float64 array of shape (n,): haplotype frequencies.
    fold_start, fold_stop : int
        Range of folds to compute, within ``[0, (n + 1) // 2]``.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (fold_stop - fold_start,): covered ordered-pair mass per fold
        (sum over ``j`` of ``f_i f_j [pair covered]`` for the fold's rows ``i``).
    """
    n = freqs.shape[0]
    out = np.zeros(fold_stop - fold_start)
    for k in prange(fold_stop - fold_start):
        i = fold_start + k
        s = _row_mass(b1, b2, freqs, i)
        i2 = n - 1 - i
        if i2 != i:
            s += _row_mass(b1, b2, freqs, i2)
        out[k] = s
    return out


@jit()
def _unlisted_partner_mass(b1, b2, hom, freqs, wildcard):
    """Mass of listed haplotypes i whose pairing with an unlisted chromosome is covered.

    JIT core of the unlisted-mass bounds in :func:`hlamatch.cover.coverage`.  The unlisted
    chromosome is either *novel* (``wildcard=False``: it carries no line allele; lower bound)
    or a *wildcard* (``wildcard=True``: at each locus it carries whichever line allele helps;
    upper bound).  With a wildcard partner, line ``t`` is satisfied at locus ``l`` when it is
    homozygous there or ``i`` carries one of its two alleles.

    Parameters
    ----------
    b1, b2 : numpy.ndarray
        uint64 arrays of shape (n, n_loci, n_words).
    hom : numpy.ndarray
        uint64 array of shape (n_loci, n_words): lines homozygous at each locus.
    freqs : numpy.ndarray
        float64 array of shape (n,).
    wildcard : bool

    Returns
    -------
    float
        ``sum_i f_i [covered(i, unlisted)]``.
    """
    n, n_loci, n_words = b1.shape
    s = 0.0
    for i in range(n):
        for w in range(n_words):
            acc = _ALL
            for l in range(n_loci):
                if wildcard:
                    acc &= b1[i, l, w] | b2[i, l, w] | hom[l, w]
                else:
                    acc &= b1[i, l, w] & b2[i, l, w]
            if acc != 0:
                s += freqs[i]
                break
    return s
