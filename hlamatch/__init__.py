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

``hlamatch.engine``, ``hlamatch.errors`` and ``hlamatch.nomenclature`` (:mod:`hlamatch.hla.nomenclature`) are reachable as attributes
too, imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any  # (hidden from dir(): __dir__ lists __all__ only)

from hlamatch._version import installed_version as _installed_version
from hlamatch.errors import HlamatchError as HlamatchError
from hlamatch.errors import HlamatchWarning as HlamatchWarning

if TYPE_CHECKING:
    # What a type checker sees (the real signatures and classes); at run time nothing here is
    # imported: ``__getattr__`` below loads each name from _LAZY on first access.  Keep the two in step.
    from hlamatch._version import __version__ as __version__
    from hlamatch.api.coverage import coverage as coverage
    from hlamatch.api.match import cohort_coverage as cohort_coverage
    from hlamatch.api.match import match_patients as match_patients
    from hlamatch.api.planning import plan_bank as plan_bank
    from hlamatch.api.planning import rank_candidates as rank_candidates
    from hlamatch.api.supply import supply as supply
    from hlamatch.compute.candidates import top_lines as top_lines
    from hlamatch.compute.problem import Problem as Problem
    from hlamatch.compute.problem import prepare as prepare
    from hlamatch.engine.setting import use_engine as use_engine
    from hlamatch.hla.lines import Line as Line
    from hlamatch.hla.lines import parse_line as parse_line
    from hlamatch.hla.nomenclature import use_mac_file as use_mac_file
    from hlamatch.hla.nomenclature import use_nomenclature as use_nomenclature
    from hlamatch.hla.rules import MatchRules as MatchRules
    from hlamatch.hla.typing import parse_typing as parse_typing
    from hlamatch.io.bundled import available_tables as available_tables
    from hlamatch.io.bundled import load_bundled as bundled_table  # noqa: F401  (in __all__, built from _LAZY)
    from hlamatch.io.frame import table_from_frame as table_from_frame
    from hlamatch.io.lines import read_lines_file as read_lines_file
    from hlamatch.io.load import load_table as load_table
    from hlamatch.io.patients import read_patients as read_patients
    from hlamatch.results.coverage import CoverageReport as CoverageReport
    from hlamatch.results.coverage import CoverageResult as CoverageResult
    from hlamatch.results.matching import CohortReport as CohortReport
    from hlamatch.results.matching import MatchReport as MatchReport
    from hlamatch.results.planning import PlanReport as PlanReport
    from hlamatch.results.planning import RankReport as RankReport
    from hlamatch.results.supply import SupplyReport as SupplyReport
    from hlamatch.table.model import HaplotypeTable as HaplotypeTable
    from hlamatch.table.model import PopulationWarning as PopulationWarning
    from hlamatch.table.model import combine_tables as combine_tables

#: Public name → (submodule, attribute), imported on first access.
_LAZY = {
    "load_table": ("io.load", "load_table"),
    "table_from_frame": ("io.frame", "table_from_frame"),
    "HaplotypeTable": ("table.model", "HaplotypeTable"),
    "PopulationWarning": ("table.model", "PopulationWarning"),
    "coverage": ("api.coverage", "coverage"),
    "CoverageResult": ("results.coverage", "CoverageResult"),
    "CoverageReport": ("results.coverage", "CoverageReport"),
    "parse_line": ("hla.lines", "parse_line"),
    "read_lines_file": ("io.lines", "read_lines_file"),
    "Line": ("hla.lines", "Line"),
    "top_lines": ("compute.candidates", "top_lines"),
    "combine_tables": ("table.model", "combine_tables"),
    "prepare": ("compute.problem", "prepare"),
    "Problem": ("compute.problem", "Problem"),
    "MatchRules": ("hla.rules", "MatchRules"),
    "match_patients": ("api.match", "match_patients"),
    "cohort_coverage": ("api.match", "cohort_coverage"),
    "MatchReport": ("results.matching", "MatchReport"),
    "CohortReport": ("results.matching", "CohortReport"),
    "read_patients": ("io.patients", "read_patients"),
    "parse_typing": ("hla.typing", "parse_typing"),
    "rank_candidates": ("api.planning", "rank_candidates"),
    "plan_bank": ("api.planning", "plan_bank"),
    "RankReport": ("results.planning", "RankReport"),
    "PlanReport": ("results.planning", "PlanReport"),
    "supply": ("api.supply", "supply"),
    "SupplyReport": ("results.supply", "SupplyReport"),
    "available_tables": ("io.bundled", "available_tables"),
    "bundled_table": ("io.bundled", "load_bundled"),
    "use_nomenclature": ("hla.nomenclature", "use_nomenclature"),
    "use_mac_file": ("hla.nomenclature", "use_mac_file"),
    "use_engine": ("engine.setting", "use_engine"),
}

#: Public submodules reachable as attributes (``hlamatch.engine.setting.use_engine``) without importing them
#: first; not in :data:`__all__` (a star import brings the API, not the modules).
_SUBMODULES = {"engine": "engine", "errors": "errors", "nomenclature": "hla.nomenclature"}

__all__ = sorted([*_LAZY, "HlamatchError", "HlamatchWarning", "warmup", "__version__"])


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if name == "__version__":
        value = globals()["__version__"] = _installed_version()
        return value
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return import_module(f"{__name__}.{_SUBMODULES[name]}")
    raise AttributeError(f"module 'hlamatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API only (no imports, helpers or submodules loaded so far)."""
    return list(__all__)


def warmup() -> None:
    """Compile (or load from the on-disk cache) every kernel now, on a tiny table (see
    :func:`hlamatch.api.warmup.warmup`)."""
    from hlamatch.api.warmup import warmup as _warmup

    _warmup()
