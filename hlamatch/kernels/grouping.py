"""Grouping kernels: rows by allele-class key (hash pass), masks by counting."""

from __future__ import annotations

import numpy as np

from hlamatch._jit import jit

#: Masks below this are grouped by counting (an array indexed by mask); wider ones by hashing.
_DIRECT_MASKS = 1 << 12


#: The widest line masks (bits: loci, or twice the loci for heterozygous banks) the line sweep
#: takes: it groups rows by counting only, which keeps its compile time down.
SWEEP_MASK_BITS = 12


@jit()
def class_groups(codes, class_of, offsets, sizes, freqs):
    """Rows grouped by the classes of their alleles (one open-addressing hash pass, no sort).

    JIT core of :func:`hlamatch.compute.encode.merged_bitsets` for large tables.  Row i's key is the
    mixed-radix integer of its classes ``class_of[offsets[l] + codes[i, l]]`` (radix ``sizes[l]``,
    whose product the caller keeps below 2**62).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        int64 (m, n_loci): each group's classes, groups in the order they are first seen;
        int64 (n,): each row's group; float64 (m,): each group's frequency, summed in row order.
    """
    n, n_loci = codes.shape
    size = 16
    while size < 2 * n:
        size *= 2
    keys = np.full(size, -1, dtype=np.int64)
    vals = np.empty(size, dtype=np.int64)
    inverse = np.empty(n, dtype=np.int64)
    rep = np.empty((n, n_loci), dtype=np.int64)
    row = np.empty(n_loci, dtype=np.int64)
    total = np.zeros(n)
    m = 0
    for i in range(n):
        k = np.int64(0)
        for l in range(n_loci):
            row[l] = class_of[offsets[l] + codes[i, l]]
            k = k * sizes[l] + row[l]
        # Fibonacci hashing of the key folded to 31 bits: the product stays below 2**63, so it does not
        # wrap (nor warn under NUMBA_DISABLE_JIT); probing compares whole keys
        h = ((((k ^ (k >> 31)) & 0x7FFFFFFF) * 2654435761) >> 16) & (size - 1)
        while keys[h] != -1 and keys[h] != k:
            h = (h + 1) & (size - 1)
        if keys[h] == -1:
            keys[h] = k
            vals[h] = m
            rep[m] = row
            m += 1
        g = vals[h]
        inverse[i] = g
        total[g] += freqs[i]
    return rep[:m].copy(), inverse, total[:m].copy()


@jit()
def _mask_ids(masks):
    """Number the distinct values of ``masks`` (first-seen order) with an open-addressing hash.

    Returns
    -------
    (numpy.ndarray, int)
        int64 group id per row, and the number of groups.  Few distinct masks occur (a line has
        2·n_loci alleles), so this is O(n) where a sort would be O(n log n).
    """
    n = masks.shape[0]
    bits = 10
    size = 1 << bits
    keys = np.full(size, -1, dtype=np.int64)
    vals = np.empty(size, dtype=np.int64)
    ids = np.empty(n, dtype=np.int64)
    n_groups = 0
    for i in range(n):
        m = masks[i]
        h = (m ^ (m >> 9) ^ (m >> 19) ^ (m >> 29)) & (size - 1)
        while keys[h] != -1 and keys[h] != m:
            h = (h + 1) & (size - 1)
        if keys[h] == -1:
            if 2 * (n_groups + 1) > size:  # over half full: many distinct masks, sort instead
                return _mask_ids_sorted(masks)
            keys[h] = m
            vals[h] = n_groups
            n_groups += 1
        ids[i] = vals[h]
    return ids, n_groups


@jit()
def _mask_ids_sorted(masks):
    """:func:`_mask_ids` for masks with very many distinct values (sort-based)."""
    n = masks.shape[0]
    order = np.argsort(masks)
    ids = np.empty(n, dtype=np.int64)
    g = -1
    for q in range(n):
        if q == 0 or masks[order[q]] != masks[order[q - 1]]:
            g += 1
        ids[order[q]] = g
    return ids, g + 1


@jit()
def _mask_groups_direct(masks, full):
    """:func:`_mask_groups` for masks below :data:`_DIRECT_MASKS`, by counting (no hashing, no sort)."""
    n = masks.shape[0]
    cnt = np.zeros(full + 2, dtype=np.int64)
    for i in range(n):
        cnt[masks[i] + 1] += 1
    n_groups = 0
    for v in range(full + 1):
        if cnt[v + 1] > 0:
            n_groups += 1
    gm = np.empty(n_groups, dtype=np.int64)
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    slot = np.empty(full + 1, dtype=np.int64)  # each mask's next position
    g = 0
    for v in range(full + 1):
        if cnt[v + 1] > 0:
            gm[g] = v
            slot[v] = starts[g]
            starts[g + 1] = starts[g] + cnt[v + 1]
            g += 1
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[slot[masks[i]]] = i
        slot[masks[i]] += 1
    return order, starts, gm


@jit()
def _mask_groups(masks, full):
    """Rows grouped by mask: (order, starts, group masks), ``order[starts[g]:starts[g+1]]`` the rows of group g.

    ``full`` is the widest mask (every bit set): below :data:`_DIRECT_MASKS` rows are counted
    into an array indexed by mask (groups in increasing mask order), else hashed (:func:`_mask_ids`)."""
    if full < _DIRECT_MASKS:  # few possible masks: count by mask, groups in increasing mask order
        return _mask_groups_direct(masks, full)
    n = masks.shape[0]
    ids, n_groups = _mask_ids(masks)
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        starts[ids[i] + 1] += 1
    for g in range(n_groups):
        starts[g + 1] += starts[g]
    fill = starts[:n_groups].copy()
    order = np.empty(n, dtype=np.int64)
    gm = np.empty(n_groups, dtype=np.int64)
    for i in range(n):
        g = ids[i]
        order[fill[g]] = i
        fill[g] += 1
        gm[g] = masks[i]
    return order, starts, gm
