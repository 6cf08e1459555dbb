"""Donor supply: how many people to type to find homozygous donors, and what a registry holds.

Definitions (section "Donor supply" of ``docs/matching-model.md``; every report carries them):

* A random person is **homozygous** for haplotype h with probability
  ``p_h = (1 − F)·f_h² + F·f_h`` under Hardy–Weinberg equilibrium with inbreeding coefficient F
  (default 0: plain HWE, ``p_h = f_h²``; F = 1: every person is homozygous, ``p_h = f_h``).  A
  person has the heterozygous genotype (d1, d2) with probability ``2·(1 − F)·f_d1·f_d2``.
* **People to type per donor found**: ``1 / p`` (infinite when p = 0).
* **Probability that a registry of R typed people holds at least one**: ``1 − (1 − p)^R``.
* **Expected distinct homozygous lines** in a registry of R: ``Σ_h [1 − (1 − p_h)^R]`` over the
  haplotypes the table LISTS for the population.  Unlisted haplotypes also give homozygous
  people, in unknown number, so this is a lower bound on the distinct homozygous haplotypes.
* **Expected coverage of the registry's bank**: the R people are independent draws, so the
  numbers of people homozygous for each listed haplotype, and of everybody else, are
  multinomial.  The bank B is the set of listed haplotypes with at least one homozygous person;
  the figure is E[coverage(B)] at haplotype and/or genotype level, under the match rules.

How the expectation is computed (each result says which):

* **exact** (haplotype level, default rule of zero HvG mismatches).  A patient chromosome h is
  matched by the bank iff B holds a haplotype of ``C(h)``, the listed haplotypes whose line
  matches h: h itself and any haplotype equal to h at every locus where it carries an expressed
  allele (a null allele is never a mismatch).  With ``T`` the listed mass of unmatched
  chromosomes and U the unlisted mass, coverage(B) = ``1 − (U + T)²`` (lower bound: unlisted
  chromosomes never match, unless B holds a line with no expressed allele at all), so
  E[coverage] = ``1 − E[(U + T)²]`` needs only P(h unmatched) = ``(1 − Q_h)^R`` and
  P(h and g unmatched) = ``(1 − Q_h − Q_g + Q_hg)^R`` with ``Q_h = Σ_{d∈C(h)} p_d`` and
  ``Q_hg`` the p-mass of ``C(h) ∩ C(g)`` (zero unless null alleles are involved).  Summing over
  all pairs in chunks is O(n²) and exact up to rounding.  Upper bound: unlisted chromosomes as
  wildcards that match whenever possible, as :func:`hlamatch.coverage` defines it for a bank:
  coverage(B) = ``1 − T²`` when B is not empty (0 when it is), so
  E[upper] = ``1 − E[T²] − P(B = ∅)·(1 − L²)``, L = 1 − U, P(B = ∅) = ``(1 − Σ_h p_h)^R``.
* **Monte Carlo** (genotype level, any other rule, or when asked): ``samples`` multinomial draws
  of the registry with ``numpy.random.default_rng(seed)``; each gives B, whose coverage bounds
  :func:`hlamatch.cover.bank_bounds` computes exactly.  The report gives the mean, its standard
  error (sample standard deviation / √samples) and the normal 95% interval mean ± 1.96·SE,
  clipped to [0, 1].  Every registry size and population starts from the same seed, and both
  levels are evaluated on the same draws.

Both bounds concern the bank of LISTED homozygous haplotypes: lines homozygous for unlisted
haplotypes are unknown and not counted (at haplotype level they can only match patients carrying
an unlisted chromosome, which the upper bound already counts as matched).

A **weighted mix** of populations (weights w_p): per population, the report describes a registry
of that population alone; the ``"weighted"`` rows describe one registry drawn from the mix (a
person comes from population p with probability w_p, so ``p_h = Σ_p w_p·p_h,p``) whose bank
serves the mix of patients: E[Σ_p w_p·coverage_p(B)].
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .constants import LEVEL_CHOICES, LEVELS
from .engine import Progress
from .errors import OptionError
from .lines import Line, as_lines, top_lines
from .problem import PopulationArrays, Populations, Problem, prepare
from .rules import MatchRules
from .tables import HaplotypeTable

__all__ = [
    "METHODS",
    "SUPPLY_DEFINITIONS",
    "CandidateSupply",
    "LevelSupply",
    "RegistrySupply",
    "SupplyReport",
    "donor_probability",
    "people_per_donor",
    "registry_probability",
    "expected_distinct",
    "supply",
]

#: How expected registry coverage may be computed: ``auto`` = exact where it can be, Monte Carlo
#: elsewhere; ``exact`` = exact or an error; ``monte-carlo`` = Monte Carlo everywhere.
METHODS: tuple[str, ...] = ("auto", "exact", "monte-carlo")

#: Label of a weighted mix's rows (the same as :data:`hlamatch.cover.WEIGHTED`).
WEIGHTED = "weighted"

#: z-value of a two-sided 95% normal interval.
_Z95 = 1.959963984540054
#: Elements of one chunk of the O(n²) pair sum (float64: 16 MB).
_CHUNK_ELEMENTS = 2_000_000

SUPPLY_DEFINITIONS: dict[str, str] = {
    "p_donor": (
        "probability that a random person has the line's genotype under HWE with inbreeding coefficient F: "
        "homozygous h: (1 − F)·f_h² + F·f_h; heterozygous (d1, d2): 2·(1 − F)·f_d1·f_d2; a weighted mix: "
        "Σ_p w_p·p_donor,p"
    ),
    "people_per_donor": "expected people to type per donor found: 1 / p_donor (infinite when p_donor = 0)",
    "p_in_registry": "probability that a registry of R typed people holds at least one such donor: 1 − (1 − p_donor)^R",
    "expected_distinct_lines": (
        "expected number of distinct homozygous haplotypes among R typed people: Σ_h [1 − (1 − p_h)^R] over the "
        "haplotypes listed for the population (for a mix: listed for one of its populations); unlisted "
        "haplotypes are unknown, so this is a lower bound"
    ),
    "expected_coverage": (
        "expected coverage of the bank of homozygous lines for every listed haplotype with at least one "
        "homozygous person among R (multinomial registry); lower bound: unlisted patient chromosomes never "
        "match; lines for unlisted haplotypes are not counted"
    ),
    "expected_upper": (
        "the same expectation with unlisted patient chromosomes as wildcards that match whenever the bank "
        "is not empty (the upper bound of hlamatch coverage)"
    ),
    "ci": (
        "exact: ci_low = ci_high = expected_coverage, standard_error 0; Monte Carlo: mean ± 1.96 × standard "
        "error (sample standard deviation / √samples), clipped to [0, 1]"
    ),
    "weighted": (
        "population 'weighted': one registry drawn from the mix (a person comes from population p with "
        "probability w_p), its bank evaluated for the mix of patients: Σ_p w_p·coverage_p"
    ),
}


# ====================================================================== pure functions


def _check_inbreeding(inbreeding: float) -> float:
    try:
        F = float(inbreeding)
    except (TypeError, ValueError):
        raise OptionError(f"the inbreeding coefficient must be a number in [0, 1], got {inbreeding!r}") from None
    if isinstance(inbreeding, bool) or not (0.0 <= F <= 1.0):
        raise OptionError(f"the inbreeding coefficient must be a number in [0, 1], got {inbreeding!r}")
    return F


def _check_size(registry_size: int) -> int:
    if isinstance(registry_size, bool) or not isinstance(registry_size, (int, np.integer)) or registry_size < 1:
        raise OptionError(f"registry sizes must be whole numbers ≥ 1, got {registry_size!r}")
    return int(registry_size)


def _as_probabilities(p, what: str) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise OptionError(f"{what} must lie in [0, 1], got {p!r}")
    return arr


def _scalar(arr: np.ndarray):
    """A 0-d result as a NumPy float scalar, any other as the array."""
    return arr[()] if arr.ndim == 0 else arr


def donor_probability(f1, f2=None, inbreeding: float = 0.0):
    """Probability that a random person has a line's genotype, under HWE with inbreeding.

    Parameters
    ----------
    f1 : float or array_like of float
        Frequency of the line's (first) haplotype, in [0, 1]; arrays broadcast.
    f2 : float or array_like of float, optional
        Frequency of the second haplotype of a heterozygous line; None: homozygous line.
    inbreeding : float
        Inbreeding coefficient F in [0, 1] (excess homozygosity); 0 is plain HWE.

    Returns
    -------
    float or numpy.ndarray of float64
        Homozygous: ``(1 − F)·f1² + F·f1``; heterozygous: ``2·(1 − F)·f1·f2``.  Shape of the
        broadcast inputs (a NumPy scalar for scalar inputs).

    Raises
    ------
    OptionError
        F outside [0, 1], or a frequency outside [0, 1].

    Examples
    --------
    >>> float(donor_probability(0.5)), float(donor_probability(0.5, 0.25)), float(donor_probability(0.5, inbreeding=1))
    (0.25, 0.25, 0.5)
    """
    F = _check_inbreeding(inbreeding)
    a = _as_probabilities(f1, "haplotype frequencies")
    if f2 is None:
        return _scalar((1.0 - F) * a * a + F * a)
    b = _as_probabilities(f2, "haplotype frequencies")
    return _scalar(2.0 * (1.0 - F) * a * b)


def people_per_donor(p):
    """Expected people to type per donor found: ``1 / p`` (``inf`` where p = 0).

    Parameters
    ----------
    p : float or array_like of float
        Probability that one person is a suitable donor, in [0, 1].

    Returns
    -------
    float or numpy.ndarray of float64
        Same shape as ``p``.

    Raises
    ------
    OptionError
        A probability outside [0, 1].
    """
    arr = _as_probabilities(p, "donor probabilities")
    with np.errstate(divide="ignore", over="ignore"):  # p = 0 (or subnormal): infinitely many
        return _scalar(1.0 / arr)


def registry_probability(p, registry_size: int):
    """Probability that a registry of R typed people holds at least one donor: ``1 − (1 − p)^R``.

    Computed as ``−expm1(R·log1p(−p))``, accurate for tiny p and large R.

    Parameters
    ----------
    p : float or array_like of float
        Per-person donor probability, in [0, 1].
    registry_size : int
        R ≥ 1.

    Returns
    -------
    float or numpy.ndarray of float64
        Same shape as ``p``.

    Raises
    ------
    OptionError
        R not a whole number ≥ 1, or a probability outside [0, 1].

    Examples
    --------
    >>> round(float(registry_probability(0.25, 2)), 12)
    0.4375
    """
    R = _check_size(registry_size)
    arr = _as_probabilities(p, "donor probabilities")
    return _scalar(-np.expm1(R * _log1m(arr)))


def expected_distinct(p_all, registry_size: int) -> float:
    """Expected number of distinct homozygous haplotypes in a registry of R: ``Σ_h [1 − (1 − p_h)^R]``.

    Parameters
    ----------
    p_all : array_like of float
        Shape (n_haplotypes,): the homozygosity probability p_h of every listed haplotype
        (:func:`donor_probability`).  Haplotypes left out count nothing, so over a table's listed
        haplotypes the result is a lower bound.
    registry_size : int
        R ≥ 1.

    Returns
    -------
    float
        Summed exactly (``math.fsum``).

    Raises
    ------
    OptionError
        R not a whole number ≥ 1, or a probability outside [0, 1].
    """
    terms = np.atleast_1d(registry_probability(p_all, registry_size))
    return math.fsum(terms.tolist())


def _log1m(x: np.ndarray) -> np.ndarray:
    """``log(1 − x)`` for x in [0, 1] (values above 1 read as 1: ``-inf``), without warnings."""
    with np.errstate(divide="ignore"):
        return np.log1p(-np.minimum(x, 1.0))


# ====================================================================== results


@dataclass(frozen=True)
class CandidateSupply:
    """Supply figures of one candidate line in one population (or the weighted mix).

    Attributes
    ----------
    population : str
        A population, or ``"weighted"`` for the mix.
    line : str
        The line at the computation's loci and resolution.
    homozygous : bool
    frequency : float
        Frequency of the (first) haplotype (mix: Σ_p w_p·f_p); 0 when the table does not list it.
    frequency_2 : float or None
        Frequency of the second haplotype of a heterozygous line.
    p_donor : float
        Probability that a random person has the line's genotype.
    people_per_donor : float
        1 / p_donor (``inf`` when p_donor = 0; None in :meth:`to_dict`).
    p_in_registry : tuple of float
        For each registry size of the report, in order: 1 − (1 − p_donor)^R.
    name : str or None
        When some candidate has a name of its own (a lines file's ``name`` column): the line's
        name (its text where it has none); None otherwise (then not in :meth:`SupplyReport.to_dicts`).
    """

    population: str
    line: str
    homozygous: bool
    frequency: float
    frequency_2: float | None
    p_donor: float
    people_per_donor: float
    p_in_registry: tuple[float, ...]
    name: str | None = None


@dataclass(frozen=True)
class LevelSupply:
    """Expected coverage of a registry's homozygous bank at one level.

    Attributes
    ----------
    level : {"haplotype", "genotype"}
    expected_coverage : float
        E[lower coverage of the bank] (unlisted chromosomes never match).
    expected_upper : float
        E[upper coverage of the bank] (unlisted chromosomes as wildcards).
    standard_error : float
        Standard error of ``expected_coverage``: 0 when exact; NaN for a single Monte Carlo sample.
    ci_low, ci_high : float
        95% interval of ``expected_coverage`` (equal to it when exact).
    method : str
        ``"exact"`` or ``"monte carlo (N samples, seed S)"``.
    """

    level: str
    expected_coverage: float
    expected_upper: float
    standard_error: float
    ci_low: float
    ci_high: float
    method: str


@dataclass(frozen=True)
class RegistrySupply:
    """What a registry of R typed people of one population (or the mix) holds.

    Attributes
    ----------
    population : str
    registry_size : int
    expected_distinct_lines : float
        Expected distinct homozygous listed haplotypes (a lower bound, see the definitions).
    p_no_line : float
        Probability that the registry holds no homozygous person for a listed haplotype.
    levels : tuple of LevelSupply
        Expected coverage of the registry's homozygous bank, per level.
    """

    population: str
    registry_size: int
    expected_distinct_lines: float
    p_no_line: float
    levels: tuple[LevelSupply, ...]

    def level(self, level: str) -> LevelSupply:
        """The figures at ``level``."""
        for lv in self.levels:
            if lv.level == level:
                return lv
        raise OptionError(f"no result at level {level!r} (computed: {', '.join(lv.level for lv in self.levels)})")


def _json_float(x):
    """A float for JSON: None for NaN and infinities."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class SupplyReport:
    """The result of :func:`supply`: per-candidate figures and per-registry expectations.

    Attributes
    ----------
    table : str
        The table's source.
    loci : tuple of str
    resolution : str
    rule : str
        The match rule in words; ``rules`` machine-readable.
    rules : dict
    inbreeding : float
    registry_sizes : tuple of int
    levels : tuple of str
    method : str
        The method asked for (``auto``, ``exact`` or ``monte-carlo``); each level result says
        which one it used.
    samples, seed : int
        Monte Carlo settings (used only where a result's method says so).
    weights : dict or None
        ``{population: weight}`` of a weighted mix.
    unlisted_mass : dict
        ``{population: 1 − listed mass}``.
    definitions : dict
        Every figure's definition (:data:`SUPPLY_DEFINITIONS` and the coverage levels').
    candidates : tuple of CandidateSupply
    registries : tuple of RegistrySupply
        One per population (then the mix) and registry size.
    """

    table: str
    loci: tuple[str, ...]
    resolution: str
    rule: str
    rules: dict[str, Any]
    inbreeding: float
    registry_sizes: tuple[int, ...]
    levels: tuple[str, ...]
    method: str
    samples: int
    seed: int
    weights: dict[str, float] | None
    unlisted_mass: dict[str, float]
    definitions: dict[str, str]
    candidates: tuple[CandidateSupply, ...]
    registries: tuple[RegistrySupply, ...]

    @property
    def populations(self) -> tuple[str, ...]:
        """Populations of the report, then ``"weighted"`` for a mix."""
        names = list(self.unlisted_mass)
        return tuple(names + ([WEIGHTED] if self.weights is not None else []))

    def registry(self, registry_size: int, population: str | None = None) -> RegistrySupply:
        """The figures for one registry size (and population, needed when there are several)."""
        hits = [r for r in self.registries
                if r.registry_size == registry_size and (population is None or r.population == population)]
        if len(hits) != 1:
            raise OptionError(f"no single result for registry_size={registry_size!r}, population={population!r}")
        return hits[0]

    def _context(self) -> dict[str, Any]:
        return {"loci": list(self.loci), "resolution": self.resolution, "rule": self.rule, "table": self.table,
                "inbreeding": self.inbreeding}

    def to_dicts(self, part: str = "registry") -> list[dict[str, Any]]:
        """Flat JSON-ready rows (NaN and infinities as None).

        Parameters
        ----------
        part : {"registry", "candidates"}
            ``registry``: one row per population, registry size and level (``population``,
            ``registry_size``, ``expected_distinct_lines``, ``p_no_line``, ``level``,
            ``expected_coverage``, ``expected_upper``, ``standard_error``, ``ci_low``,
            ``ci_high``, ``method``, ``definition`` (``supply-expected-hwe-LEVEL``) and the context:
            loci, resolution, rule, table, inbreeding).
            ``candidates``: one row per population and candidate (``population``, ``line``,
            ``homozygous``, ``frequency``, ``frequency_2``, ``p_donor``, ``people_per_donor``,
            ``p_in_registry_R`` for each registry size R, ``definition`` (``supply-donor-hwe``), then
            the context).  The definitions' texts are in :meth:`to_dict`'s ``definitions``.
        """
        from .cover import DEFINITION_NAMES

        ctx = self._context()
        rows: list[dict[str, Any]] = []
        if part == "registry":
            for r in self.registries:
                for lv in r.levels:
                    row = {"population": r.population, "registry_size": r.registry_size,
                           "expected_distinct_lines": r.expected_distinct_lines, "p_no_line": r.p_no_line}
                    row.update({k: (_json_float(v) if isinstance(v, float) else v) for k, v in asdict(lv).items()})
                    # which definition (``definitions`` of to_dict holds the texts): the expected HWE coverage
                    row["definition"] = f"supply-expected-{DEFINITION_NAMES[lv.level]}"
                    rows.append({**row, **ctx})
        elif part == "candidates":
            for c in self.candidates:
                row = {"population": c.population, "line": c.line,
                       **({"name": c.name} if c.name is not None else {}), "homozygous": c.homozygous,
                       "frequency": c.frequency, "frequency_2": _json_float(c.frequency_2),
                       "p_donor": c.p_donor, "people_per_donor": _json_float(c.people_per_donor)}
                row.update({f"p_in_registry_{R}": p for R, p in zip(self.registry_sizes, c.p_in_registry)})
                row["definition"] = "supply-donor-hwe"  # p_donor, people_per_donor, p_in_registry (definitions)
                rows.append({**row, **ctx})
        else:
            raise OptionError(f"unknown part {part!r} (choose from registry, candidates)")
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The whole report as one JSON-ready document: settings, definitions and both row lists."""
        return {
            "table": self.table, "loci": list(self.loci), "resolution": self.resolution, "rule": self.rule,
            "rules": self.rules, "inbreeding": self.inbreeding, "registry_sizes": list(self.registry_sizes),
            "levels": list(self.levels), "method": self.method, "samples": self.samples, "seed": self.seed,
            "weights": self.weights, "unlisted_mass": dict(self.unlisted_mass), "definitions": dict(self.definitions),
            "candidates": self.to_dicts("candidates"), "registry": self.to_dicts("registry"),
        }

    def to_polars(self, part: str = "registry"):
        """A polars DataFrame of :meth:`to_dicts` rows (loci joined with ``~``)."""
        import polars as pl

        rows = self.to_dicts(part)
        for r in rows:
            r["loci"] = "~".join(r["loci"])
        return pl.DataFrame(rows, infer_schema_length=None)


# ====================================================================== registry models


@dataclass(frozen=True, eq=False)
class _Registry:
    """A registry's people and the patients its bank serves.

    rows : int64 (n,) table rows a homozygous person can be found for (p > 0);
    p : float64 (n,) homozygosity probability of each;
    freqs : float64 (n, k) frequency of each row in each patient population;
    pops : the k patient populations, with ``weights`` (k,) summing to 1.
    """

    label: str
    rows: np.ndarray
    p: np.ndarray
    freqs: np.ndarray
    pops: tuple[PopulationArrays, ...]
    weights: np.ndarray


def _registries(problem: Problem, F: float) -> list[_Registry]:
    tab = problem.table
    out = []
    for pa in problem.populations:
        rows = np.asarray(tab.population_rows(pa.population), dtype=np.int64)
        f = tab.freqs[rows, tab.population_index(pa.population)]
        out.append(_Registry(pa.population, rows, np.asarray(donor_probability(f, inbreeding=F), dtype=np.float64),
                             np.ascontiguousarray(f[:, None]), (pa,), np.ones(1)))
    if problem.weights is not None:
        cols = [tab.population_index(pa.population) for pa in problem.populations]
        w = np.asarray(problem.weights, dtype=np.float64)
        p_all = np.asarray(donor_probability(tab.freqs[:, cols], inbreeding=F)) @ w
        rows = np.flatnonzero(p_all > 0)
        out.append(_Registry(WEIGHTED, rows, p_all[rows], np.ascontiguousarray(tab.freqs[np.ix_(rows, cols)]),
                             problem.populations, w))
    return out


# ====================================================================== exact (haplotype level)


def _matcher_structure(codes: np.ndarray, nulls: np.ndarray, p: np.ndarray):
    """Who matches whom at haplotype level under zero HvG mismatches, as probability masses.

    A homozygous line d matches chromosome h iff at every locus d's allele is null or equals
    h's.  Without null alleles that is d = h.

    Parameters
    ----------
    codes : int32 (n, n_loci); nulls : bool (n, n_loci); p : float64 (n,)
        The registry's rows, their null flags and homozygosity probabilities.

    Returns
    -------
    z : float
        p-mass of rows with no expressed allele (they match every chromosome, listed or not).
    q : float64 (n,)
        ``Q_h − z``: p-mass of the other rows whose line matches h (h itself included).
    pairs : (int64 (m,), int64 (m,), float64 (m,))
        Ordered pairs (h, g), h ≠ g, whose matcher sets share rows other than the all-null ones,
        and the p-mass they share.
    """
    n = codes.shape[0]
    any_null = nulls.any(axis=1)
    all_null = nulls.all(axis=1)
    z = math.fsum(p[all_null].tolist())
    q = np.where(any_null, 0.0, p)
    partial = np.flatnonzero(any_null & ~all_null)
    hs: list[np.ndarray] = []
    gs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    if partial.size:
        masks = nulls[partial]
        kinds, which = np.unique(masks, axis=0, return_inverse=True)
        which = which.reshape(-1)
        for kind, mask in enumerate(kinds):
            expressed = np.flatnonzero(~mask)
            # Group every row by its alleles at the loci where these lines are expressed: a line
            # matches exactly the rows of its own group.
            _, group = np.unique(codes[:, expressed], axis=0, return_inverse=True)
            group = group.reshape(-1)
            order = np.argsort(group, kind="stable")
            sorted_group = group[order]
            for d in partial[which == kind]:
                lo, hi = np.searchsorted(sorted_group, [group[d], group[d] + 1])
                members = order[lo:hi]
                q[members] += p[d]
                if members.size > 1:
                    hh, gg = np.meshgrid(members, members, indexing="ij")
                    off = hh != gg
                    hs.append(hh[off])
                    gs.append(gg[off])
                    ws.append(np.full(int(off.sum()), p[d]))
    if hs:
        key = np.concatenate(hs) * n + np.concatenate(gs)
        uniq, inv = np.unique(key, return_inverse=True)
        shared = np.bincount(inv.reshape(-1), weights=np.concatenate(ws))
        pairs = (uniq // n, uniq % n, shared)
    else:
        empty = np.zeros(0, dtype=np.int64)
        pairs = (empty, empty, np.zeros(0))
    return z, q, pairs


def _exact_haplotype(reg: _Registry, nulls: np.ndarray, codes: np.ndarray, sizes: Sequence[int],
                     progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
    """Exact E[lower] and E[upper] haplotype-level coverage of a registry's bank (default rule).

    Parameters
    ----------
    reg : _Registry
    nulls, codes : numpy.ndarray
        bool / int32 (n, n_loci) of the registry's rows.
    sizes : sequence of int
        Registry sizes.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        float64 arrays of shape (len(sizes), k): per registry size and patient population.
    """
    z, q, (ph, pg, shared) = _matcher_structure(codes, nulls, reg.p)
    f = reg.freqs
    n, k = f.shape
    sizes = [int(R) for R in sizes]
    # dense[i][j]: parts of Σ_{h,g} f_h f_g (1 − z − q_h − q_g)^R over ALL ordered pairs (h = g too).
    dense: list[list[list[float]]] = [[[] for _ in range(k)] for _ in sizes]
    step = max(1, _CHUNK_ELEMENTS // max(n, 1))
    label = f"{reg.label} supply (exact)"
    for start in range(0, n, step):
        stop = min(n, start + step)
        log_base = _log1m(z + q[start:stop, None] + q[None, :])
        fc = f[start:stop]
        for i, R in enumerate(sizes):
            part = np.einsum("ck,ck->k", fc, np.exp(R * log_base) @ f)
            for j in range(k):
                dense[i][j].append(float(part[j]))
        if progress is not None:
            progress(label, stop / n)
    lower = np.empty((len(sizes), k))
    upper = np.empty((len(sizes), k))
    unlisted = np.array([pa.unlisted for pa in reg.pops])
    total_p = math.fsum(reg.p.tolist())
    for i, R in enumerate(sizes):
        a = np.exp(R * _log1m(z + q))                                  # P(h unmatched)
        e_diag = np.exp(R * _log1m(z + 2.0 * q))                       # dense's h = g term
        e_pair = np.exp(R * _log1m(z + q[ph] + q[pg]))                 # dense's term for shared pairs
        b_pair = np.exp(R * _log1m(z + q[ph] + q[pg] - shared))        # P(h and g unmatched)
        p_empty = float(np.exp(R * _log1m(np.float64(total_p))))
        p_novel = float(np.exp(R * _log1m(np.float64(z))))             # P(an unlisted chromosome unmatched)
        for j in range(k):
            fj = f[:, j]
            t2 = math.fsum(dense[i][j] + (fj * fj * (a - e_diag)).tolist()
                           + (fj[ph] * fj[pg] * (b_pair - e_pair)).tolist())      # E[T²]
            ta = math.fsum((fj * a).tolist())                                      # E[T]
            U = float(unlisted[j])
            lower[i, j] = 1.0 - (t2 + 2.0 * U * ta + U * U * p_novel)
            upper[i, j] = 1.0 - t2 - p_empty * (1.0 - (1.0 - U) ** 2)
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


# ====================================================================== Monte Carlo


def _monte_carlo(problem: Problem, reg: _Registry, codes: np.ndarray, nulls: np.ndarray, R: int, levels: Sequence[str],
                 samples: int, seed: int, progress: Progress | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Weighted lower and upper coverage of ``samples`` registries' banks, per level.

    Returns
    -------
    dict
        level → (lower, upper), float64 arrays of shape (samples,): Σ_p w_p·coverage_p per draw.
    """
    from .cover import bank_bounds

    rng = np.random.default_rng(seed)
    pvals = np.append(reg.p, max(0.0, 1.0 - math.fsum(reg.p.tolist())))
    out = {lev: (np.empty(samples), np.empty(samples)) for lev in levels}
    seen: dict[bytes, dict[str, tuple[float, float]]] = {}
    label = f"{reg.label} supply R={R} (monte carlo)"
    every = max(1, samples // 50)
    for s in range(samples):
        # One draw at a time (memory O(n)); the stream is the same as one call with size=samples.
        bank = np.flatnonzero(rng.multinomial(R, pvals)[:-1] > 0)
        key = bank.tobytes()
        if key not in seen:
            lc = np.ascontiguousarray(np.repeat(codes[bank][:, None, :], 2, axis=1), dtype=np.int32)
            ln = np.ascontiguousarray(np.repeat(nulls[bank][:, None, :], 2, axis=1))
            got = {}
            for lev in levels:
                lo = hi = 0.0
                for w, pa in zip(reg.weights, reg.pops):
                    lower, upper, _, _ = bank_bounds(problem, pa, lev, lc, ln)
                    lo += float(w) * lower
                    hi += float(w) * upper
                got[lev] = (lo, hi)
            seen[key] = got
        for lev in levels:
            out[lev][0][s], out[lev][1][s] = seen[key][lev]
        if progress is not None and ((s + 1) % every == 0 or s + 1 == samples):
            progress(label, (s + 1) / samples)
    return out


def _summary(level: str, lower: np.ndarray, upper: np.ndarray, method: str) -> LevelSupply:
    mean = float(np.mean(lower))
    se = float(np.std(lower, ddof=1) / math.sqrt(lower.shape[0])) if lower.shape[0] > 1 else math.nan
    lo, hi = (mean - _Z95 * se, mean + _Z95 * se) if math.isfinite(se) else (math.nan, math.nan)
    return LevelSupply(level=level, expected_coverage=mean, expected_upper=float(np.mean(upper)), standard_error=se,
                       ci_low=max(0.0, lo) if math.isfinite(lo) else lo, ci_high=min(1.0, hi) if math.isfinite(hi) else hi,
                       method=method)


# ====================================================================== candidates


def _candidate_rows(problem: Problem, reg_pops: Sequence[PopulationArrays], weights: np.ndarray, label: str,
                    which: Sequence[int], sizes: Sequence[int], F: float) -> list[CandidateSupply]:
    tab = problem.table
    index = {tuple(c): r for r, c in enumerate(tab.codes.tolist())}
    cols = [tab.population_index(pa.population) for pa in reg_pops]
    out = []
    for c in which:
        t = problem.n_bank + c
        h1, h2 = (tuple(problem.line_codes[t, h].tolist()) for h in (0, 1))
        homozygous = h1 == h2
        f1 = np.array([tab.freqs[index[h1], col] if h1 in index else 0.0 for col in cols])
        f2 = np.array([tab.freqs[index[h2], col] if h2 in index else 0.0 for col in cols])
        p = donor_probability(f1, None if homozygous else f2, inbreeding=F)
        p_mix = float(np.dot(weights, p))
        out.append(CandidateSupply(
            population=label, line=problem.line_names[t], homozygous=homozygous,
            frequency=float(np.dot(weights, f1)), frequency_2=None if homozygous else float(np.dot(weights, f2)),
            p_donor=p_mix, people_per_donor=float(people_per_donor(p_mix)),
            p_in_registry=tuple(float(registry_probability(p_mix, R)) for R in sizes),
            name=problem.names[t] if problem.named else None,
        ))
    return out


def _registry_rows(problem: Problem, reg: _Registry, sizes: Sequence[int], levels: Sequence[str],
                   exact_levels: Sequence[str], samples: int, seed: int,
                   progress: Progress | None) -> list[RegistrySupply]:
    """Expected distinct lines and bank coverage of one registry model, per registry size."""
    from .encode import allele_nulls

    codes = np.ascontiguousarray(problem.table.codes[reg.rows])
    nulls = allele_nulls(codes, problem.table.alleles)
    results: dict[tuple[int, str], LevelSupply] = {}
    if exact_levels:
        lower, upper = _exact_haplotype(reg, nulls, codes, sizes, progress)
        for i, R in enumerate(sizes):
            lo, hi = float(reg.weights @ lower[i]), float(reg.weights @ upper[i])
            results[(R, "haplotype")] = LevelSupply("haplotype", lo, hi, 0.0, lo, lo, "exact")
    mc_levels = tuple(lv for lv in levels if lv not in exact_levels)
    p_total = np.float64(math.fsum(reg.p.tolist()))
    out = []
    for R in sizes:
        if mc_levels:
            draws = _monte_carlo(problem, reg, codes, nulls, R, mc_levels, samples, seed, progress)
            for lev, (lo_s, hi_s) in draws.items():
                results[(R, lev)] = _summary(lev, lo_s, hi_s, f"monte carlo ({samples} samples, seed {seed})")
        out.append(RegistrySupply(
            population=reg.label, registry_size=R, expected_distinct_lines=expected_distinct(reg.p, R),
            p_no_line=float(np.exp(R * _log1m(p_total))), levels=tuple(results[(R, lev)] for lev in levels),
        ))
    return out


# ====================================================================== the API


def _whole(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise OptionError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")
    return int(value)


def _sizes(registry_sizes) -> tuple[int, ...]:
    if isinstance(registry_sizes, (int, np.integer)) and not isinstance(registry_sizes, bool):
        registry_sizes = (registry_sizes,)
    out: list[int] = []
    for raw in registry_sizes:
        R = _check_size(raw)
        if R in out:
            raise OptionError(f"registry size {R} is given twice")
        out.append(R)
    return tuple(out)


def supply(
    table: HaplotypeTable | str | Path | None = None,
    candidates: Iterable[str | Line] | None = None,
    *,
    top: int = 20,
    registry_sizes: Sequence[int] | int = (),
    inbreeding: float = 0.0,
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    populations: Populations = None,
    level: str = "both",
    rules: MatchRules | None = None,
    samples: int = 200,
    seed: int = 0,
    method: str = "auto",
    threads: int | None = None,
    progress: Progress | None = None,
) -> SupplyReport:
    """Donor-supply figures: people to type per donor, and what registries of R people hold.

    Parameters
    ----------
    table : HaplotypeTable, bundled name or path, optional
        Default: the default bundled table.
    candidates : iterable of str or Line, optional
        Lines to report per-donor figures for (homozygous or heterozygous).  Default: the ``top``
        most frequent haplotypes as homozygous lines (:func:`hlamatch.lines.top_lines`): of each
        population; of the weighted frequency for a weighted mix.
    top : int
        How many default candidates (≥ 1).
    registry_sizes : int or sequence of int
        Registry sizes R (whole numbers ≥ 1, each once) for ``p_in_registry``, the expected
        distinct lines and the expected coverage.
    inbreeding : float
        Inbreeding coefficient F in [0, 1].
    loci, resolution : optional
        Loci and resolution of the computation (default: the candidates' loci, all table loci
        without candidates; the table's resolution).
    populations : str, sequence of str or mapping of str to float, optional
        Default: every population.  A mapping weights a mix (normalised to sum 1): the report then
        also holds population ``"weighted"`` rows (see the module docstring).
    level : {"haplotype", "genotype", "both"}
    rules : MatchRules, optional
        Match rules of the coverage expectation (default zero HvG mismatches).
    samples, seed : int
        Monte Carlo draws (≥ 1) and the seed of ``numpy.random.default_rng`` (≥ 0).
    method : {"auto", "exact", "monte-carlo"}
        ``auto``: exact at haplotype level under the default rule, Monte Carlo otherwise;
        ``exact``: an error where exact is not available; ``monte-carlo``: Monte Carlo everywhere
        (e.g. to check the exact figures).
    threads : int, optional
        Numba threads for this call (restored afterwards).  Monte Carlo evaluates one small bank
        per draw: on small tables one thread avoids the parallel start-up cost of every call.
    progress : callable, optional
        ``progress(label, fraction_done)`` during long computations.

    Returns
    -------
    SupplyReport

    Raises
    ------
    OptionError
        A bad argument (the message names it and the value).
    HlamatchError
        Bad table, candidates, loci, resolution, populations or rules.
    """
    from .data import resolve_table
    from .problem import resolve_populations

    top = _whole(top, "the number of top haplotypes", 1)
    sizes = _sizes(registry_sizes)
    F = _check_inbreeding(inbreeding)
    samples = _whole(samples, "samples", 1)
    seed = _whole(seed, "seed", 0)
    if level not in LEVEL_CHOICES:
        raise OptionError(f"unknown level {level!r} (choose from {', '.join(LEVEL_CHOICES)})")
    levels = LEVELS if level == "both" else (level,)
    if method not in METHODS:
        raise OptionError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    rules = rules if rules is not None else MatchRules()
    exact_levels = () if method == "monte-carlo" else tuple(lv for lv in levels if lv == "haplotype" and rules.is_default)
    if method == "exact" and len(exact_levels) < len(levels):
        raise OptionError(
            "the exact method covers the haplotype level under the default rule (zero HvG mismatches) only; "
            f"use method 'auto' or 'monte-carlo' for level {level!r} with rule '{rules.describe()}'"
        )

    tab = resolve_table(table)
    # Candidates: given, or each population's top haplotypes (the weighted top for a mix).
    if candidates is not None:
        cand_lines = as_lines(candidates)
        per_label = None
    else:
        names, weights = resolve_populations(tab, populations)
        if weights is not None:
            cand_lines = top_lines(tab, top, populations=dict(zip(names, weights)), loci=loci, resolution=resolution)
            per_label = None
        else:
            tops = {pop: [ln.text() for ln in top_lines(tab, top, populations=pop, loci=loci, resolution=resolution)]
                    for pop in names}
            texts = list(dict.fromkeys(t for ts in tops.values() for t in ts))
            cand_lines = as_lines(texts)
            per_label = {pop: [texts.index(t) for t in ts] for pop, ts in tops.items()}
    problem = prepare(tab, (), candidates=cand_lines, loci=loci, resolution=resolution, rules=rules,
                      populations=populations)

    regs = _registries(problem, F)
    all_cands = list(range(len(problem.candidates)))
    cand_rows: list[CandidateSupply] = []
    for reg in regs:
        which = all_cands if per_label is None or reg.label not in per_label else per_label[reg.label]
        cand_rows += _candidate_rows(problem, reg.pops, reg.weights, reg.label, which, sizes, F)

    registries: list[RegistrySupply] = []
    if sizes:
        from ._jit import num_threads

        with num_threads(threads):
            for reg in regs:
                registries += _registry_rows(problem, reg, sizes, levels, exact_levels, samples, seed, progress)

    from .cover import DEFINITIONS

    return SupplyReport(
        table=problem.source, loci=problem.loci, resolution=problem.resolution,
        rule=rules.describe(problem.loci), rules=rules.to_dict(), inbreeding=F, registry_sizes=sizes,
        levels=tuple(levels), method=method, samples=samples, seed=seed, weights=problem.weight_map,
        unlisted_mass={pa.population: pa.unlisted for pa in problem.populations},
        definitions={**SUPPLY_DEFINITIONS, **{lev: DEFINITIONS[lev] for lev in levels}},
        candidates=tuple(cand_rows), registries=tuple(registries),
    )
