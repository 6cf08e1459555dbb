"""Constants and small helpers shared by the kernel families."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit

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
FIXED_UNIT = 2.0**-61


@jit()
def _fixed_point(freqs):
    """``freqs`` as int64 multiples of :data:`FIXED_UNIT` (rounded to nearest)."""
    q = np.empty(freqs.shape[0], dtype=np.int64)
    for j in range(freqs.shape[0]):
        q[j] = np.int64(freqs[j] / FIXED_UNIT + 0.5)
    return q


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


# ---------------------------------------------------------------------------------------------
# GvH and bidirectional rules with a missing homozygous allele counting once, on merged rows.
#
# Rows are the classes of :func:`hlamatch.compute.encode.other_classes` (alleles no line carries merged
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
