"""Results of donor supply: per candidate, per level and per registry size."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from hlamatch.errors import OptionError
from hlamatch.results.definitions import WEIGHTED, Definition
from hlamatch.results.display import Report, distinct

if TYPE_CHECKING:
    import polars as pl

__all__ = ["SUPPLY_DEFINITIONS", "CandidateSupply", "LevelSupply", "RegistrySupply", "SupplyReport"]

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

    #: Short name of the figures' definitions (p_donor, people_per_donor, p_in_registry: their
    #: texts are in :data:`SUPPLY_DEFINITIONS`): the ``definition`` of :meth:`SupplyReport.to_dicts` rows.
    definition_name = "supply-donor-hwe"


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

    @property
    def definition(self) -> Definition:
        """The coverage definition the expectation is of: HWE coverage at :attr:`level`."""
        return Definition.of(self.level)

    @property
    def definition_name(self) -> str:
        """Short name of the figures' definition (``supply-expected-hwe-genotype``): the
        ``definition`` of :meth:`SupplyReport.to_dicts` rows."""
        return f"supply-expected-{self.definition.short_name}"


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


def _json_float(x: float | None) -> float | None:
    """A float for JSON: None for NaN and infinities."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True, repr=False)
class SupplyReport(Report):
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

    ``to_polars()`` gives the ``--format csv`` output of ``hlamatch supply`` and :meth:`to_dicts`
    its ``--format json`` output (``--rows registry`` when there are registry sizes, else
    ``--rows candidates``); :meth:`to_dict` holds both; notebooks show the report as a table.
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
        hits = [
            r
            for r in self.registries
            if r.registry_size == registry_size and (population is None or r.population == population)
        ]
        if len(hits) != 1:
            raise OptionError(f"no single result for registry_size={registry_size!r}, population={population!r}")
        return hits[0]

    def _context(self) -> dict[str, Any]:
        return {
            "loci": list(self.loci),
            "resolution": self.resolution,
            "rule": self.rule,
            "table": self.table,
            "inbreeding": self.inbreeding,
        }

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
        ctx = self._context()
        rows: list[dict[str, Any]] = []
        if part == "registry":
            for r in self.registries:
                for lv in r.levels:
                    row = {
                        "population": r.population,
                        "registry_size": r.registry_size,
                        "expected_distinct_lines": r.expected_distinct_lines,
                        "p_no_line": r.p_no_line,
                    }
                    row.update({k: (_json_float(v) if isinstance(v, float) else v) for k, v in asdict(lv).items()})
                    # which definition (``definitions`` of to_dict holds the texts): the expected HWE coverage
                    row["definition"] = lv.definition_name
                    rows.append({**row, **ctx})
        elif part == "candidates":
            for c in self.candidates:
                row = {
                    "population": c.population,
                    "line": c.line,
                    **({"name": c.name} if c.name is not None else {}),
                    "homozygous": c.homozygous,
                    "frequency": c.frequency,
                    "frequency_2": _json_float(c.frequency_2),
                    "p_donor": c.p_donor,
                    "people_per_donor": _json_float(c.people_per_donor),
                }
                row.update({f"p_in_registry_{R}": p for R, p in zip(self.registry_sizes, c.p_in_registry)})
                row["definition"] = c.definition_name
                rows.append({**row, **ctx})
        else:
            raise OptionError(f"unknown part {part!r} (choose from registry, candidates)")
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The whole report as one JSON-ready document: settings, definitions and both row lists."""
        return {
            "table": self.table,
            "loci": list(self.loci),
            "resolution": self.resolution,
            "rule": self.rule,
            "rules": self.rules,
            "inbreeding": self.inbreeding,
            "registry_sizes": list(self.registry_sizes),
            "levels": list(self.levels),
            "method": self.method,
            "samples": self.samples,
            "seed": self.seed,
            "weights": self.weights,
            "unlisted_mass": dict(self.unlisted_mass),
            "definitions": dict(self.definitions),
            "candidates": self.to_dicts("candidates"),
            "registry": self.to_dicts("registry"),
        }

    @property
    def default_part(self) -> str:
        """The rows ``hlamatch supply`` writes by default: ``registry`` when the report has registry
        sizes, else ``candidates``."""
        return "registry" if self.registry_sizes else "candidates"

    def to_polars(self, part: str | None = None) -> pl.DataFrame:
        """A flat polars DataFrame of :meth:`to_dicts` rows: the columns of ``hlamatch supply
        --rows PART --format csv`` (:mod:`hlamatch.results.flat`: shared columns first, ``loci``
        joined with ``~``).

        Parameters
        ----------
        part : {"registry", "candidates"}, optional
            Default: :attr:`default_part`, as the command.
        """
        import polars

        from hlamatch.results.flat import flat_rows

        rows = flat_rows(self.to_dicts(part or self.default_part))
        return polars.DataFrame(rows, infer_schema_length=None)

    def _table_rows(self) -> list[dict[str, Any]]:
        return self.to_dicts(self.default_part)

    def _summary(self) -> str:
        n, sizes = len(self.candidates), ", ".join(map(str, self.registry_sizes))
        return (
            f"{n} candidate{'s' if n != 1 else ''}, {self.table} {distinct(self.populations)}, "
            f"loci {'~'.join(self.loci)}, registry sizes {sizes or '-'}, levels {', '.join(self.levels)}"
        )
