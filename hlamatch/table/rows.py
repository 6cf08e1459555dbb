"""Row operations on integer-coded tables: grouping equal rows and summing their frequencies, distinct
rows and frequency order (NumPy, or polars on large tables).

The one grouping of the package: tables (reading, :meth:`~hlamatch.table.model.HaplotypeTable.select`,
:func:`~hlamatch.table.model.combine_tables`) and the computation's row merges
(:mod:`hlamatch.compute.encode`, :mod:`hlamatch.compute.registry`, :mod:`hlamatch.compute.optimize`)
group rows with :func:`row_groups` (or :func:`key_groups` for one key per row) and sum with
:func:`group_sums`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hlamatch._deps import pl

__all__ = ["key_groups", "row_groups", "group_sums", "unique_rows", "frequency_order", "POLARS_SORT_ROWS"]

#: Largest mixed-radix key (product of the radices) :func:`row_groups` packs into one int64.
_KEY_LIMIT = 2**62


def _row_keys(codes: np.ndarray, sizes: Sequence[int]) -> np.ndarray | None:
    """One int64 per row whose order is the rows' lexicographic order (mixed radix ``sizes[l]``),
    or None when the codes do not fit in one (then sort by the columns)."""
    n, k = codes.shape
    radix = [max(int(x), 1) for x in sizes]
    if n == 0 or k == 0 or math.prod(radix) >= 2**62 or codes.min() < 0 or bool(np.any(codes.max(axis=0) >= radix)):
        return None
    key = np.zeros(n, dtype=np.int64)
    for l in range(k):
        key = key * radix[l] + codes[:, l]
    return key


#: From this many rows on, :func:`frequency_order` sorts in polars (multithreaded; three times
#: NumPy's speed on 10^7 rows); below, in NumPy, so that a small command need not import polars.
POLARS_SORT_ROWS = 200_000


def frequency_order(codes: np.ndarray, sizes: Sequence[int], score: np.ndarray) -> np.ndarray:
    """Indices of the rows by decreasing ``score``, ties by their codes (allele names: vocabularies
    are sorted) in lexicographic order: one sort by two keys, not one key per locus."""
    key = _row_keys(codes, sizes)
    if key is None:
        return np.lexsort([codes[:, l] for l in reversed(range(codes.shape[1]))] + [-score])
    if key.shape[0] < POLARS_SORT_ROWS:
        return np.lexsort([key, -score])
    frame = pl.DataFrame({"s": -score, "k": key})
    order: np.ndarray = frame.select(pl.arg_sort_by(["s", "k"], maintain_order=True))["s"].to_numpy()
    return order.astype(np.int64)


def key_groups(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by equal ``key`` (1-d), groups in increasing key order: (one row of each group,
    each row's group, int64).  ``np.unique(key, return_inverse=True)`` without its stable sort (any
    row of a group will do: their keys are equal)."""
    n = key.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(key)
    ks = key[order]
    start = np.empty(n, dtype=np.bool_)
    start[0] = True
    np.not_equal(ks[1:], ks[:-1], out=start[1:])
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(start) - 1
    return order[start], inverse


def row_groups(codes: np.ndarray, sizes: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Equal rows of a 2-d array grouped, groups in the rows' lexicographic order (that of
    ``np.unique(codes, axis=0)``): (one row of each group, each row's group, int64).

    Non-negative integer (or bool) codes are packed into one int64 mixed-radix key per row (radix
    ``sizes[l]`` where the codes fit below it, else the column's largest code + 1) and grouped by
    one 1-d sort (:func:`key_groups`); when the radices overflow a key, the key so far is made
    dense (group numbers) and packing goes on, so only 1-d sorts are ever done.  Other codes
    (negative, wider than 31 bits, or not integers): ``np.unique(axis=0)``.
    """
    n, k = codes.shape
    if codes.dtype.kind == "b":
        codes = codes.view(np.uint8)
    if n == 0 or k == 0 or codes.dtype.kind not in "iu" or int(codes.min()) < 0:
        return _numpy_groups(codes)
    top = codes.max(axis=0)
    if int(top.max()) >= 2**31:
        return _numpy_groups(codes)
    if sizes is None or len(sizes) != k:
        sizes = [0] * k
    key = None
    span = 1  # keys so far lie in 0 .. span - 1
    for l in range(k):
        radix = max(int(sizes[l]), int(top[l]) + 1, 1)
        if key is None:
            key, span = codes[:, l].astype(np.int64), radix
            continue
        if span * radix >= _KEY_LIMIT:  # make the key dense: at most n values
            first, key = key_groups(key)
            span = first.shape[0]
        key = key * radix + codes[:, l]
        span *= radix
    assert key is not None  # k >= 1 columns
    return key_groups(key)


def _numpy_groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def group_sums(inverse: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the sum of its rows' ``weights`` (float64 (n_groups,), rows added in row order);
    2-d ``weights``: per column (n_groups, n_columns)."""
    if weights.ndim == 1:
        return np.bincount(inverse, weights=weights, minlength=n_groups)
    out = np.empty((n_groups, weights.shape[1]))
    for p in range(weights.shape[1]):
        out[:, p] = np.bincount(inverse, weights=weights[:, p], minlength=n_groups)
    return out


def unique_rows(codes: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, axis=0, return_inverse=True)``: the distinct rows in lexicographic order
    and each row's index among them (1-d), by :func:`row_groups` (one int64 key per row, radix
    ``sizes[l]``, where the codes fit in one, which sorts far faster)."""
    first, inverse = row_groups(codes, sizes)
    return codes[first], inverse
