"""Public coverage API: population coverage of a bank of donor lines.

Definitions (``docs/matching-model.md`` of the project; every result names the one it used):

* **haplotype level** (phase-aware): each line haplotype is compared, allele by allele, with one
  of the patient's two haplotypes (the best assignment).  At zero HvG mismatches: each line
  haplotype is one of the patient's haplotypes (homozygous line *d*: h1 = d or h2 = d).
* **genotype level** (unphased): the line's alleles are compared with the patient's two alleles
  at each locus.  At zero HvG mismatches: every expressed line allele at every locus is among
  the patient's alleles there.

Mismatches are counted as :mod:`hlamatch.hla.rules` says (direction, homozygous count, nulls).

Patients are Hardy–Weinberg genotypes drawn from the table, so coverage is
``sum over ordered pairs f_h1 f_h2 [covered]``, computed exactly.  When the population's listed
frequencies sum to S < 1, the unlisted mass U = 1 − S is reported and bounds the result:
``lower`` counts unlisted chromosomes as never carrying a line allele, ``upper`` as carrying
whichever line allele helps.  ``coverage`` is the lower bound.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hlamatch.compute.arguments import check_tolerance, resolutions_argument
from hlamatch.compute.bounds import bank_bounds
from hlamatch.compute.problem import PopulationArrays, Problem, prepare
from hlamatch.constants import LEVEL_CHOICES, LEVELS
from hlamatch.engine.setting import Progress
from hlamatch.errors import OptionError
from hlamatch.hla.lines import Line, as_lines
from hlamatch.hla.rules import MatchRules, rules_from
from hlamatch.results.coverage import CoverageReport, CoverageResult, mismatch_bins, weighted_results
from hlamatch.results.definitions import Definition
from hlamatch.table.model import HaplotypeTable
from hlamatch.table.populations import Populations

__all__ = ["coverage"]


def _levels(level: str) -> tuple[str, ...]:
    if not isinstance(level, str) or level not in LEVEL_CHOICES:
        raise OptionError(f"unknown level {level!r} (choose from {', '.join(LEVEL_CHOICES)})")
    return LEVELS if level == "both" else (level,)


def coverage(
    table: HaplotypeTable | str | Path,
    lines: Iterable[str | Line],
    *,
    level: str = "both",
    loci: Sequence[str] | None = None,
    resolution: str | Sequence[str] | None = None,
    populations: Populations = None,
    threads: int | None = None,
    rules: MatchRules | None = None,
    distribution: bool = False,
    progress: Progress | None = None,
    tolerance: float = 0.0,
    engine: str | None = None,
    scheduler: str | None = None,
    **rule_options: Any,
) -> CoverageReport:
    """Exact coverage of a bank of donor lines under match rules (default: zero HvG mismatches).

    Parameters
    ----------
    table : HaplotypeTable, path or bundled name
    lines : iterable of str or Line
        ``A*24:02~B*52:01~DRB1*15:02`` (homozygous) or ``hap1/hap2``.
    level : {"haplotype", "genotype", "both"}
    loci : sequence of str, optional
        Loci to compare; default: the loci the lines are typed at.  Lines typed at more loci
        are projected; a line lacking one of ``loci`` is an error.
    resolution : str or list of str, optional
        ``2-field``, ``1-field``, ``G``, ``P``, ``antigen`` or ``broad`` (the last four through the
        nomenclature files, see :func:`hlamatch.use_nomenclature`); default: the table's own.
        Several (``"2-field,antigen"`` or a list) give one result per resolution, population and
        level, in that order.
    populations : str, sequence of str, or mapping of str to float, optional
        Default: every population of the table.  A mapping weights a mix (``{"JAPI": 0.8,
        "KORI": 0.2}``, normalised to sum 1): the report then also holds, per level, a result for
        population ``"weighted"``, the weighted sum of the per-population figures.
    threads : int, optional
        Numba threads for this call (restored afterwards).
    rules : MatchRules, optional
        Match rules; or give them as keywords (``max_mismatches=1, require_match=["DRB1"]``,
        ``direction="GvH"``, ``homozygous_count=2``, ``allow_mismatch=["A", "B"]``).
    distribution : bool
        Also report the distribution of the best line's mismatch count over patients (always
        reported when the rules are not the default zero-mismatch HvG rule).
    progress : callable, optional
        ``progress(label, fraction_done)``, called during long computations.
    engine : {"local", "dask"}, optional
        Where the pair ranges run for this call (see :func:`hlamatch.engine.setting.set_engine`):
        ``dask`` needs ``pip install "hlamatch[distributed]"`` and gives identical results.
        Default: the process setting (normally ``local``; ``dask`` when ``scheduler`` is given).
    scheduler : str, optional
        Dask scheduler address (``tcp://host:8786``); default: a local cluster.
    tolerance : float
        0 (default): exact.  ε > 0: at genotype level, patient genotypes are visited most frequent
        first and the run stops once those left weigh at most ε; they count in the upper bound
        only, so ``upper − lower`` ≤ ε plus what the unlisted mass leaves open.  Haplotype level
        stays exact (it is small after merging).

    Returns
    -------
    CoverageReport
        One :class:`CoverageResult` per population and level.

    Raises
    ------
    HlamatchError
        Bad lines, loci, resolution, population, level, rules or engine (``MissingExtraError``
        for ``dask`` without Dask; ``SchedulerError`` for a scheduler that cannot be reached).

    Examples
    --------
    >>> from hlamatch import bundled_table, coverage
    >>> r = coverage(bundled_table("japanese"), ["A*24:02~B*52:01~DRB1*15:02"], level="haplotype")
    >>> round(r[0].lower, 4)
    0.1521
    """
    from contextlib import AbstractContextManager, nullcontext

    tolerance = check_tolerance(tolerance)
    from hlamatch.engine.setting import use_engine

    rules = rules_from(rules, rule_options)
    levels = _levels(level)
    # a path as text; a table, a name, a list of them or None as given (resolve_table reads each)
    source = str(table) if isinstance(table, os.PathLike) else table
    if threads is None:  # numba is imported only when a kernel (or a thread count) needs it
        threads_used: AbstractContextManager[Any] = nullcontext()
    else:
        from hlamatch._jit import num_threads

        threads_used = num_threads(threads)  # checks the count before any work
    engine_used = nullcontext() if engine is None and scheduler is None else use_engine(engine, scheduler)
    parsed = as_lines(lines)
    if not parsed:
        raise OptionError("no lines given: pass at least one line")
    results: list[CoverageResult] = []
    for res in resolutions_argument(resolution):
        problem = prepare(source, parsed, loci=loci, resolution=res, rules=rules, populations=populations)
        here = []
        with threads_used, engine_used:
            for pa in problem.populations:
                for lev in levels:
                    here.append(_population_result(problem, pa, lev, distribution, progress, tolerance))
        weight_map = problem.weight_map
        if weight_map is not None:
            here += weighted_results(here, weight_map, levels)
        results += here
    return CoverageReport(results)


def _population_result(
    problem: Problem,
    pa: PopulationArrays,
    lev: str,
    distribution: bool,
    progress: Progress | None,
    tolerance: float = 0.0,
) -> CoverageResult:
    tol = tolerance if lev == "genotype" else 0.0
    lower, upper, lo, hi = bank_bounds(problem, pa, lev, distribution=distribution, progress=progress, tolerance=tol)
    rules = problem.rules
    return CoverageResult(
        population=pa.population,
        level=lev,
        loci=problem.loci,
        resolution=problem.resolution,
        lines=problem.line_names,
        coverage=lower,
        lower=lower,
        upper=upper,
        unlisted_mass=pa.unlisted,
        rule=rules.describe(problem.loci),
        definition=Definition.of(lev),
        table=problem.source,
        rules=rules.to_dict(),
        distribution=None if lo is None else mismatch_bins(lo),
        distribution_upper=None if hi is None else mismatch_bins(hi),
        nomenclature=problem.nomenclature,
        tolerance=tol,
        line_names=problem.names if problem.named else None,
    )
