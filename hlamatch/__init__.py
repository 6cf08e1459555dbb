"""hlamatch: exact HLA haplobank coverage from haplotype frequency tables.

Public API (imported lazily, so ``import hlamatch`` stays cheap: it imports neither numba nor polars
and compiles nothing; ``dir(hlamatch)`` lists exactly :data:`__all__`):

* :func:`load_table`, :func:`bundled_table`, :func:`available_tables`, :func:`table_from_frame`,
  :func:`combine_tables` → :class:`HaplotypeTable`
* :func:`coverage` → :class:`CoverageReport` of :class:`CoverageResult`
* :func:`rank_candidates` → :class:`RankReport`; :func:`plan_bank` → :class:`PlanReport`
* :func:`supply` → :class:`SupplyReport` (donor supply, registry figures)
* :func:`match_patients`, :func:`cohort_coverage`, :func:`read_patients`, :func:`parse_typing`
* :func:`parse_line`, :func:`read_lines_file`, :func:`top_lines`, :class:`Line`, :class:`MatchRules`
* :func:`prepare` → :class:`Problem` (the prepared arrays every computation shares)
* settings: :func:`use_nomenclature`, :func:`use_mac_file` (WMDA files, MAC codes), :func:`use_engine`
  (local or Dask)
* :func:`warmup` compiles the kernels ahead of time
* errors: :class:`HlamatchError` and subclasses in :mod:`hlamatch.errors`; warnings:
  :class:`HlamatchWarning`, :class:`PopulationWarning` (about one population of a table, shown when
  that population is used)

``hlamatch.engine``, ``hlamatch.errors`` and ``hlamatch.nomenclature`` are reachable as attributes
too, imported on first use.
"""

from __future__ import annotations

from typing import Any  # (hidden from dir(): __dir__ lists __all__ only)

from .errors import HlamatchError, HlamatchWarning


def _version() -> str:
    """The installed version (read on first use: importlib.metadata costs a command's start-up)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hlamatch")
    except PackageNotFoundError:  # running from a checkout without installing
        return "0+unknown"


#: Public name → (submodule, attribute), imported on first access.
_LAZY = {
    "load_table": ("tables", "load_table"),
    "table_from_frame": ("tables", "table_from_frame"),
    "HaplotypeTable": ("tables", "HaplotypeTable"),
    "PopulationWarning": ("tables", "PopulationWarning"),
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
    "use_nomenclature": ("nomenclature", "use_nomenclature"),
    "use_mac_file": ("nomenclature", "use_mac_file"),
    "use_engine": ("engine", "use_engine"),
}

#: Public submodules reachable as attributes (``hlamatch.engine.use_engine``) without importing them
#: first; not in :data:`__all__` (a star import brings the API, not the modules).
_SUBMODULES = frozenset({"engine", "errors", "nomenclature"})

__all__ = sorted([*_LAZY, "HlamatchError", "HlamatchWarning", "warmup", "__version__"])


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if name == "__version__":
        value = globals()["__version__"] = _version()
        return value
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'hlamatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API only (no imports, helpers or submodules loaded so far)."""
    return list(__all__)


def warmup() -> None:
    """Compile (or load from the on-disk cache) every kernel now, on a tiny table.

    The first call of a process otherwise pays this cost; with the on-disk cache
    (``HLAMATCH_NUMBA_CACHE=1``, the default) later processes load compiled code quickly.
    Covers coverage (every kernel family: the zero-mismatch line sweep and pair loops, exact and
    tolerance-bounded, and the rule kernels of every direction), patient look-up, rank and the
    greedy plan; the tiny table is kept off the NumPy twins (:func:`hlamatch.small.kernels_only`).
    """
    import warnings

    import numpy as np
    import polars as pl

    from . import small
    from .bank import plan_bank, rank_candidates
    from .cover import coverage
    from .errors import HlamatchWarning
    from .encode import merged_bitsets, word_count
    from .kernels import _line_sweep_work, _typing_counts
    from .tables import table_from_frame

    table = table_from_frame(pl.DataFrame({"A": ["A*01:01", "A*02:01", "A*01:01"], "B": ["B*07:02", "B*08:01", "B*08:01"],
                                           "P": [0.5, 0.25, 0.1]}), name="warmup")
    lines = ["A*01:01~B*07:02", "A*01:01~B*07:02/A*02:01~B*08:01", "A*02:01~B*08:01"]
    homozygous = [lines[0], lines[2]]
    many = [f"A*{k:02d}:01~B*{k:02d}:02" for k in range(3, 70)] + homozygous  # two words of lines
    rules = ({}, {"max_mismatches": 1}, {"direction": "GvH"}, {"direction": "bidirectional"},
             {"direction": "GvH", "homozygous_count": 2})
    with small.kernels_only(), warnings.catch_warnings():  # the tiny table would take the NumPy twins
        warnings.simplefilter("ignore", HlamatchWarning)
        for bank in (lines, homozygous, many):
            for rule in rules:
                for tolerance in (0.0, 1e-9):
                    coverage(table, bank, tolerance=tolerance, **rule)
                coverage(table, bank, distribution=True, **rule)
        for bank in (lines, homozygous):
            for rule in ({}, {"max_mismatches": 1}):
                for level in ("haplotype", "genotype"):
                    rank_candidates(table, bank[1:], bank=bank[:1], level=level, **rule)
                    plan_bank(table, bank, n_lines=2, level=level, **rule)
    # The sweep's work is measured only for banks where the sweep may win, never on a tiny table.
    b1, b2, _, _, het, _ = merged_bitsets(np.zeros((2, 2), dtype=np.int32), np.array([0.5, 0.25]),
                                          np.zeros((65, 2, 2), dtype=np.int32), [1, 1])
    _line_sweep_work(b1, b2, het, word_count(65), 2, 65)
    codes = np.zeros((1, 2, 2), dtype=np.int32)
    _typing_counts(codes, np.zeros((1, 2, 2), dtype=np.bool_), codes, np.zeros((1, 2, 2), dtype=np.bool_), False, 0)
