"""Turn tables and lines into the fixed-dtype arrays the kernels take (NumPy only).

Kernels compile once per dtype and layout, so everything here returns C-contiguous
``uint64`` bitsets and ``float64`` frequencies.
"""

from __future__ import annotations

import numpy as np

__all__ = ["line_bitsets", "collapse", "identity_codes"]


def line_bitsets(codes: np.ndarray, line_codes: np.ndarray, n_alleles: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bitsets of line alleles carried by each haplotype.

    Parameters
    ----------
    codes : numpy.ndarray
        int32 array of shape (n, n_loci): patient haplotype allele codes.
    line_codes : numpy.ndarray
        int32 array of shape (n_lines, 2, n_loci); -1 = allele absent from the table.
    n_alleles : list of int
        Vocabulary size per locus.

    Returns
    -------
    b1, b2 : numpy.ndarray
        uint64 arrays of shape (n, n_loci, n_words), ``n_words = ceil(n_lines / 64)``: bit ``t``
        set where the haplotype carries allele 1 (resp. 2) of line ``t`` at that locus.
    hom : numpy.ndarray
        uint64 array of shape (n_loci, n_words): lines homozygous at each locus.
    """
    n, n_loci = codes.shape
    n_lines = line_codes.shape[0]
    n_words = max(1, (n_lines + 63) // 64)
    b = [np.zeros((n, n_loci, n_words), dtype=np.uint64) for _ in range(2)]
    hom = np.zeros((n_loci, n_words), dtype=np.uint64)
    for l in range(n_loci):
        for h in range(2):
            per_allele = np.zeros((n_alleles[l] + 1, n_words), dtype=np.uint64)  # last row: never set
            for t in range(n_lines):
                a = line_codes[t, h, l]
                if a >= 0:
                    per_allele[a, t // 64] |= np.uint64(1) << np.uint64(t % 64)
            b[h][:, l, :] = per_allele[codes[:, l]]
        for t in range(n_lines):
            if line_codes[t, 0, l] == line_codes[t, 1, l]:
                hom[l, t // 64] |= np.uint64(1) << np.uint64(t % 64)
    return b[0], b[1], hom


def collapse(b1: np.ndarray, b2: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge haplotypes with identical bitsets, summing their frequencies.

    Haplotypes that carry the same line alleles at every locus are interchangeable for the
    zero-mismatch rule, so coverage is unchanged; the pair loop shrinks (on JAPI five-locus
    with 20 lines, 6,043 rows become a few hundred).

    Returns
    -------
    b1, b2 : numpy.ndarray
        uint64 arrays of shape (m, n_loci, n_words), m ≤ n.
    freqs : numpy.ndarray
        float64 array of shape (m,).
    """
    n = b1.shape[0]
    sig = np.concatenate([b1.reshape(n, -1), b2.reshape(n, -1)], axis=1)
    uniq, inverse = np.unique(sig, axis=0, return_inverse=True)
    f = np.bincount(inverse.reshape(-1), weights=freqs, minlength=uniq.shape[0])
    half = b1.shape[1] * b1.shape[2]
    shape = (uniq.shape[0],) + b1.shape[1:]
    return (
        np.ascontiguousarray(uniq[:, :half].reshape(shape)),
        np.ascontiguousarray(uniq[:, half:].reshape(shape)),
        np.ascontiguousarray(f, dtype=np.float64),
    )


def identity_codes(codes: np.ndarray, line_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Re-encode haplotypes as one pseudo-locus whose allele is the whole haplotype.

    Haplotype-level (phase-aware) matching is zero-mismatch matching at this pseudo-locus.

    Returns
    -------
    codes : numpy.ndarray
        int32 array of shape (n, 1): the row index.
    line_codes : numpy.ndarray
        int32 array of shape (n_lines, 2, 1): row of each line haplotype, -1 if unlisted.
    n_alleles : list of int
        ``[n]``.
    """
    n = codes.shape[0]
    index = {row.tobytes(): i for i, row in enumerate(np.ascontiguousarray(codes))}
    lc = np.full((line_codes.shape[0], 2, 1), -1, dtype=np.int32)
    for t in range(line_codes.shape[0]):
        for h in range(2):
            hap = np.ascontiguousarray(line_codes[t, h], dtype=codes.dtype)
            if (hap >= 0).all():
                lc[t, h, 0] = index.get(hap.tobytes(), -1)
    return np.arange(n, dtype=np.int32).reshape(n, 1), lc, [n]
