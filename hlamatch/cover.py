"""Public coverage API: population coverage of a bank of donor lines.

Definitions (``docs/matching-model.md`` of the project; every result names the one it used):

* **haplotype level** (phase-aware): each line haplotype is compared, allele by allele, with one
  of the patient's two haplotypes (the best assignment).  At zero HvG mismatches: each line
  haplotype is one of the patient's haplotypes (homozygous line *d*: h1 = d or h2 = d).
* **genotype level** (unphased): the line's alleles are compared with the patient's two alleles
  at each locus.  At zero HvG mismatches: every expressed line allele at every locus is among
  the patient's alleles there.

Mismatches are counted as :mod:`hlamatch.rules` says (direction, homozygous count, nulls).

Patients are Hardy–Weinberg genotypes drawn from the table, so coverage is
``sum over ordered pairs f_h1 f_h2 [covered]``, computed exactly.  When the population's listed
frequencies sum to S < 1, the unlisted mass U = 1 − S is reported and bounds the result:
``lower`` counts unlisted chromosomes as never carrying a line allele, ``upper`` as carrying
whichever line allele helps.  ``coverage`` is the lower bound.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .constants import LEVEL_CHOICES, LEVELS, MASS_EPSILON
from .data import resolve_table
from . import small
from .encode import word_count
from .engine import Progress, exact_sum, line_ranges, row_ranges, run_pairs, run_ranges, stair_stops
from .errors import OptionError
from .lines import Line, as_lines
from .problem import Populations, PopulationArrays, Problem, prepare
from .rules import MatchRules
from .tables import HaplotypeTable

__all__ = ["CoverageResult", "CoverageReport", "coverage", "DEFINITIONS", "DEFINITION_NAMES", "definition_name",
           "resolve_table", "MatchRules", "WEIGHTED"]

#: Population label of a weighted mix's results.
WEIGHTED = "weighted"

DEFINITIONS: dict[str, str] = {
    "haplotype": (
        "haplotype level (phase-aware): each line haplotype is compared, allele by allele, with one of "
        "the patient's two haplotypes; share of HWE patient genotypes that some line matches under the rule"
    ),
    "genotype": (
        "genotype level (unphased): the line's alleles are compared with the patient's two alleles at "
        "each locus, phase ignored; share of HWE patient genotypes that some line matches under the rule"
    ),
}

#: Short names of :data:`DEFINITIONS`: the ``definition`` column of CSV output and flat tables
#: (see :func:`definition_name`).
DEFINITION_NAMES: dict[str, str] = {"haplotype": "hwe-haplotype", "genotype": "hwe-genotype"}

#: What a weighted mix's results add to their definition.
WEIGHTED_DEFINITION = "; weighted mix of populations: sum of w_p × coverage_p"


def definition_name(text: str) -> str:
    """The short name of a result's ``definition`` text, for CSV cells and flat tables.

    * ``hwe-haplotype``, ``hwe-genotype``: coverage of Hardy–Weinberg patient genotypes at that
      level (:data:`DEFINITIONS`);
    * ``gain-`` before it: a rank or plan row (gain = coverage(bank + line) − coverage(bank), and
      coverage, at that level);
    * ``-weighted`` after it: the weighted mix of populations (sum of w_p × coverage_p);
    * ``cohort-genotype``: empirical coverage of a typed cohort (``coverage --cohort``).

    A text none of these describe is returned as it is.

    >>> definition_name(DEFINITIONS["genotype"] + WEIGHTED_DEFINITION)
    'hwe-genotype-weighted'
    """
    for level, full in DEFINITIONS.items():
        if full in text:
            name = DEFINITION_NAMES[level]
            break
    else:
        return "cohort-genotype" if text.startswith("empirical cohort coverage (genotype level)") else text
    if text.startswith("gain "):
        name = "gain-" + name
    if "weighted mix" in text:
        name += "-weighted"
    return name


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of one bank in one population at one level, with everything needed to read it.

    Attributes
    ----------
    population, level, loci, resolution, lines, rule, definition, table
        What was computed, and how.
    coverage : float
        The headline figure: the lower bound (unlisted chromosomes never match).
    lower, upper : float
        Bounds over the unknown make-up of the unlisted mass; equal when it is zero.
    unlisted_mass : float
        1 − listed frequency mass of the population.
    rules : dict
        The match rules, machine-readable (``rule`` says them in words).
    distribution, distribution_upper : dict or None
        Share of patients whose best line has 0, 1, 2 … mismatches (``"unmatched"``: no line
        within the per-locus limits), with unlisted chromosomes as novel (lower scenario) and as
        wildcards (upper scenario).  Present when the rules are not the default or when asked.
    weights : dict or None
        The weights of a weighted mix (population ``"weighted"``).
    nomenclature : str or None
        The nomenclature release in use (``IPD-IMGT/HLA 3.58.0``): it brought the names to a G, P,
        antigen or broad resolution and checked them.  None when none was in use.
    tolerance : float
        0: exact.  ε > 0 (genotype level): patient genotypes were visited most frequent first until
        those left weighed at most ε; they count in ``upper`` only, so ``upper − lower`` ≤ ε plus
        what the unlisted mass leaves open.
    line_names : tuple of str or None
        When some line has a name of its own (a lines file's ``name`` column): each line's name, in
        the order of ``lines`` (its text where it has none).  None otherwise, and then left out of
        :meth:`to_dict`.
    """

    population: str
    level: str
    loci: tuple[str, ...]
    resolution: str
    lines: tuple[str, ...]
    coverage: float
    lower: float
    upper: float
    unlisted_mass: float
    rule: str
    definition: str
    table: str
    rules: dict[str, Any] | None = None
    distribution: dict[str, float] | None = None
    distribution_upper: dict[str, float] | None = None
    weights: dict[str, float] | None = None
    nomenclature: str | None = None
    tolerance: float = 0.0
    line_names: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (lists instead of tuples), ready for JSON; ``line_names`` follows
        ``lines`` when the lines have names."""
        d = asdict(self)
        d["loci"] = list(self.loci)
        d["lines"] = list(self.lines)
        names = d.pop("line_names")
        if names is not None:
            items = list(d.items())
            at = list(d).index("lines") + 1
            d = dict(items[:at] + [("line_names", list(names))] + items[at:])
        return d

    @property
    def exact(self) -> bool:
        """True when lower and upper coincide (no unlisted mass to bound)."""
        return self.upper - self.lower <= MASS_EPSILON


class CoverageReport(Sequence[CoverageResult]):
    """The results of one :func:`coverage` call: one per population and level."""

    def __init__(self, results: Iterable[CoverageResult]):
        self._results = tuple(results)

    def __getitem__(self, i):  # type: ignore[override]
        return self._results[i]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[CoverageResult]:
        return iter(self._results)

    def __repr__(self) -> str:
        rows = ", ".join(f"{r.population}/{r.level}={r.coverage:.4f}" for r in self._results)
        return f"CoverageReport({rows})"

    def get(self, level: str, population: str | None = None, resolution: str | None = None) -> CoverageResult:
        """The result for ``level``, and for ``population`` and ``resolution`` where the report holds several.

        Raises
        ------
        OptionError
            No result matches, or several do: the message names the levels, populations or
            resolutions to choose from (``report.get("genotype", population="JAPI")``).
        """
        asked = {"level": level, "population": population, "resolution": resolution}
        hits = [r for r in self._results if all(v is None or getattr(r, k) == v for k, v in asked.items())]
        if len(hits) == 1:
            return hits[0]

        def choices(rows: Sequence[CoverageResult], key: str) -> list[str]:
            return list(dict.fromkeys(getattr(r, key) for r in rows))

        if not hits:
            held = "; ".join(f"{k}s {', '.join(choices(self._results, k))}" for k in asked)
            shown = ", ".join(f"{k}={v!r}" for k, v in asked.items() if v is not None)
            raise OptionError(f"no result for {shown}: the report holds {held}")
        several = [k for k in ("population", "resolution") if len(choices(hits, k)) > 1]
        which = " and ".join(f"a {k} ({', '.join(choices(hits, k))})" for k in several)
        example = ", ".join([repr(level)] + [f"{k}={choices(hits, k)[0]!r}" for k in several])
        raise OptionError(f"the report holds {len(hits)} results for level {level!r}: choose {which}, "
                          f"e.g. report.get({example})")

    def to_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per result (:meth:`CoverageResult.to_dict`): full precision, the
        definition in full, ``rules``, ``distribution`` and ``weights`` as dicts."""
        return [r.to_dict() for r in self._results]

    def to_polars(self, flat: bool = True):
        """A polars DataFrame with one row per resolution, population and level.

        Parameters
        ----------
        flat : bool, default True
            True: the columns of ``hlamatch coverage --format csv`` (:mod:`hlamatch.flat`), so that
            ``report.to_polars().write_csv(path)`` works: shared columns first (``population,
            level, resolution, loci, rule, definition, table``), ``loci`` joined by ``~`` and
            ``lines`` by ``;``, ``rules`` left out (``rule`` says them in words), one column per
            mismatch bin (``mismatches_0`` … ``mismatches_unmatched``, ``mismatches_upper_0`` …) and
            per weight (``weights_JAPI``), and ``definition`` as a short name
            (:func:`definition_name`; the full text is in :meth:`to_dicts` and :data:`DEFINITIONS`).
            Numbers keep full precision (the CLI's CSV rounds them to 6 significant digits).
            False: the :meth:`to_dicts` rows as they are (lists and structs; ``write_csv`` refuses
            those, ``write_parquet`` and ``write_json`` take them).
        """
        import polars as pl

        from .flat import flat_rows

        rows = flat_rows(self.to_dicts()) if flat else self.to_dicts()
        return pl.DataFrame(rows, infer_schema_length=None)


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
        Where the pair ranges run for this call (see :func:`hlamatch.engine.set_engine`):
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
    from contextlib import nullcontext

    tolerance = check_tolerance(tolerance)
    from .engine import use_engine

    rules = rules_from(rules, rule_options)
    levels = _levels(level)
    if threads is None:  # numba is imported only when a kernel (or a thread count) needs it
        threads_used = nullcontext()
    else:
        from ._jit import num_threads

        threads_used = num_threads(threads)  # checks the count before any work
    engine_used = nullcontext() if engine is None and scheduler is None else use_engine(engine, scheduler)
    parsed = as_lines(lines)
    if not parsed:
        raise OptionError("no lines given: pass at least one line (--line, --lines-file or --top)")
    results: list[CoverageResult] = []
    for res in resolutions_argument(resolution):
        problem = prepare(table, parsed, loci=loci, resolution=res, rules=rules, populations=populations)
        here = []
        with threads_used, engine_used:
            for pa in problem.populations:
                for lev in levels:
                    here.append(_population_result(problem, pa, lev, distribution, progress, tolerance))
        if problem.weights is not None:
            here += weighted_results(here, problem.weight_map, levels)
        results += here
    return CoverageReport(results)


def check_tolerance(tolerance: Any) -> float:
    """A ``tolerance`` argument, checked: a finite number in [0, 1).

    Raises
    ------
    OptionError
        Not a number, negative, not finite, or ≥ 1.
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer, np.floating)):
        raise OptionError(f"tolerance must be a number like 1e-6 (0 = exact), got {tolerance!r}")
    t = float(tolerance)
    if not math.isfinite(t) or t < 0 or t >= 1:
        raise OptionError(f"tolerance must be ≥ 0 and below 1 (e.g. 1e-6; 0 = exact), got {tolerance!r}")
    return t


def resolutions_argument(resolution: str | Sequence[str] | None) -> list[str | None]:
    """The ``resolution`` argument of :func:`coverage` as a list (``"2-field,antigen"`` is split).

    Raises
    ------
    OptionError
        An empty list, a repeated resolution, or something that is not text.
    """
    if resolution is None:
        return [None]
    items = resolution.split(",") if isinstance(resolution, str) else list(resolution) if isinstance(
        resolution, (list, tuple)) else None
    if items is None or not all(isinstance(x, str) for x in items):
        raise OptionError(f"resolution must be a name like '2-field' or a list of them, got {resolution!r}")
    out = [x.strip() for x in items if x.strip()]
    if not out:
        raise OptionError("resolution is empty: give one, e.g. '2-field', or a list like '2-field,antigen'")
    if len(set(out)) != len(out):
        raise OptionError(f"resolution {resolution!r} names a resolution twice")
    return list(out)


def rules_from(rules: MatchRules | None, rule_options: dict[str, Any]) -> MatchRules:
    """The match rules of an API call: a MatchRules object or keywords, not both.

    Raises
    ------
    OptionError
        A keyword that is no match-rule keyword (the message lists them), ``rules`` that is not
        a MatchRules, or both ``rules`` and keywords.
    """
    keywords = [f.name for f in dataclasses.fields(MatchRules)]
    unknown = [k for k in rule_options if k not in keywords]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise OptionError(
            f"unknown argument{'s' if len(unknown) > 1 else ''} {names} (match-rule keywords: {', '.join(keywords)})"
        )
    if rules is None:
        return MatchRules(**rule_options)
    if not isinstance(rules, MatchRules):
        raise OptionError(
            f"rules must be a hlamatch.MatchRules (e.g. MatchRules(max_mismatches=1)), got {type(rules).__name__} "
            f"{rules!r}; or give the rules as keywords ({', '.join(keywords)})"
        )
    if rule_options:
        raise OptionError("give match rules either as a MatchRules object or as keywords, not both")
    return rules


def uses_bitsets(rules: MatchRules, level: str, line_nulls: np.ndarray, distribution: bool = False) -> bool:
    """Whether the zero-mismatch bitset kernels answer this rule and level exactly.

    They do for the default rule (zero HvG mismatches), except at haplotype level with null line
    alleles (the phase-aware count needs the general kernel there).
    """
    return rules.is_default and not distribution and not (level == "haplotype" and bool(line_nulls.any()))


def level_arrays(pa: PopulationArrays, line_codes: np.ndarray, sizes: list[int], level: str):
    """(codes, line codes, vocabulary sizes) for the bitset kernels at ``level``.

    Haplotype level is zero-mismatch matching at one pseudo-locus whose allele is the whole
    haplotype (:func:`hlamatch.encode.identity_codes`).
    """
    from .encode import identity_codes

    if level == "haplotype":
        return identity_codes(pa.codes, line_codes)
    return pa.codes, line_codes, sizes


def bank_bounds(problem: Problem, pa: PopulationArrays, level: str, line_codes: np.ndarray | None = None,
                line_nulls: np.ndarray | None = None, distribution: bool = False,
                progress: Progress | None = None,
                tolerance: float = 0.0) -> tuple[float, float, np.ndarray | None, np.ndarray | None]:
    """Lower and upper coverage of a bank in one population at one level, under the problem's rules.

    Parameters
    ----------
    problem : Problem
    pa : PopulationArrays
        One of ``problem.populations``.
    level : {"haplotype", "genotype"}
    line_codes, line_nulls : numpy.ndarray, optional
        int32 / bool arrays of shape (n_lines, 2, n_loci) in the problem's codes (default: the
        problem's lines and candidates); e.g. ``problem.bank(extra)``.
    distribution : bool
        Use the general kernel and return the mismatch histograms too.
    tolerance : float
        Genotype level: stop once the patient genotypes not yet visited weigh at most this
        (they widen ``upper`` only); 0 is exact.

    Returns
    -------
    (lower, upper, histogram_lower, histogram_upper)
        The histograms (float64, shape (2·n_loci + 2,)) are None when the bitset path was used.
    """
    rules = problem.rules
    lc = problem.line_codes if line_codes is None else line_codes
    ln = problem.line_nulls if line_nulls is None else line_nulls
    if lc.shape[0] == 0:
        return 0.0, 0.0, None, None
    label = f"{pa.population} {level}"
    if uses_bitsets(rules, level, ln, distribution):
        c, lcodes, n_al = level_arrays(pa, lc, problem.sizes, level)
        lower, upper = zero_mismatch_bounds(c, pa.freqs, lcodes, n_al, pa.unlisted,
                                            ln if level == "genotype" else None, progress=progress, label=label,
                                            tolerance=tolerance if level == "genotype" else 0.0)
        return lower, upper, None, None
    if (level == "haplotype" and rules.is_default and not distribution and bool(ln.any())
            and np.array_equal(lc[:, 0], lc[:, 1]) and np.array_equal(ln[:, 0], ln[:, 1])):
        # Homozygous lines with null alleles (DRBX*NNNN) at haplotype level, default rule: the
        # bitset kernels on one pseudo-locus "equal at every expressed locus" (exact, and far
        # faster than the general kernel).
        from .encode import masked_identity_bitsets

        bits = masked_identity_bitsets(pa.codes, lc, ln)
        lower, upper = zero_mismatch_bounds(pa.codes, pa.freqs, lc, [0], pa.unlisted, ln, progress=progress,
                                            label=label, bitsets=bits)
        return lower, upper, None, None
    if level == "genotype" and homozygous_hvg(rules, lc, ln):
        lo, hi = hom_rule_histograms(pa.codes, pa.nulls, pa.freqs, lc, ln, problem.sizes, rules, problem.limits,
                                     pa.unlisted, progress=progress, label=label, tolerance=tolerance)
    else:
        lo, hi = mismatch_histograms(pa.codes, pa.nulls, pa.freqs, lc, ln, problem.sizes, rules, problem.limits,
                                     level == "haplotype", pa.unlisted, progress=progress, label=label,
                                     tolerance=tolerance)
    k = min(rules.max_mismatches, lo.shape[0] - 2)
    lower = min(1.0, max(0.0, math.fsum(lo[: k + 1])))
    upper = min(1.0, max(0.0, math.fsum(hi[: k + 1])))
    return lower, upper, lo, hi


def _population_result(problem: Problem, pa: PopulationArrays, lev: str, distribution: bool,
                       progress: Progress | None, tolerance: float = 0.0) -> CoverageResult:
    tol = tolerance if lev == "genotype" else 0.0
    lower, upper, lo, hi = bank_bounds(problem, pa, lev, distribution=distribution, progress=progress,
                                       tolerance=tol)
    rules = problem.rules
    return CoverageResult(
        population=pa.population, level=lev, loci=problem.loci, resolution=problem.resolution,
        lines=problem.line_names, coverage=lower, lower=lower, upper=upper, unlisted_mass=pa.unlisted,
        rule=rules.describe(problem.loci), definition=DEFINITIONS[lev], table=problem.source,
        rules=rules.to_dict(), distribution=None if lo is None else _bins(lo),
        distribution_upper=None if hi is None else _bins(hi), nomenclature=problem.nomenclature, tolerance=tol,
        line_names=problem.names if problem.named else None,
    )


def weighted_results(results: Sequence[CoverageResult], weights: dict[str, float],
                     levels: Sequence[str]) -> list[CoverageResult]:
    """Per level, the weighted mix of per-population results (population ``"weighted"``).

    Coverage, bounds, unlisted mass and distributions of the mix are the weighted sums of the
    populations' figures (a random patient of the mix comes from population p with probability w_p).
    """
    out = []
    for lev in levels:
        rows = [r for r in results if r.level == lev and r.population in weights]
        w = [weights[r.population] for r in rows]

        def mix(get):
            return math.fsum(wi * get(r) for wi, r in zip(w, rows))

        def mix_dist(key):
            if any(getattr(r, key) is None for r in rows):
                return None
            bins = dict.fromkeys(k for r in rows for k in getattr(r, key))
            return {b: mix(lambda r: getattr(r, key).get(b, 0.0)) for b in bins}

        r0 = rows[0]
        lower, upper = mix(lambda r: r.lower), mix(lambda r: r.upper)
        out.append(dataclasses.replace(
            r0, population=WEIGHTED, coverage=lower, lower=lower, upper=upper,
            unlisted_mass=mix(lambda r: r.unlisted_mass), weights=dict(weights),
            distribution=mix_dist("distribution"), distribution_upper=mix_dist("distribution_upper"),
            definition=r0.definition + WEIGHTED_DEFINITION,
        ))
    return out


def _bins(hist: np.ndarray) -> dict[str, float]:
    """Histogram as {"0": share, "1": share, ..., "unmatched": share}."""
    out = {str(m): float(hist[m]) for m in range(hist.shape[0] - 1)}
    out["unmatched"] = float(hist[-1])
    return out


def mismatch_histograms(
    codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, line_nulls: np.ndarray,
    n_alleles: list[int], rules: MatchRules, limits: np.ndarray, haplo: bool, unlisted: float,
    progress: Progress | None = None, label: str = "", tolerance: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mass of patient genotypes by the best line's mismatch count, lower and upper scenario.

    Parameters
    ----------
    codes : numpy.ndarray
        int32 (n, n_loci) patient haplotype codes; ``nulls`` bool (n, n_loci) null flags.
    freqs : numpy.ndarray
        float64 (n,).
    line_codes, line_nulls : numpy.ndarray
        int32 / bool (n_lines, 2, n_loci).
    n_alleles : list of int
    rules : MatchRules
    limits : numpy.ndarray
        int64 (n_loci,) per-locus limits.
    haplo : bool
        Haplotype level (phase-aware) instead of genotype level.
    unlisted : float
    tolerance : float
        Genotype level: ε > 0 visits patient genotypes most frequent first and stops once the
        pairs not visited weigh at most ε (unmatched in the first histogram, matched in the second).
        Haplotype level is always exact.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        float64 arrays of shape (2·n_loci + 2,): index m = best line has m mismatches, last =
        no line within the per-locus limits.  The first treats unlisted chromosomes as novel
        (lower bound for coverage), the second as wildcards (upper bound).
    """
    from .encode import other_classes, recode_for_lines, rule_bitsets
    from .engine import current_engine

    if haplo and rules.direction == "GvH" and np.array_equal(line_codes[:, 0], line_codes[:, 1]) \
            and np.array_equal(line_nulls[:, 0], line_nulls[:, 1]):
        # A homozygous line's two haplotypes are the same, so which patient copy is compared with
        # which does not change the GvH count: phase-aware equals unphased (checked exhaustively
        # against the naive counts, nulls and limits included), and the fast kernel applies.
        haplo = False
    n_bins = 2 * codes.shape[1] + 2
    d = rules.direction_code
    # GvH / bidirectional, a missing homozygous allele counting once: exact on merged classes when
    # no line has two different expressed alleles at a locus where both patient alleles are
    # "other" (always for GvH; for bidirectional, lines with ≤ 1 expressed allele per locus), see
    # kernels._other_merge_folds.
    merged = d != 0 and rules.homozygous_count == 1 and tolerance == 0 and (d == 1 or not (
        ~line_nulls[:, 0] & ~line_nulls[:, 1] & (line_codes[:, 0] != line_codes[:, 1])).any())
    if merged:
        classes = other_classes(codes, nulls, freqs, line_codes, n_alleles)
        allow = int(sum(1 << l for l in range(codes.shape[1]) if limits[l] >= 2))
        m = classes[2].shape[0]
        if (m * (m + 1) // 2 * line_codes.shape[0] * (16 if haplo and d == 2 else 4 if haplo else 1)
                <= small.SMALL_RULE_WORK and current_engine().name == "local"):
            return small.other_merge_histograms(classes, line_codes, line_nulls, d, haplo, limits, allow, n_bins,
                                                unlisted)
        codes, nulls, freqs = classes[:3]
    from .kernels import _geno_rule_folds, _mismatch_hist_folds, _other_merge_folds

    if rules.direction == "HvG" or rules.homozygous_count == 2:
        # Exact merge (see recode_for_lines): HvG never looks at the patient's other alleles, and
        # with homozygous_count=2 two different other alleles count the same as one twice.
        codes, nulls, freqs = recode_for_lines(codes, nulls, freqs, line_codes, n_alleles)
    hom2 = rules.homozygous_count == 2
    args = (line_codes, line_nulls, hom2, d, haplo, limits)
    unvisited = 0.0
    if merged:
        if haplo:
            bits = (np.zeros(1, np.uint64), np.zeros(1, np.uint64), np.zeros(1, np.uint64),
                    np.zeros((5, 1, 1), np.uint64))
        else:
            bits = rule_bitsets(codes, nulls, line_codes, line_nulls, d)
        work = line_codes.shape[0] * (16 if haplo else 1) + 2 ** codes.shape[1]
        listed = run_pairs(_other_merge_folds, (codes, nulls, freqs, classes[3], allow, *classes[4:], *bits,
                                                line_codes, line_nulls, d, haplo, np.ascontiguousarray(
                                                    limits, dtype=np.int64), n_bins),
                           freqs.shape[0], work, progress, label)
        listed = np.maximum(listed, 0.0)  # inclusion–exclusion leaves ~1e-19 of rounding in empty bins
    elif haplo:
        listed = run_pairs(_mismatch_hist_folds, (codes, nulls, freqs, *args, n_bins), freqs.shape[0],
                           line_codes.shape[0] * 16, progress, label)
    else:
        garr = geno_rule_arrays(codes, nulls, freqs, line_codes, line_nulls, rules, limits, n_bins)
        codes, nulls, freqs = garr[4], garr[5], garr[8]  # reordered (settled rows last)
        work = word_count(line_codes.shape[0]) * codes.shape[1] / 4
        if tolerance > 0:
            listed, unvisited = _geno_rule_until(garr, n_bins, tolerance, work, progress, label)
        else:
            listed = run_pairs(_geno_rule_folds, garr, freqs.shape[0], work, progress, label)
    return _with_unlisted(listed, unvisited, codes, nulls, freqs, line_codes, line_nulls, rules, limits, haplo,
                          n_bins, unlisted)


def homozygous_hvg(rules: MatchRules, line_codes: np.ndarray, line_nulls: np.ndarray) -> bool:
    """Whether :func:`hom_rule_histograms` applies: HvG counts and every line homozygous at every locus."""
    return (rules.direction == "HvG" and np.array_equal(line_codes[:, 0], line_codes[:, 1])
            and np.array_equal(line_nulls[:, 0], line_nulls[:, 1]))


def word_masks(n_lines: int) -> np.ndarray:
    """uint64 (ceil(n_lines / 64),): the bits of the lines that exist, word by word."""
    n_words = word_count(n_lines)
    wmask = np.zeros(n_words, dtype=np.uint64)
    for w in range(n_words):
        k = min(64, n_lines - 64 * w)
        wmask[w] = np.uint64(0xFFFFFFFFFFFFFFFF) if k == 64 else np.uint64((1 << k) - 1)
    return wmask


def hom_rule_arrays(codes: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, line_nulls: np.ndarray,
                    n_alleles: list[int], rules: MatchRules, limits: np.ndarray, n_bins: int) -> tuple:
    """Arguments of :func:`hlamatch.kernels._hom_rule_folds` (before the fold range).

    Rows are the zero-mismatch bitsets merged by signature (exact: with homozygous lines an HvG
    count sees a patient allele only through which line alleles it equals), open rows most
    frequent first, then the *settled* rows, which carry every allele of some line alone.
    """
    from .encode import merged_bitsets

    b, _, f, _, _, _ = merged_bitsets(codes, freqs, line_codes, n_alleles, line_nulls, by_frequency=True)
    n_lines, n_loci = line_codes.shape[0], codes.shape[1]
    m = f.shape[0]
    n_words = word_count(n_lines)
    wmask = word_masks(n_lines)
    cube = b.reshape(n_words, n_loci, m)
    settled = ((np.bitwise_and.reduce(cube, axis=1) & wmask[:, None]) != 0).any(axis=0)
    order = np.lexsort((np.arange(m), settled))  # open rows first (kept most frequent first), settled last
    b = np.ascontiguousarray(cube[:, :, order]).reshape(-1)
    f = np.ascontiguousarray(f[order])
    tails = np.ascontiguousarray(np.append(np.cumsum(f[::-1])[::-1], 0.0))
    step, req = hom_step(rules, limits)
    return (b, n_words, n_loci, req, wmask, int(m - settled.sum()), tails, f, step, n_bins)


def hom_step(rules: MatchRules, limits: np.ndarray) -> tuple[int, np.ndarray]:
    """The bit-plane kernels' view of a rule with homozygous lines: the count a missing allele
    adds (2 with ``homozygous_count=2``), and the loci (bool, C-contiguous) that allow none."""
    step = 2 if rules.homozygous_count == 2 else 1
    return step, np.ascontiguousarray(np.asarray(limits) < step)


def hom_rule_histograms(
    codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, line_nulls: np.ndarray,
    n_alleles: list[int], rules: MatchRules, limits: np.ndarray, unlisted: float,
    progress: Progress | None = None, label: str = "", tolerance: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mismatch_histograms` at genotype level for HvG counts and homozygous lines.

    Same arguments and result; the pair loop is :func:`hlamatch.kernels._hom_rule_folds`
    (bit planes over 64 lines, vectorised over columns) instead of the general rule kernel.
    """
    from .encode import recode_for_lines
    from .kernels import _hom_rule_folds, _hom_rule_rows

    n_bins = 2 * codes.shape[1] + 2
    harr = hom_rule_arrays(codes, freqs, line_codes, line_nulls, n_alleles, rules, limits, n_bins)
    n_words, n_loci, n_open, tails, f = harr[1], harr[2], harr[5], harr[6], harr[7]
    work = n_words * n_loci / 4
    unvisited = 0.0
    if tolerance > 0:
        listed, unvisited = _rule_until(_hom_rule_rows, harr, n_open, tails, f, n_bins, tolerance, work,
                                        progress, label)
    else:
        listed = run_pairs(_hom_rule_folds, harr, f.shape[0], work, progress, label)
    codes, nulls, freqs = recode_for_lines(codes, nulls, freqs, line_codes, n_alleles)
    return _with_unlisted(listed, unvisited, codes, nulls, freqs, line_codes, line_nulls, rules, limits, False,
                          n_bins, unlisted)


def _with_unlisted(listed: np.ndarray, unvisited: float, codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray,
                   line_codes: np.ndarray, line_nulls: np.ndarray, rules: MatchRules, limits: np.ndarray,
                   haplo: bool, n_bins: int, unlisted: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) histograms: listed pairs, pairs not visited (tolerance) and unlisted-mass terms."""
    from .kernels import NOVEL_A, NOVEL_B, WILDCARD, _mismatch_hist_partner, _pair_best

    args = (line_codes, line_nulls, rules.homozygous_count == 2, rules.direction_code, haplo, limits)
    lo, hi = listed.copy(), listed.copy()
    lo[n_bins - 1] += unvisited  # pairs not visited (tolerance): unmatched in the lower scenario,
    hi[0] += unvisited  # matched with no mismatch in the upper one
    if unlisted > 0:
        for hist, solo, pair in ((lo, NOVEL_A, (NOVEL_A, NOVEL_B)), (hi, WILDCARD, (WILDCARD, WILDCARD))):
            hist += 2.0 * unlisted * _mismatch_hist_partner(codes, nulls, freqs, *args, n_bins, solo)
            b = _pair_best(codes, nulls, pair[0], pair[1], *args)
            hist[n_bins - 1 if b < 0 else b] += unlisted * unlisted
    return lo, hi


def _rule_until(kernel, arrays: tuple, n_open: int, tails: np.ndarray, freqs: np.ndarray, n_bins: int,
                tolerance: float, work: float, progress: Progress | None, label: str) -> tuple[np.ndarray, float]:
    """Tolerance-bounded histogram of a row kernel whose rows from ``n_open`` on are settled
    (best count 0 with anyone): (listed histogram, mass of the pairs not visited)."""
    hist = np.zeros(n_bins)
    settled = freqs[n_open:]
    # settled rows (best count 0 with anyone): pairs among them, exactly
    hist[0] += math.fsum(settled * (2.0 * tails[n_open:-1] - settled))
    # open rows: the most probable patient genotypes first (engine.stair_stops)
    stops, left_out = stair_stops(freqs[:n_open], tolerance)
    n_visit = int(np.count_nonzero(stops > np.arange(n_open)))
    if n_visit:
        hist += exact_sum(run_ranges(kernel, (*arrays, stops), row_ranges(n_visit, work), progress, label))
    # open rows not visited at all: their pairs with settled rows are still exact (best count 0)
    hist[0] += 2.0 * math.fsum(freqs[n_visit:n_open]) * tails[n_open]
    return hist, left_out


def geno_rule_arrays(codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray,
                     line_nulls: np.ndarray, rules: MatchRules, limits: np.ndarray, n_bins: int) -> tuple:
    """Arguments of :func:`hlamatch.kernels._geno_rule_folds` (before the fold range)."""
    from .encode import rule_bitsets

    d = rules.direction_code
    n, n_loci = codes.shape
    a1, a2, carried, masks = rule_bitsets(codes, nulls, line_codes, line_nulls, d)
    n_open = n
    if d != 0:  # no settled rows: most frequent first (for tolerance-bounded runs)
        order = np.argsort(-freqs, kind="stable")
        codes, nulls, freqs = codes[order], nulls[order], freqs[order]
        a1 = np.ascontiguousarray(a1.reshape(n, -1)[order]).reshape(-1) if a1.size > 1 else a1
        a2 = np.ascontiguousarray(a2.reshape(n, -1)[order]).reshape(-1) if a2.size > 1 else a2
        carried = np.ascontiguousarray(carried.reshape(n, -1)[order]).reshape(-1) if carried.size > 1 else carried
    if d == 0:
        # HvG: a haplotype carrying all of some homozygous line's alleles settles every pair it is
        # in (best count 0); such rows go last, where the kernel sums them without a pair loop.
        n_words = masks.shape[2]
        both = (a1 & a2).reshape(n, n_words, n_loci)
        settled = ((np.bitwise_and.reduce(both, axis=2) & masks[4, 0][None, :]) != 0).any(axis=1)
        order = np.lexsort((-freqs, settled))  # open rows most frequent first, settled rows last
        codes, nulls, freqs = codes[order], nulls[order], freqs[order]
        a1 = np.ascontiguousarray(a1.reshape(n, -1)[order]).reshape(-1)
        a2 = np.ascontiguousarray(a2.reshape(n, -1)[order]).reshape(-1)
        n_open = int(n - settled.sum())
    tails = np.ascontiguousarray(np.append(np.cumsum(freqs[::-1])[::-1], 0.0))
    return (a1, a2, carried, np.ascontiguousarray(masks), np.ascontiguousarray(codes), np.ascontiguousarray(nulls),
            n_open, tails, np.ascontiguousarray(freqs), rules.homozygous_count == 2, d,
            np.ascontiguousarray(limits, dtype=np.int64), n_bins)


def _geno_rule_until(garr: tuple, n_bins: int, tolerance: float, work: float, progress: Progress | None,
                     label: str) -> tuple[np.ndarray, float]:
    """Tolerance-bounded histogram of :func:`_geno_rule_rows`: (listed histogram, unvisited mass)."""
    from .kernels import _geno_rule_rows

    return _rule_until(_geno_rule_rows, garr, garr[6], garr[7], garr[8], n_bins, tolerance, work, progress, label)


#: A bank of more than 64 lines is swept line by line (:func:`exact_listed_mass`) only when the
#: sweep's work is below the pair loop's pairs × words divided by this (a sweep's pair costs more:
#: its rows are gathered).
SWEEP_MARGIN = 2.0


def exact_listed_mass(b1: np.ndarray, b2: np.ndarray, het: bool, n_words: int, n_loci: int, f: np.ndarray,
                      patterns: np.ndarray | None, n_lines: int, progress: Progress | None = None,
                      label: str = "", work: np.ndarray | None = None) -> float:
    """Exact listed covered mass under the zero-mismatch HvG rule, by the faster of two kernels.

    * The line sweep (:func:`hlamatch.kernels._line_sweep`): per line, only the pairs it covers,
      each counted by its first covering line.  Its work is the pairs each line covers, which is
      a small share of all pairs for any real bank; always used for up to 64 lines (one word)
      at up to 12 loci (6 with heterozygous lines: :func:`sweep_fits`).
    * The pair loop (:func:`hlamatch.kernels._pair_mass_folds`): every pair whose patterns can
      be covered (:func:`hlamatch.encode.pattern_runs`), all lines at once in machine words; used
      for larger banks when the sweep's measured work (:func:`hlamatch.kernels._line_sweep_work`)
      is over :data:`SWEEP_MARGIN` times smaller than it.

    Both give the same sum (each in fixed point, see :data:`hlamatch.kernels.FIXED_UNIT`) up to
    float rounding.  ``patterns`` (rows sorted by decreasing pattern) lets the pair loop skip
    runs; None visits every pair.  ``work``: the sweep's work when the caller has measured it
    (then the sweep runs, split by it).
    """
    from .encode import pattern_runs
    from .kernels import _line_sweep, _pair_mass_folds

    m = f.shape[0]
    if work is None and n_words > 1:
        work = cheaper_sweep(b1, b2, het, n_words, n_loci, n_lines, m, m * (m + 1) / 2)
    elif work is None and sweep_fits(het, n_loci):
        work = np.full(n_lines, 4 * m * n_loci, dtype=np.int64)  # only to split the lines into ranges
    if work is None:
        classes = pattern_runs(patterns, n_loci, m)
        return float(run_pairs(_pair_mass_folds, (b1, b2, het, n_words, n_loci, f, *classes), m,
                               n_words / 8, progress, label))
    return float(exact_sum(run_ranges(_line_sweep, (b1, b2, het, n_words, n_loci, f), line_ranges(work),
                                      progress, label)))


def cheaper_sweep(b1: np.ndarray, b2: np.ndarray, het: bool, n_words: int, n_loci: int, n_lines: int, m: int,
                  rival_pairs: float) -> np.ndarray | None:
    """The line sweep's work per line (:func:`hlamatch.kernels._line_sweep_work`) when the sweep
    takes the bank and is cheaper than a pair run visiting ``rival_pairs`` pairs of ``n_words``
    words (by :data:`SWEEP_MARGIN`); else None.  The work is measured only when its floor (each
    line reads every row at every locus) leaves the sweep a chance."""
    from .kernels import _line_sweep_work

    rival = rival_pairs * n_words
    if not sweep_fits(het, n_loci) or SWEEP_MARGIN * n_lines * m * n_loci >= rival:
        return None
    work = _line_sweep_work(b1, b2, het, n_words, n_loci, n_lines)
    return work if SWEEP_MARGIN * float(work.sum()) < rival else None


def sweep_fits(het: bool, n_loci: int) -> bool:
    """Whether the line sweep takes the bank: its masks (a bit per locus, two for heterozygous
    banks) are at most :data:`hlamatch.kernels.SWEEP_MASK_BITS` wide."""
    from .kernels import SWEEP_MASK_BITS

    return (2 if het else 1) * n_loci <= SWEEP_MASK_BITS


def zero_mismatch_bounds(
    codes: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, n_alleles: list[int], unlisted: float,
    line_nulls: np.ndarray | None = None, progress: Progress | None = None, label: str = "",
    tolerance: float = 0.0, bitsets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """Lower and upper covered mass under the zero-mismatch HvG rule.

    Parameters
    ----------
    codes : numpy.ndarray
        int32 array of shape (n, n_loci).
    freqs : numpy.ndarray
        float64 array of shape (n,).
    line_codes : numpy.ndarray
        int32 array of shape (n_lines, 2, n_loci).
    n_alleles : list of int
        Vocabulary size per locus.
    unlisted : float
        Unlisted mass U.
    line_nulls : numpy.ndarray, optional
        bool (n_lines, 2, n_loci): null line alleles, never mismatches.
    progress, label : optional
        Progress callback and the label it is given.
    tolerance : float
        0: exact.  ε > 0: visit patient genotypes most frequent first and stop once the pairs
        not yet visited weigh at most ε; they count in ``upper`` only, so ``upper − lower`` grows
        by at most ε.  When the exact line sweep's measured work is below the bounded run's
        (by :data:`SWEEP_MARGIN`), the exact value is computed instead (the width grows by 0).
    bitsets : (b1, b2, hom), optional
        Precomputed line bitsets (default: :func:`hlamatch.encode.line_bitsets` of the codes).

    Returns
    -------
    (float, float)
        ``lower = listed + 2U·novel`` and ``upper = listed + 2U·wildcard + U²``, clipped to [0, 1].
    """
    from .encode import collapse, merged_bitsets
    from .engine import current_engine

    if line_codes.shape[0] == 0:
        return 0.0, 0.0
    if bitsets is None:
        # exact runs: rows by pattern, so that the pair loop (when it is the one that runs) skips
        # the pairs no line can cover in runs
        b1, b2, f, hom, het, patterns = merged_bitsets(codes, freqs, line_codes, n_alleles, line_nulls,
                                                       by_frequency=tolerance > 0, by_pattern=tolerance == 0)
        n_loci, n_words = codes.shape[1], word_count(line_codes.shape[0])
    else:
        b1, b2, hom = bitsets
        n_loci, n_words = b1.shape[1], b1.shape[2]
        het = not np.array_equal(b1, b2)
        b1, b2, f = collapse(b1, b2, freqs, by_frequency=tolerance > 0)
        patterns = None  # one class: every pair
    n = f.shape[0]
    if tolerance == 0 and n * (n + 1) // 2 <= small.SMALL_PAIRS and current_engine().name == "local":
        # Few pairs after merging: NumPy computes them faster than numba loads its kernels.
        _unlisted_partner_mass = small.unlisted_partner_mass
        listed = small.pair_mass(b1, b2, het, n_words, n_loci, f)
        lower, upper = listed, listed
    elif tolerance > 0:
        from .kernels import _pair_mass_rows, _unlisted_partner_mass

        # patient genotypes most probable first: exactly those of probability ≥ a threshold
        stops, left_out = stair_stops(f, tolerance)
        rows = np.arange(f.shape[0])
        n_visit = int(np.count_nonzero(stops > rows))
        visited = float(np.maximum(stops - rows, 0).sum())
        work = cheaper_sweep(b1, b2, het, n_words, n_loci, line_codes.shape[0], n, visited)
        if work is not None:
            # the exact line sweep does less work than the bounded run: exact, upper − lower = 0 ≤ ε
            listed = exact_listed_mass(b1, b2, het, n_words, n_loci, f, None, line_codes.shape[0], progress, label,
                                       work=work)
            lower, upper = listed, listed
        else:
            parts = run_ranges(_pair_mass_rows, (b1, b2, het, n_words, n_loci, f, stops),
                               row_ranges(n_visit, n_words / 8), progress, label) if n_visit else np.zeros(0)
            listed = float(exact_sum(parts)) if parts.shape[0] else 0.0
            lower, upper = listed, listed + left_out
    else:
        from .kernels import _unlisted_partner_mass

        listed = exact_listed_mass(b1, b2, het, n_words, n_loci, f, patterns, line_codes.shape[0], progress, label)
        lower, upper = listed, listed
    if unlisted > 0:
        lower += 2.0 * unlisted * _unlisted_partner_mass(b1, b2, hom, n_words, n_loci, f, False)
        if line_nulls is not None and line_nulls.all(axis=(1, 2)).any():
            # A line with no expressed allele at these loci matches every patient, even two
            # unlisted chromosomes.
            lower += unlisted * unlisted
        upper += 2.0 * unlisted * _unlisted_partner_mass(b1, b2, hom, n_words, n_loci, f, True)
        upper += unlisted * unlisted
    return min(1.0, max(0.0, lower)), min(1.0, max(0.0, upper))
