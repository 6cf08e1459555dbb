"""Which path computes a problem: the numba kernels, or their NumPy twins for problems small enough
not to need them (loading compiled kernels costs about a second per process).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

__all__ = ['SMALL_PAIRS', 'SMALL_RULE_WORK', 'kernels_only']

#: Largest number of patient pairs (after merging) computed with NumPy instead of the kernels.
SMALL_PAIRS = 200_000


#: Largest rule problem (class pairs × lines × phase assignments) computed with NumPy.
SMALL_RULE_WORK = 20_000_000



#: Tables of at least this many rows are merged by :func:`hlamatch.kernels.grouping.class_groups` (one
#: hash pass) unless their merged rows are sure to be few (then the NumPy twins compute the pairs);
#: other tables by a NumPy sort, so that small problems never import numba.
HASH_GROUPING_ROWS = 4096


@contextmanager
def kernels_only() -> Iterator[None]:
    """Within the block, every problem takes the numba kernels, however small (no NumPy twin, and
    large-table row merging by :func:`hlamatch.kernels.grouping.class_groups` from the first row): for
    :func:`hlamatch.warmup`, which compiles every kernel on a tiny table.  A process setting, not
    meant for threads that compute meanwhile."""
    global SMALL_PAIRS, SMALL_RULE_WORK, HASH_GROUPING_ROWS

    saved = SMALL_PAIRS, SMALL_RULE_WORK, HASH_GROUPING_ROWS
    SMALL_PAIRS, SMALL_RULE_WORK, HASH_GROUPING_ROWS = -1, -1, 1
    try:
        yield
    finally:
        SMALL_PAIRS, SMALL_RULE_WORK, HASH_GROUPING_ROWS = saved
