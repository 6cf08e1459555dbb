"""Row operations on integer-coded tables: distinct rows and frequency order (NumPy, or polars on large tables).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from hlamatch._deps import pl


def _row_keys(codes: np.ndarray, sizes: Sequence[int]) -> np.ndarray | None:
    """One int64 per row whose order is the rows' lexicographic order (mixed radix ``sizes[l]``),
    or None when the codes do not fit in one (then sort by the columns)."""
    n, k = codes.shape
    radix = [max(int(x), 1) for x in sizes]
    if n == 0 or k == 0 or math.prod(radix) >= 2 ** 62 or codes.min() < 0 or bool(np.any(codes.max(axis=0) >= radix)):
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
    return frame.select(pl.arg_sort_by(["s", "k"], maintain_order=True))["s"].to_numpy().astype(np.int64)


def unique_rows(codes: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, axis=0, return_inverse=True)``: the distinct rows in lexicographic order
    and each row's index among them (1-d), by one int64 mixed-radix key per row (radix
    ``sizes[l]``, codes in ``0 .. sizes[l]``) where the codes fit in one, which sorts far faster."""
    key = _row_keys(codes, sizes)
    if key is None:
        uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
        return uniq, inverse.reshape(-1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return codes[first], inverse.reshape(-1)
