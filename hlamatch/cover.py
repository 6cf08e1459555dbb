"""Public coverage API: population coverage of a bank of donor lines.

Definitions (``docs/matching-model.md`` of the project; every result names the one it used):

* **haplotype level** (phase-aware): a patient is covered when, for some line, each line
  haplotype is one of the patient's two haplotypes (for a homozygous line *d*: h1 = d or h2 = d).
* **genotype level** (unphased): a patient is covered when, for some line, every HvG allele of
  the line at every locus is among the patient's two alleles there.

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
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .constants import DEFAULT_DIRECTION, LEVEL_CHOICES, LEVELS, MASS_EPSILON
from .errors import OptionError
from .lines import Line, as_lines, encode_lines, line_loci
from .tables import HaplotypeTable

__all__ = ["CoverageResult", "CoverageReport", "coverage", "DEFINITIONS", "resolve_table"]

DEFINITIONS: dict[str, str] = {
    "haplotype": (
        "haplotype level (phase-aware): share of HWE patient genotypes that carry, for some line, "
        "each line haplotype as one of their two haplotypes"
    ),
    "genotype": (
        "genotype level (unphased): share of HWE patient genotypes whose two alleles at every locus "
        "include every HvG allele of some line"
    ),
}
ZERO_MISMATCH_RULE = f"{DEFAULT_DIRECTION} mismatches = 0"


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


def resolve_table(table: HaplotypeTable | str | Path) -> HaplotypeTable:
    """A table object from a table, a file path, or the name of a bundled table."""
    if isinstance(table, HaplotypeTable):
        return table
    from .data import available_tables, load_bundled
    from .tables import load_table

    text = str(table)
    if text in available_tables():
        return load_bundled(text)
    if Path(text).exists():
        return load_table(text)
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
) -> CoverageReport:
    """Exact coverage of a bank of donor lines, at zero HvG mismatches.

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

    Returns
    -------
    CoverageReport
        One :class:`CoverageResult` per population and level.

    Raises
    ------
    HlamatchError
        Bad lines, loci, resolution, population or level.

    Examples
    --------
    >>> from hlamatch import bundled_table, coverage
    >>> r = coverage(bundled_table("japanese"), ["A*24:02~B*52:01~DRB1*15:02"], level="haplotype")
    >>> round(r[0].lower, 4)
    0.1523
    """
    tab = resolve_table(table)
    parsed = as_lines(lines)
    if not parsed:
        raise OptionError("no lines given: pass at least one line (--line, --lines-file or --top)")
    levels = _levels(level)
    use_loci = tuple(loci) if loci is not None else line_loci(parsed, tab.loci, tab.source)
    sel = tab.select(use_loci, resolution)
    line_codes = encode_lines(parsed, sel.loci, sel.resolution, sel.alleles, sel.source)
    names = tuple(ln.text(sel.loci, sel.resolution) for ln in parsed)
    pops = tab.populations if populations is None else tuple(
        tab.populations[tab.population_index(p)] for p in populations
    )
    from ._jit import num_threads

    results = []
    with num_threads(threads):
        for pop in pops:
            rows = sel.population_rows(pop)
            codes = np.ascontiguousarray(sel.codes[rows])
            freqs = np.ascontiguousarray(sel.freqs[rows, sel.population_index(pop)])
            unlisted = sel.unlisted_mass(pop)
            for lev in levels:
                if lev == "haplotype":
                    c, lc, sizes = _identity(codes, line_codes)
                else:
                    c, lc, sizes = codes, line_codes, [len(a) for a in sel.alleles]
                lower, upper = zero_mismatch_bounds(c, freqs, lc, sizes, unlisted)
                results.append(
                    CoverageResult(
                        population=pop, level=lev, loci=sel.loci, resolution=sel.resolution,
                        lines=names, coverage=lower, lower=lower, upper=upper, unlisted_mass=unlisted,
                        rule=ZERO_MISMATCH_RULE, definition=DEFINITIONS[lev], table=tab.source,
                    )
                )
    return CoverageReport(results)


def _identity(codes: np.ndarray, line_codes: np.ndarray):
    from .encode import identity_codes

    return identity_codes(codes, line_codes)


def zero_mismatch_bounds(
    codes: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, n_alleles: list[int], unlisted: float
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

    Returns
    -------
    (float, float)
        ``lower = listed + 2U·novel`` and ``upper = listed + 2U·wildcard + U²``, clipped to [0, 1].
    """
    from .encode import collapse, line_bitsets
    from .kernels import _pair_mass_folds, _unlisted_partner_mass

    if line_codes.shape[0] == 0:
        return 0.0, 0.0
    b1, b2, hom = line_bitsets(codes, line_codes, n_alleles)
    b1, b2, f = collapse(b1, b2, freqs)
    n_folds = (f.shape[0] + 1) // 2
    listed = math.fsum(_pair_mass_folds(b1, b2, f, 0, n_folds))
    lower, upper = listed, listed
    if unlisted > 0:
        lower += 2.0 * unlisted * _unlisted_partner_mass(b1, b2, hom, f, False)
        upper += 2.0 * unlisted * _unlisted_partner_mass(b1, b2, hom, f, True) + unlisted * unlisted
    return min(1.0, max(0.0, lower)), min(1.0, max(0.0, upper))
