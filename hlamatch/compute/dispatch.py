"""Which path computes a problem: the numba kernels, or their NumPy twins for problems small enough
not to need them (loading compiled kernels costs about a second per process).
"""

from __future__ import annotations

from hlamatch._settings import current, using

__all__ = ["small_pairs", "small_rule_work", "hash_grouping_rows", "kernels_only", "numpy_twins"]

# The thresholds are settings (fields of :class:`hlamatch._settings.Settings`, with their defaults
# there), read where a problem takes its path, never copied: a block changes them with
# :func:`kernels_only`, :func:`numpy_twins` or :func:`hlamatch._settings.using`, in its own thread only.

#: "No problem is small": thresholds that send every problem to the kernels.
_KERNELS = dict(small_pairs=-1, small_rule_work=-1, hash_grouping_rows=1)
#: "Every problem is small": thresholds that send every problem with a NumPy twin to it.
_TWINS = dict(small_pairs=2**62, small_rule_work=2**62, hash_grouping_rows=2**62)


def small_pairs() -> int:
    """Largest number of patient pairs (after merging) computed with NumPy instead of the kernels
    (default 200,000)."""
    return current().small_pairs


def small_rule_work() -> int:
    """Largest rule problem (class pairs × lines × phase assignments) computed with NumPy (default 20,000,000)."""
    return current().small_rule_work


def hash_grouping_rows() -> int:
    """Tables of at least this many rows (default 4,096) are merged by
    :func:`hlamatch.kernels.grouping.class_groups` (one hash pass) unless their merged rows are sure
    to be few (then the NumPy twins compute the pairs); other tables by a NumPy sort, so that small
    problems never import numba."""
    return current().hash_grouping_rows


def kernels_only() -> using:
    """Within the block, every problem takes the numba kernels, however small (no NumPy twin, and
    large-table row merging by :func:`hlamatch.kernels.grouping.class_groups` from the first row): for
    :func:`hlamatch.warmup`, which compiles every kernel on a tiny table, and for tests of the kernels.
    Holds in this thread only (a context-local setting, see :mod:`hlamatch._settings`)."""
    return using(**_KERNELS)


def numpy_twins() -> using:
    """Within the block, every problem that has a NumPy twin takes it, however large (and tables are
    merged by a NumPy sort): for tests of the twins.  Holds in this thread only."""
    return using(**_TWINS)
