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

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .constants import LEVEL_CHOICES, LEVELS, MASS_EPSILON
from .errors import OptionError
from .lines import Line, as_lines, encode_lines, line_loci
from .rules import MatchRules
from .tables import HaplotypeTable

#: Progress callback: ``progress(label, fraction_done)``.
Progress = Callable[[str, float], None]

__all__ = ["CoverageResult", "CoverageReport", "coverage", "DEFINITIONS", "resolve_table", "MatchRules"]

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

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (lists instead of tuples), ready for JSON."""
        d = asdict(self)
        d["loci"] = list(self.loci)
        d["lines"] = list(self.lines)
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

    def get(self, level: str, population: str | None = None) -> CoverageResult:
        """The result for ``level`` (and ``population``, needed when there are several)."""
        hits = [r for r in self._results if r.level == level and (population is None or r.population == population)]
        if len(hits) != 1:
            raise OptionError(f"no single result for level={level!r}, population={population!r}")
        return hits[0]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self._results]

    def to_polars(self):
        """A polars DataFrame with one row per population and level."""
        import polars as pl

        rows = self.to_dicts()
        for r in rows:
            r["loci"] = "~".join(r["loci"])
        return pl.DataFrame(rows)


def resolve_table(
    table: HaplotypeTable | str | Path | None,
    *,
    format: str = "auto",
    sum_tolerance: float | None = None,
) -> HaplotypeTable:
    """A table object from a table, a bundled table's name, or a file path (None: the default table).

    ``format`` and ``sum_tolerance`` are passed to :func:`~hlamatch.tables.load_table` for files.
    """
    if isinstance(table, HaplotypeTable):
        return table
    from .constants import DEFAULT_SUM_TOLERANCE
    from .data import available_tables, default_table, load_bundled
    from .tables import load_table

    text = default_table() if table is None else str(table)
    if text in available_tables():
        return load_bundled(text)
    if Path(text).exists():
        tol = DEFAULT_SUM_TOLERANCE if sum_tolerance is None else sum_tolerance
        return load_table(text, format=format, sum_tolerance=tol)
    raise OptionError(
        f"table {text!r} is neither a bundled table ({', '.join(available_tables())}) nor an existing file"
    )


def _levels(level: str) -> tuple[str, ...]:
    if level not in LEVEL_CHOICES:
        raise OptionError(f"unknown level {level!r} (choose from {', '.join(LEVEL_CHOICES)})")
    return LEVELS if level == "both" else (level,)


def coverage(
    table: HaplotypeTable | str | Path,
    lines: Iterable[str | Line],
    *,
    level: str = "both",
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    populations: Sequence[str] | None = None,
    threads: int | None = None,
    rules: MatchRules | None = None,
    distribution: bool = False,
    progress: Progress | None = None,
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
    resolution : {"2-field", "1-field"}, optional
        Default: the table's own.
    populations : sequence of str, optional
        Default: every population of the table.
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

    Returns
    -------
    CoverageReport
        One :class:`CoverageResult` per population and level.

    Raises
    ------
    HlamatchError
        Bad lines, loci, resolution, population, level or rules.

    Examples
    --------
    >>> from hlamatch import bundled_table, coverage
    >>> r = coverage(bundled_table("japanese"), ["A*24:02~B*52:01~DRB1*15:02"], level="haplotype")
    >>> round(r[0].lower, 4)
    0.1521
    """
    if rules is None:
        rules = MatchRules(**rule_options)
    elif rule_options:
        raise OptionError("give match rules either as a MatchRules object or as keywords, not both")
    tab = resolve_table(table)
    parsed = as_lines(lines)
    if not parsed:
        raise OptionError("no lines given: pass at least one line (--line, --lines-file or --top)")
    levels = _levels(level)
    use_loci = tuple(loci) if loci is not None else line_loci(parsed, tab.loci, tab.source)
    sel = tab.select(use_loci, resolution)
    limits = rules.locus_limits(sel.loci)
    line_codes, line_nulls = encode_lines(parsed, sel.loci, sel.resolution, sel.alleles, sel.source)
    names = tuple(ln.text(sel.loci, sel.resolution) for ln in parsed)
    pops = tab.populations if populations is None else tuple(
        tab.populations[tab.population_index(p)] for p in populations
    )
    sizes = [len(a) for a in sel.alleles]
    from ._jit import num_threads
    from .encode import allele_nulls, identity_codes

    results = []
    with num_threads(threads):
        for pop in pops:
            rows = sel.population_rows(pop)
            codes = np.ascontiguousarray(sel.codes[rows])
            freqs = np.ascontiguousarray(sel.freqs[rows, sel.population_index(pop)])
            unlisted = sel.unlisted_mass(pop)
            nulls = None  # null flags of the rows, computed once if a general-rule level needs them
            for lev in levels:
                haplo = lev == "haplotype"
                dist = dist_hi = None
                if rules.is_default and not distribution and not (haplo and line_nulls.any()):
                    if haplo:
                        c, lc, n_al = identity_codes(codes, line_codes)
                    else:
                        c, lc, n_al = codes, line_codes, sizes
                    lower, upper = zero_mismatch_bounds(c, freqs, lc, n_al, unlisted, line_nulls if not haplo else None,
                                                        progress=progress, label=f"{pop} {lev}")
                else:
                    if nulls is None:
                        nulls = allele_nulls(codes, sel.alleles)
                    lo, hi = mismatch_histograms(
                        codes, nulls, freqs, line_codes, line_nulls, sizes,
                        rules, limits, haplo, unlisted, progress=progress, label=f"{pop} {lev}",
                    )
                    k = min(rules.max_mismatches, lo.shape[0] - 2)
                    lower = min(1.0, max(0.0, math.fsum(lo[: k + 1])))
                    upper = min(1.0, max(0.0, math.fsum(hi[: k + 1])))
                    dist, dist_hi = _bins(lo), _bins(hi)
                results.append(
                    CoverageResult(
                        population=pop, level=lev, loci=sel.loci, resolution=sel.resolution,
                        lines=names, coverage=lower, lower=lower, upper=upper, unlisted_mass=unlisted,
                        rule=rules.describe(sel.loci), definition=DEFINITIONS[lev], table=tab.source,
                        rules=rules.to_dict(), distribution=dist, distribution_upper=dist_hi,
                    )
                )
    return CoverageReport(results)


#: Pair evaluations per progress step; smaller runs are done in one kernel call.
_PROGRESS_PAIRS = 20_000_000


def _over_folds(kernel, n: int, work_per_pair: float, progress: Progress | None, label: str) -> np.ndarray:
    """Run ``kernel(fold_start, fold_stop)`` over all folds of ``n`` rows, in batches when long.

    Folds are independent, so batches give the same result as one call; between batches
    ``progress(label, fraction_done)`` is called.
    """
    n_folds = (n + 1) // 2
    pairs = n * (n + 1) / 2 * work_per_pair
    n_batches = 1 if progress is None else int(min(100, max(1, pairs // _PROGRESS_PAIRS)))
    if n_batches == 1:
        return kernel(0, n_folds)
    parts = []
    for b in range(n_batches):
        parts.append(kernel(b * n_folds // n_batches, (b + 1) * n_folds // n_batches))
        progress(label, (b + 1) / n_batches)
    return np.concatenate(parts)


def _bins(hist: np.ndarray) -> dict[str, float]:
    """Histogram as {"0": share, "1": share, ..., "unmatched": share}."""
    out = {str(m): float(hist[m]) for m in range(hist.shape[0] - 1)}
    out["unmatched"] = float(hist[-1])
    return out


def mismatch_histograms(
    codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, line_nulls: np.ndarray,
    n_alleles: list[int], rules: MatchRules, limits: np.ndarray, haplo: bool, unlisted: float,
    progress: Progress | None = None, label: str = "",
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

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        float64 arrays of shape (2·n_loci + 2,): index m = best line has m mismatches, last =
        no line within the per-locus limits.  The first treats unlisted chromosomes as novel
        (lower bound for coverage), the second as wildcards (upper bound).
    """
    from .encode import recode_for_lines
    from .kernels import NOVEL_A, NOVEL_B, WILDCARD, _mismatch_hist_folds, _mismatch_hist_partner, _pair_best

    if rules.direction == "HvG" or rules.homozygous_count == 2:
        # Exact merge (see recode_for_lines): HvG never looks at the patient's other alleles, and
        # with homozygous_count=2 two different other alleles count the same as one twice.
        codes, nulls, freqs = recode_for_lines(codes, nulls, freqs, line_codes, n_alleles)
    n_bins = 2 * codes.shape[1] + 2
    hom2 = rules.homozygous_count == 2
    d = rules.direction_code
    args = (line_codes, line_nulls, hom2, d, haplo, limits)
    per_fold = _over_folds(
        lambda a, b: _mismatch_hist_folds(codes, nulls, freqs, *args, n_bins, a, b),
        freqs.shape[0], line_codes.shape[0] * (16 if haplo else 1), progress, label,
    )
    listed = np.array([math.fsum(per_fold[:, b]) for b in range(n_bins)])
    lo, hi = listed.copy(), listed.copy()
    if unlisted > 0:
        for hist, solo, pair in ((lo, NOVEL_A, (NOVEL_A, NOVEL_B)), (hi, WILDCARD, (WILDCARD, WILDCARD))):
            hist += 2.0 * unlisted * _mismatch_hist_partner(codes, nulls, freqs, *args, n_bins, solo)
            b = _pair_best(codes, nulls, pair[0], pair[1], *args)
            hist[n_bins - 1 if b < 0 else b] += unlisted * unlisted
    return lo, hi


def zero_mismatch_bounds(
    codes: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, n_alleles: list[int], unlisted: float,
    line_nulls: np.ndarray | None = None, progress: Progress | None = None, label: str = "",
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

    Returns
    -------
    (float, float)
        ``lower = listed + 2U·novel`` and ``upper = listed + 2U·wildcard + U²``, clipped to [0, 1].
    """
    from .encode import collapse, line_bitsets
    from .kernels import _pair_mass_folds, _unlisted_partner_mass

    if line_codes.shape[0] == 0:
        return 0.0, 0.0
    b1, b2, hom = line_bitsets(codes, line_codes, n_alleles, line_nulls)
    het = not np.array_equal(b1, b2)
    n_words, n_loci = b1.shape[2], b1.shape[1]
    b1, b2, f = collapse(b1, b2, freqs)
    folds = _over_folds(
        lambda a, b: _pair_mass_folds(b1, b2, het, n_words, n_loci, f, a, b),
        f.shape[0], n_words / 8, progress, label,
    )
    listed = math.fsum(folds)
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
