"""Compile every kernel ahead of time, on a tiny table."""

from __future__ import annotations

from typing import Any


def warmup() -> None:
    """Compile (or load from the on-disk cache) every kernel now, on a tiny table.

    The first call of a process otherwise pays this cost; with the on-disk cache
    (``HLAMATCH_NUMBA_CACHE=1``, the default) later processes load compiled code quickly.
    Covers coverage (every kernel family: the zero-mismatch line sweep and pair loops, exact and
    tolerance-bounded, and the rule kernels of every direction), patient look-up, rank and the
    greedy plan; the tiny table is kept off the NumPy twins (:func:`hlamatch.compute.dispatch.kernels_only`).
    """
    import warnings

    import numpy as np
    import polars as pl

    from hlamatch.api.coverage import coverage
    from hlamatch.api.planning import plan_bank, rank_candidates
    from hlamatch.compute import dispatch
    from hlamatch.compute.encode import merged_bitsets, word_count
    from hlamatch.errors import HlamatchWarning
    from hlamatch.io.frame import table_from_frame
    from hlamatch.kernels.rules import typing_counts
    from hlamatch.kernels.sweep import line_sweep_work

    table = table_from_frame(
        pl.DataFrame(
            {"A": ["A*01:01", "A*02:01", "A*01:01"], "B": ["B*07:02", "B*08:01", "B*08:01"], "P": [0.5, 0.25, 0.1]}
        ),
        name="warmup",
    )
    lines = ["A*01:01~B*07:02", "A*01:01~B*07:02/A*02:01~B*08:01", "A*02:01~B*08:01"]
    homozygous = [lines[0], lines[2]]
    many = [f"A*{k:02d}:01~B*{k:02d}:02" for k in range(3, 70)] + homozygous  # two words of lines
    rules: tuple[dict[str, Any], ...] = (
        {},
        {"max_mismatches": 1},
        {"direction": "GvH"},
        {"direction": "bidirectional"},
        {"direction": "GvH", "homozygous_count": 2},
    )
    with dispatch.kernels_only(), warnings.catch_warnings():  # the tiny table would take the NumPy twins
        warnings.simplefilter("ignore", HlamatchWarning)
        for bank in (lines, homozygous, many):
            for rule in rules:
                for tolerance in (0.0, 1e-9):
                    coverage(table, bank, tolerance=tolerance, **rule)
                coverage(table, bank, distribution=True, **rule)
        for bank in (lines, homozygous):
            for rule in rules[:2]:  # the default and one mismatch
                for level in ("haplotype", "genotype"):
                    rank_candidates(table, bank[1:], bank=bank[:1], level=level, **rule)
                    plan_bank(table, bank, max_lines=2, level=level, **rule)
    # The sweep's work is measured only for banks where the sweep may win, never on a tiny table.
    m = merged_bitsets(
        np.zeros((2, 2), dtype=np.int32), np.array([0.5, 0.25]), np.zeros((65, 2, 2), dtype=np.int32), [1, 1]
    )
    line_sweep_work(m.b1, m.b2, m.het, word_count(65), 2, 65)
    codes = np.zeros((1, 2, 2), dtype=np.int32)
    typing_counts(codes, np.zeros((1, 2, 2), dtype=np.bool_), codes, np.zeros((1, 2, 2), dtype=np.bool_), False, 0)
