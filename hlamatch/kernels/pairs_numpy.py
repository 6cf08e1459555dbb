"""NumPy twins of the zero-mismatch pair kernels (:mod:`hlamatch.kernels.pairs`), for small problems.

They compute the same sums as the kernels (tests compare them, to 1e-15); numba is never imported.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["pair_mass", "unlisted_partner_mass"]


def _rows(b: np.ndarray, n_words: int, n_loci: int, n: int) -> np.ndarray:
    """Flat struct-of-arrays bitsets (index ``(w * n_loci + l) * n + j``) as (n, n_words, n_loci)."""
    return b.reshape(n_words, n_loci, n).transpose(2, 0, 1)


def pair_mass(b1: np.ndarray, b2: np.ndarray, het: bool, n_words: int, n_loci: int, freqs: np.ndarray) -> float:
    """Covered ordered-pair mass of listed patient genotypes (zero-mismatch bitset test)."""
    n = freqs.shape[0]
    r1 = _rows(b1, n_words, n_loci, n)
    r2 = _rows(b2, n_words, n_loci, n) if het else r1
    covered = np.ones((n, n), dtype=np.bool_)
    any_word = np.zeros((n, n), dtype=np.bool_)
    for w in range(n_words):
        acc = np.full((n, n), np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
        for l in range(n_loci):
            x1 = r1[:, w, l]
            x2 = r2[:, w, l]
            acc &= (x1[:, None] | x1[None, :]) & (x2[:, None] | x2[None, :])
        any_word |= acc != 0
    covered &= any_word
    row = (covered * freqs[None, :]).sum(axis=1)
    return math.fsum(freqs * row)


def unlisted_partner_mass(
    b1: np.ndarray, b2: np.ndarray, hom: np.ndarray, n_words: int, n_loci: int, freqs: np.ndarray, wildcard: bool
) -> float:
    """Mass of listed haplotypes whose pairing with an unlisted chromosome (novel or wildcard) is covered."""
    n = freqs.shape[0]
    r1 = _rows(b1, n_words, n_loci, n)
    r2 = _rows(b2, n_words, n_loci, n)
    acc = (r1 | r2 | hom.T[None, :, :]) if wildcard else (r1 & r2)  # (n, n_words, n_loci)
    ok = np.bitwise_and.reduce(acc, axis=2)
    return math.fsum(freqs[(ok != 0).any(axis=1)])
