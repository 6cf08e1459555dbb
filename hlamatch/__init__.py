"""hlamatch: exact HLA haplobank coverage from haplotype frequency tables.

Public API (imported lazily, so ``import hlamatch`` stays cheap and compiles nothing):

* :func:`load_table`, :func:`bundled_table`, :func:`available_tables`
* :func:`coverage` → :class:`CoverageReport` of :class:`CoverageResult`
* :func:`rank_candidates` → :class:`RankReport`; :func:`plan_bank` → :class:`PlanReport`
* :func:`supply` → :class:`SupplyReport` (donor supply, registry figures)
* :func:`match_patients`, :func:`cohort_coverage`, :func:`read_patients`, :func:`parse_typing`
* :func:`parse_line`, :func:`read_lines_file`, :func:`top_lines`, :class:`MatchRules`
* :func:`prepare` → :class:`Problem` (the prepared arrays every computation shares)
* :func:`warmup` compiles the kernels ahead of time
* errors: :class:`HlamatchError` and subclasses in :mod:`hlamatch.errors`
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .errors import HlamatchError, HlamatchWarning

try:
    __version__ = version("hlamatch")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0+unknown"

_LAZY = {
    "load_table": ("tables", "load_table"),
    "table_from_frame": ("tables", "table_from_frame"),
    "HaplotypeTable": ("tables", "HaplotypeTable"),
    "coverage": ("cover", "coverage"),
    "CoverageResult": ("cover", "CoverageResult"),
    "CoverageReport": ("cover", "CoverageReport"),
    "parse_line": ("lines", "parse_line"),
    "read_lines_file": ("lines", "read_lines_file"),
    "Line": ("lines", "Line"),
    "top_lines": ("lines", "top_lines"),
    "combine_tables": ("tables", "combine_tables"),
    "prepare": ("problem", "prepare"),
    "Problem": ("problem", "Problem"),
    "MatchRules": ("rules", "MatchRules"),
    "match_patients": ("match", "match_patients"),
    "cohort_coverage": ("match", "cohort_coverage"),
    "read_patients": ("match", "read_patients"),
    "parse_typing": ("match", "parse_typing"),
    "rank_candidates": ("bank", "rank_candidates"),
    "plan_bank": ("bank", "plan_bank"),
    "RankReport": ("bank", "RankReport"),
    "PlanReport": ("bank", "PlanReport"),
    "supply": ("donors", "supply"),
    "SupplyReport": ("donors", "SupplyReport"),
    "available_tables": ("data", "available_tables"),
    "bundled_table": ("data", "load_bundled"),
}

__all__ = sorted([*_LAZY, "HlamatchError", "HlamatchWarning", "warmup", "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hlamatch' has no attribute {name!r}")


def warmup() -> None:
    """Compile (or load from the on-disk cache) every kernel now, on a tiny table.

    The first coverage call of a process otherwise pays this cost; with the on-disk cache
    (``HLAMATCH_NUMBA_CACHE=1``, the default) later processes load compiled code quickly.
    """
    import numpy as np

    from .cover import mismatch_histograms, zero_mismatch_bounds
    from .kernels import _typing_counts
    from .rules import MatchRules

    codes = np.array([[0, 0], [1, 1]], dtype=np.int32)
    freqs = np.array([0.5, 0.25])
    lines = np.array([[[0, 0], [0, 0]]], dtype=np.int32)
    nulls = np.zeros(codes.shape, dtype=np.bool_)
    line_nulls = np.zeros(lines.shape, dtype=np.bool_)
    limits = np.full(2, 4, dtype=np.int64)
    zero_mismatch_bounds(codes, freqs, lines, [2, 2], 0.25)
    for haplo in (False, True):
        mismatch_histograms(codes, nulls, freqs, lines, line_nulls, [2, 2], MatchRules(max_mismatches=1),
                            limits, haplo, 0.25)
    _typing_counts(np.stack([codes, codes], axis=1), np.zeros((2, 2, 2), dtype=np.bool_), lines, line_nulls, False, 0)
